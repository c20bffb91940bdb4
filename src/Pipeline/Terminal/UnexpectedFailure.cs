using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Pipeline.Aggregator.Rendering;
using Pipeline.Kinesis;

namespace Pipeline.Cli.Terminal;

/// <summary>
/// The last resort of <see cref="Commands.Cli.Guard"/>: a failure no command handles itself becomes one line saying what
/// failed and what to check, never a stack trace (a user cannot act on one, and it may quote a secret). The message is
/// its first line, cleaned of control and invisible characters and with anything that looks like a secret redacted.
/// </summary>
internal static partial class UnexpectedFailure
{
    /// <summary>Set to 1 to get the whole exception (for a bug report) after the one line.</summary>
    public const string DebugVariable = "PIPELINE_DEBUG";

    private const int MaxMessageLength = 400;

    public static string Describe(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } aggregate) e = aggregate.InnerExceptions[0];
        var (what, next) = e switch
        {
            UnauthorizedAccessException => ("permission denied", "Check the permissions of the file or folder it names, then run again."),
            IOException => ("a file could not be read or written", "Check the path it names, its permissions and the free disk space, then run again."),
            JsonException => ("a file is not valid JSON", "Check the files given to the command (accounts, mute rules, checkpoints, outbox), then run again."),
            HttpRequestException or SocketException or AmazonClientException or AmazonServiceException or KinesisException =>
                ("a service did not answer as expected", "Check --endpoint and --region, your AWS credentials and the network, then run again."),
            TimeoutException or OperationCanceledException => ("an operation timed out", "Check that the service it names answers (--endpoint), then run again."),
            _ => ("unexpected failure", $"This is probably a bug: run again with {DebugVariable}=1 and report what it prints."),
        };
        return $"error: {what} ({e.GetType().Name}): {Message(e)}. {next}";
    }

    /// <summary>The exception's first line, and its innermost cause's when that says more, cleaned and redacted.</summary>
    internal static string Message(Exception e)
    {
        var text = FirstLine(e.Message);
        var root = e;
        while (root.InnerException is not null) root = root.InnerException;
        if (!ReferenceEquals(root, e) && FirstLine(root.Message) is { Length: > 0 } cause && !text.Contains(cause, StringComparison.Ordinal))
            text += " (" + cause + ")";
        text = Redact(TextDigestRenderer.Clean(text)).TrimEnd('.', ' ');
        return text.Length <= MaxMessageLength ? text : text[..MaxMessageLength] + "…";
    }

    /// <summary>Slack webhook paths and tokens, signed-URL parameters and AWS access key ids: what an error text may quote.</summary>
    internal static string Redact(string text)
    {
        text = WebhookUrl().Replace(text, "https://hooks.slack.com/[redacted]");
        text = SlackToken().Replace(text, "xox-[redacted]");
        text = SecretParameter().Replace(text, "$1=[redacted]");
        return AccessKeyId().Replace(text, "[redacted key id]");
    }

    private static string FirstLine(string s)
    {
        s = s.Trim();
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl].TrimEnd();
    }

    [GeneratedRegex(@"https?://hooks\.slack(-gov)?\.com/\S*", RegexOptions.IgnoreCase)]
    private static partial Regex WebhookUrl();

    [GeneratedRegex(@"xox[a-z]-[A-Za-z0-9-]+")]
    private static partial Regex SlackToken();

    [GeneratedRegex(@"(?i)\b(x-amz-signature|x-amz-security-token|x-amz-credential|signature|token|secret|password|sig)=[^&\s""']+")]
    private static partial Regex SecretParameter();

    [GeneratedRegex(@"\b(AKIA|ASIA)[A-Z0-9]{16}\b")]
    private static partial Regex AccessKeyId();
}
