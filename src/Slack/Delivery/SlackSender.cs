using Polly;
using Polly.Retry;
using Pipeline.Slack.Secrets;

namespace Pipeline.Slack.Delivery;

/// <summary>A message ready to go: its channel, the Block Kit payload, and the plain-text payload to fall back to.</summary>
public sealed record OutgoingMessage(string DigestId, string Channel, ReadOnlyMemory<byte> Payload, ReadOnlyMemory<byte> PlainPayload);

/// <summary>What became of one message.</summary>
public sealed record SendResult(bool Delivered, bool AsPlainText, int Attempts, DateTimeOffset? SentAt, string? Error) : ISlackAvailability
{
    /// <summary>
    /// Not delivered because Slack itself is failing (5xx, a timeout, a network error, an answer that is not JSON,
    /// Slack's own <c>internal_error</c>…, or 429 rate limiting), not because it refused this message (a 4xx or an API
    /// error naming the channel or the message: <c>channel_not_found</c>, <c>not_in_channel</c>…). What opens a
    /// <see cref="SlackCircuit"/>.
    /// </summary>
    public bool SlackUnavailable { get; init; }

    /// <summary>
    /// The posted message's timestamp, its id within the channel (what a reply's <c>thread_ts</c> names), as
    /// <c>chat.postMessage</c> answered it. Null with a webhook (which answers a bare "ok") and when not delivered.
    /// </summary>
    public string? Ts { get; init; }

    /// <summary>The channel's id as Slack answered it (C…), whatever name the message was posted to. Null as <see cref="Ts"/>.</summary>
    public string? ChannelId { get; init; }
}

/// <summary>
/// Sends one message with Slack's manners: paced per channel, retried on 429 (after Retry-After), 5xx and
/// timeouts with exponential backoff and jitter, never retried on other 4xx, and re-sent as plain text when
/// Slack refuses the blocks. Log lines and errors pass through <see cref="SlackSecret.Redact"/>.
/// </summary>
public sealed class SlackSender
{
    private readonly SlackPoster _poster;
    private readonly SlackSecret _secret;
    private readonly SlackDeliveryOptions _options;
    private readonly ChannelPacer _pacer;
    private readonly TimeProvider _time;
    private readonly Func<double> _random;
    private readonly Action<string> _log;
    private readonly ResiliencePipeline<PostOutcome> _retry;

    /// <param name="random">The jitter source, from the host (see <see cref="SlackDelivery"/>).</param>
    public SlackSender(HttpClient http, SlackSecret secret, SlackDeliveryOptions options, Func<double> random, TimeProvider? time = null, Action<string>? log = null)
    {
        _options = options.Validate();
        if (options.Mode == SlackMode.Webhook) options.ValidateWebhook(secret); else SlackDeliveryOptions.ValidateToken(secret);
        _secret = secret;
        _poster = new SlackPoster(http, secret, options);
        _time = time ?? TimeProvider.System;
        ArgumentNullException.ThrowIfNull(random);
        _random = random;
        _log = log ?? (_ => { });
        _pacer = new ChannelPacer(options.MinIntervalPerChannel, _time);
        _retry = BuildRetry();
    }

    public SlackDeliveryOptions Options => _options;

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        int attempts = 0;
        var outcome = await Attempt(message.Payload).ConfigureAwait(false);
        if (outcome is PostOutcome.InvalidBlocks)
        {
            Log($"digest {message.DigestId} to {message.Channel}: Slack refused the blocks (invalid_blocks); sending the plain-text rendering");
            outcome = await Attempt(message.PlainPayload).ConfigureAwait(false);
            if (outcome is PostOutcome.Ok plain) return Sent(plain, asPlainText: true);
            if (outcome is PostOutcome.InvalidBlocks) outcome = new PostOutcome.Permanent("invalid_blocks even as plain text");
        }
        if (outcome is PostOutcome.Ok ok) return Sent(ok, asPlainText: false);

        string error = Redact(Describe(outcome));
        Log($"digest {message.DigestId} to {message.Channel}: not delivered after {attempts} attempt(s): {error}");
        return new SendResult(false, false, attempts, null, error) { SlackUnavailable = outcome is PostOutcome.Transient or PostOutcome.RateLimited };

        SendResult Sent(PostOutcome.Ok ok, bool asPlainText) =>
            new(true, asPlainText, attempts, _time.GetUtcNow(), null) { Ts = ok.Ts, ChannelId = ok.ChannelId };

        async Task<PostOutcome> Attempt(ReadOnlyMemory<byte> payload)
        {
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            try
            {
                return await _retry.ExecuteAsync(async ctx =>
                {
                    await _pacer.WaitTurnAsync(message.Channel, ctx.CancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref attempts);
                    var result = await _poster.PostAsync(payload, ctx.CancellationToken).ConfigureAwait(false);
                    // Within the cap, nothing goes to the channel before Slack's time (the retry waits it out). Beyond it the
                    // channel is not held at all: the retry gives up at once, the digest is parked, and the next digest
                    // tries Slack (or, with a SlackCircuit, is parked without trying while its cooldown runs). Holding it
                    // would stall every later digest for as long as Slack said, the very wait the cap refuses.
                    if (result is PostOutcome.RateLimited { RetryAfter: { } wait } && wait <= _options.MaxRetryAfter)
                        _pacer.HoldUntil(message.Channel, _time.GetUtcNow() + wait);
                    if (result is not PostOutcome.Ok)
                        Log($"digest {message.DigestId} to {message.Channel}: attempt {attempts}: {Describe(result)}");
                    return result;
                }, context).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
    }

    private ResiliencePipeline<PostOutcome> BuildRetry() => _options.MaxAttempts == 1
        ? ResiliencePipeline<PostOutcome>.Empty
        : new ResiliencePipelineBuilder<PostOutcome> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<PostOutcome>
            {
                MaxRetryAttempts = _options.MaxAttempts - 1,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result switch
                {
                    PostOutcome.Transient => true,
                    // A Retry-After longer than we are willing to wait: give up now, the outbox keeps the digest.
                    PostOutcome.RateLimited r => r.RetryAfter is not { } wait || wait <= _options.MaxRetryAfter,
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Delay(args.Outcome.Result, args.AttemptNumber)),
            })
            .Build();

    /// <summary>
    /// Retry-After plus up to a second of jitter (as Slack's own SDK does), so that several senders released at once
    /// do not collide again; otherwise exponential backoff with "equal jitter" (half fixed, half random).
    /// </summary>
    private TimeSpan Delay(PostOutcome? outcome, int attemptNumber)
    {
        if (outcome is PostOutcome.RateLimited { RetryAfter: { } wait })
            return wait + TimeSpan.FromMilliseconds(1_000 * _random());
        double exponential = _options.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attemptNumber, 16));
        double capped = Math.Min(exponential, _options.MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped / 2 + capped / 2 * _random());
    }

    private static string Describe(PostOutcome? outcome) => outcome switch
    {
        PostOutcome.RateLimited r => r.RetryAfter is { } w ? $"rate limited (Retry-After {w.TotalSeconds:0} s)" : "rate limited",
        PostOutcome.Transient t => t.Reason,
        PostOutcome.InvalidBlocks => "invalid_blocks",
        PostOutcome.Permanent p => p.Reason,
        PostOutcome.Ok => "ok",
        _ => "unknown",
    };

    private string Redact(string text) => _secret.Redact(text);

    private void Log(string line) => _log(Redact(line));
}
