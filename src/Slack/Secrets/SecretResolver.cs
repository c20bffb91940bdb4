using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;

namespace Pipeline.Slack.Secrets;

/// <summary>Reads an SSM parameter with decryption. A one-method seam so tests and the Lambda can supply their own client.</summary>
public interface ISsmParameterReader
{
    Task<string> GetDecryptedAsync(string name, CancellationToken cancellationToken);
}

internal sealed class SsmParameterReader(IAmazonSimpleSystemsManagement client) : ISsmParameterReader
{
    public async Task<string> GetDecryptedAsync(string name, CancellationToken cancellationToken)
    {
        var response = await client.GetParameterAsync(new GetParameterRequest { Name = name, WithDecryption = true }, cancellationToken).ConfigureAwait(false);
        return response.Parameter?.Value ?? throw new InvalidOperationException($"SSM parameter {name} has no value.");
    }
}

/// <summary>
/// Resolves a <see cref="SecretReference"/> to its value. Error messages name the reference (env:X, file:Y,
/// ssm:Z) and never the value.
/// </summary>
public sealed class SecretResolver
{
    private readonly Func<string, string?> _environment;
    private readonly Func<ISsmParameterReader> _ssm;

    /// <param name="environment">Environment lookup (default: the process environment).</param>
    /// <param name="ssm">SSM reader factory, called only for ssm: references (default: an SDK client from the ambient AWS configuration).</param>
    public SecretResolver(Func<string, string?>? environment = null, Func<ISsmParameterReader>? ssm = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
        _ssm = ssm ?? (() => new SsmParameterReader(new AmazonSimpleSystemsManagementClient()));
    }

    public async Task<SlackSecret> ResolveAsync(SecretReference reference, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        string? value;
        switch (reference.Kind)
        {
            case SecretSourceKind.Environment:
                value = _environment(reference.Name);
                if (string.IsNullOrWhiteSpace(value)) throw new SlackConfigurationException($"The Slack secret {reference} is not set (environment variable {reference.Name} is empty or missing).");
                break;
            case SecretSourceKind.File:
                try
                {
                    value = await File.ReadAllTextAsync(reference.Name, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new SlackConfigurationException($"The Slack secret {reference} could not be read: {e.GetType().Name}.", e is FileNotFoundException or DirectoryNotFoundException ? null : e);
                }
                if (string.IsNullOrWhiteSpace(value)) throw new SlackConfigurationException($"The Slack secret {reference} is an empty file.");
                break;
            default:
                try
                {
                    value = await _ssm().GetDecryptedAsync(reference.Name, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException and not SlackConfigurationException)
                {
                    // The SDK's message names the parameter and the AWS error, never the value (which it did not get).
                    throw new SlackConfigurationException($"The Slack secret {reference} could not be read from SSM Parameter Store: {e.GetType().Name}: {e.Message}");
                }
                if (string.IsNullOrWhiteSpace(value)) throw new SlackConfigurationException($"The Slack secret {reference} is empty.");
                break;
        }
        return new SlackSecret(value.Trim(), reference);
    }
}

/// <summary>Slack delivery is misconfigured: raised at start-up, with a message that says what to fix (and no secret).</summary>
public sealed class SlackConfigurationException : Exception
{
    public SlackConfigurationException(string message) : base(message) { }

    public SlackConfigurationException(string message, Exception? inner) : base(message, inner) { }

    public SlackConfigurationException() { }
}
