namespace Pipeline.Slack.Secrets;

public enum SecretSourceKind
{
    /// <summary>An environment variable.</summary>
    Environment,
    /// <summary>A file (trailing whitespace and newlines trimmed), e.g. a mounted Kubernetes or Docker secret.</summary>
    File,
    /// <summary>An SSM Parameter Store parameter (SecureString, read with decryption).</summary>
    Ssm,
}

/// <summary>
/// Where a secret lives, never the secret itself: <c>env:NAME</c>, <c>file:/path</c> or <c>ssm:/parameter/name</c>.
/// Safe to log and to put in error messages.
/// </summary>
public sealed record SecretReference(SecretSourceKind Kind, string Name)
{
    public static SecretReference Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int colon = spec.IndexOf(':', StringComparison.Ordinal);
        string prefix = colon > 0 ? spec[..colon] : "";
        string name = colon > 0 ? spec[(colon + 1)..].Trim() : "";
        var kind = prefix switch
        {
            "env" => SecretSourceKind.Environment,
            "file" => SecretSourceKind.File,
            "ssm" => SecretSourceKind.Ssm,
            _ => throw new FormatException(
                "A Slack secret reference is env:NAME, file:PATH or ssm:PARAMETER (for example env:PIPELINE_SLACK_WEBHOOK_URL). " +
                "The secret itself is never given on the command line."),
        };
        if (name.Length == 0) throw new FormatException($"The secret reference '{prefix}:' names no {prefix switch { "env" => "variable", "file" => "file", _ => "parameter" }}.");
        return new SecretReference(kind, name);
    }

    public override string ToString() => Kind switch
    {
        SecretSourceKind.Environment => "env:" + Name,
        SecretSourceKind.File => "file:" + Name,
        _ => "ssm:" + Name,
    };
}

/// <summary>
/// A secret value (webhook URL or bot token). Its <see cref="ToString"/> never shows it, so it cannot end up in a
/// log line or an exception message by accident; only the HTTP layer calls <see cref="Reveal"/>.
/// </summary>
public sealed class SlackSecret
{
    private readonly string _value;

    public SlackSecret(string value, SecretReference source)
    {
        _value = value;
        Source = source;
    }

    public SecretReference Source { get; }

    public string Reveal() => _value;

    /// <summary>Removes the secret (and, for a URL, its path, which is the secret part of a webhook) from a text.</summary>
    public string Redact(string text)
    {
        if (string.IsNullOrEmpty(text)) return text;
        var redacted = text.Replace(_value, "[redacted]", StringComparison.Ordinal);
        if (Uri.TryCreate(_value, UriKind.Absolute, out var uri) && uri.AbsolutePath.Length > 1)
            redacted = redacted.Replace(uri.AbsolutePath, "/[redacted]", StringComparison.Ordinal);
        return redacted;
    }

    public override string ToString() => $"[secret from {Source}]";
}
