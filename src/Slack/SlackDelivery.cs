using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;

namespace Pipeline.Slack;

/// <summary>
/// Start-up entry point for hosts: validates the options, reads the secret, and builds the sender that the digest
/// sink (<see cref="SlackDigestSink"/>) and the outbox resender (<see cref="OutboxResender"/>) post through; a host
/// builds those over it, and one sender serves both where a host needs both (one pacer per channel). Every
/// misconfiguration surfaces here as a <see cref="SlackConfigurationException"/> with a message that names what to
/// fix and never the secret. Randomness comes from the host, as time does: <c>random</c> is the backoff's jitter
/// source, a number in [0, 1) per call, safe to call from several channels at once (the process's shared
/// <see cref="Random"/> in production, a seeded one behind a lock in tests).
/// </summary>
public static class SlackDelivery
{
    public static async Task<SlackSender> CreateSenderAsync(
        SlackDeliveryOptions options,
        Func<double> random,
        HttpClient? http = null,
        SecretResolver? secrets = null,
        TimeProvider? time = null,
        Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var secret = await (secrets ?? new SecretResolver()).ResolveAsync(options.EffectiveSecret, cancellationToken).ConfigureAwait(false);
        return new SlackSender(http ?? CreateHttpClient(), secret, options, random, time, log);
    }

    /// <summary>
    /// No client-wide timeout (each attempt has its own) and no redirects: a webhook URL answering with a redirect is
    /// misconfigured, and following it would send the digest somewhere nobody chose.
    /// </summary>
    public static HttpClient CreateHttpClient() =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
}
