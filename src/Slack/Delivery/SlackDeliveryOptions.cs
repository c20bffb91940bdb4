using Pipeline.Slack.Secrets;

namespace Pipeline.Slack.Delivery;

public enum SlackMode
{
    /// <summary>An incoming webhook: one URL, one channel (the webhook's). The default.</summary>
    Webhook,
    /// <summary>A bot token with <c>chat.postMessage</c>: any channel the bot is in, so per-account routing works.</summary>
    BotToken,
}

/// <summary>How digests reach Slack. Validated once at start-up (<see cref="Validate"/>).</summary>
public sealed record SlackDeliveryOptions
{
    public const string DefaultWebhookVariable = "PIPELINE_SLACK_WEBHOOK_URL";
    public const string DefaultTokenVariable = "PIPELINE_SLACK_BOT_TOKEN";

    public SlackMode Mode { get; init; } = SlackMode.Webhook;

    /// <summary>
    /// Where the webhook URL (webhook mode) or bot token (bot-token mode) is: env:NAME, file:PATH or ssm:NAME.
    /// Default: env:PIPELINE_SLACK_WEBHOOK_URL or env:PIPELINE_SLACK_BOT_TOKEN by mode.
    /// </summary>
    public SecretReference? Secret { get; init; }

    /// <summary>
    /// Bot-token mode: the channel for accounts whose directory entry names none (required). Webhook mode: only a
    /// label for logs and the outbox (the webhook decides the channel).
    /// </summary>
    public string? DefaultChannel { get; init; }

    /// <summary>
    /// Bot-token mode only: a channel that also receives every digest with risky events, whichever account's channel
    /// it goes to (null: none). A webhook posts to its own channel only, so setting it there is refused.
    /// </summary>
    public string? AlertChannel { get; init; }

    /// <summary>Web API base (bot-token mode). Default https://slack.com/api/.</summary>
    public Uri ApiBaseUrl { get; init; } = new("https://slack.com/api/");

    /// <summary>Attempts per message, first included. Default 5; 1–10.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>How long one HTTP attempt may take before it counts as a timeout and is retried. Default 10 s; 100 ms–2 min.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First backoff delay after a 5xx or timeout; doubles per attempt, with jitter. Default 1 s; 0–1 min.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest backoff delay. Default 30 s; at least <see cref="BaseDelay"/>, at most 10 min.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest <c>Retry-After</c> honoured; a longer one sends the digest to the outbox instead of stalling the run.
    /// Default 2 min; 1 s–1 h.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// After Slack refused a digest (parked after its retries), how long the next ones are parked without trying Slack
    /// (<see cref="SlackCircuit"/>), so that a Slack that keeps failing is not hammered and a run does not stall on it.
    /// Default 1 min; 0 (never) to 1 day.
    /// </summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Least time between two messages to one channel (Slack allows about one per second). Default 1 s; 0–1 min.</summary>
    public TimeSpan MinIntervalPerChannel { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Allow plain http:// to 127.0.0.1 (the tests' loopback Slack). Never for production.</summary>
    public bool AllowLoopbackHttp { get; init; }

    public SecretReference EffectiveSecret => Secret ?? new SecretReference(SecretSourceKind.Environment,
        Mode == SlackMode.Webhook ? DefaultWebhookVariable : DefaultTokenVariable);

    public SlackDeliveryOptions Validate()
    {
        if (Mode == SlackMode.BotToken && string.IsNullOrWhiteSpace(DefaultChannel))
            throw new SlackConfigurationException("Slack DefaultChannel is required with a bot token: it receives the digests of accounts whose directory entry names no channel.");
        if (AlertChannel is not null && Mode != SlackMode.BotToken)
            throw new SlackConfigurationException("Slack AlertChannel needs a bot token: an incoming webhook posts only to its own channel, so it cannot also post risky digests elsewhere.");
        if (AlertChannel is not null && string.IsNullOrWhiteSpace(AlertChannel))
            throw new SlackConfigurationException("Slack AlertChannel is blank: name the channel for risky digests, or leave it unset.");
        Range(nameof(MaxAttempts), MaxAttempts, 1, 10);
        Range(nameof(AttemptTimeout), AttemptTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(2));
        Range(nameof(BaseDelay), BaseDelay, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Range(nameof(MaxDelay), MaxDelay, BaseDelay, TimeSpan.FromMinutes(10));
        Range(nameof(MaxRetryAfter), MaxRetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Range(nameof(MinIntervalPerChannel), MinIntervalPerChannel, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        Range(nameof(Cooldown), Cooldown, TimeSpan.Zero, TimeSpan.FromDays(1));
        if (Mode == SlackMode.BotToken) CheckUrl(ApiBaseUrl, nameof(ApiBaseUrl), AllowLoopbackHttp);
        return this;
    }

    /// <summary>The webhook URL must be https (or loopback http in tests). The message never shows the URL: it is the secret.</summary>
    internal void ValidateWebhook(SlackSecret webhook)
    {
        if (!Uri.TryCreate(webhook.Reveal(), UriKind.Absolute, out var uri))
            throw new SlackConfigurationException($"The Slack webhook URL from {webhook.Source} is not an absolute URL.");
        CheckUrl(uri, "webhook URL from " + webhook.Source, AllowLoopbackHttp);
    }

    internal static void ValidateToken(SlackSecret token)
    {
        var value = token.Reveal();
        if (value.Any(char.IsWhiteSpace) || value.Length < 10)
            throw new SlackConfigurationException($"The Slack bot token from {token.Source} does not look like a token (xoxb-…).");
    }

    private static void CheckUrl(Uri uri, string what, bool allowLoopbackHttp)
    {
        bool https = uri.Scheme == Uri.UriSchemeHttps;
        bool loopback = allowLoopbackHttp && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;
        if (!https && !loopback)
            throw new SlackConfigurationException($"Slack {what} must use https.");
    }

    private static void Range<T>(string name, T value, T min, T max) where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
            throw new SlackConfigurationException($"Slack option {name} must be between {min} and {max}; it is {value}.");
    }
}
