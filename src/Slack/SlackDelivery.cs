using Pipeline.Slack.Rendering;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;

namespace Pipeline.Slack;

/// <summary>
/// Start-up entry point for hosts: validates the options, reads the secret, and builds the sink and the outbox
/// resender. Every misconfiguration surfaces here as a <see cref="SlackConfigurationException"/> with a message
/// that names what to fix and never the secret. Randomness comes from the host, as time does: <c>random</c> is the
/// backoff's jitter source, a number in [0, 1) per call, safe to call from several channels at once (the
/// process's shared <see cref="Random"/> in production, a seeded one behind a lock in tests).
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

    public static async Task<SlackDigestSink> CreateSinkAsync(
        SlackDeliveryOptions options,
        IDigestOutbox outbox,
        Func<double> random,
        SlackRenderOptions? render = null,
        HttpClient? http = null,
        SecretResolver? secrets = null,
        TimeProvider? time = null,
        Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        var sender = await CreateSenderAsync(options, random, http, secrets, time, log, cancellationToken).ConfigureAwait(false);
        return new SlackDigestSink(sender, outbox, render, time, log);
    }

    public static async Task<OutboxResender> CreateResenderAsync(
        SlackDeliveryOptions options,
        IDigestOutbox outbox,
        Func<double> random,
        HttpClient? http = null,
        SecretResolver? secrets = null,
        TimeProvider? time = null,
        Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        var sender = await CreateSenderAsync(options, random, http, secrets, time, log, cancellationToken).ConfigureAwait(false);
        return new OutboxResender(sender, outbox, log);
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
