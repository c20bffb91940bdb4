using Pipeline.Slack.Outbox;
using Polly;
using Polly.CircuitBreaker;

namespace Pipeline.Slack.Delivery;

/// <summary>
/// What one process has lately seen of Slack: a Polly pipeline that the digest posts (<see cref="SlackDigestSink"/>
/// given a circuit), the function's outbox drains and <c>pipeline outbox send</c>'s resends run through. The first call
/// that found Slack itself failing (5xx, timeouts, network errors, 429: <see cref="ISlackAvailability"/>; a digest
/// parked after its retries, a drain or resend that saw that) opens the circuit for <see cref="Cooldown"/>. A
/// permanent refusal naming one channel or message (<c>channel_not_found</c>, <c>not_in_channel</c>) does not open it:
/// Slack answered, and the next account's channel may well work. While open, calls are
/// rejected with <see cref="BrokenCircuitException"/> without reaching Slack, so digests are parked at once (no more
/// attempts eating the function's time limit or stalling a command-line run) and the function does not drain. The
/// first call that finds Slack answering (delivered, or refused for its own channel) closes it; once the cooldown is
/// over the next call tries Slack again, and a failure opens it for a new cooldown. A call rejected while open changes nothing: it did not try Slack.
/// </summary>
/// <remarks>
/// Not Polly's own circuit breaker: that one samples at least two calls before it opens (MinimumThroughput ≥ 2), so
/// the first digest of a process Slack refused would not open it, and its state reads Open past the break until a
/// call probes it, while the drain asks the state before it starts. The breaker here is a small Polly strategy
/// timed by the pipeline's <see cref="TimeProvider"/>; a zero cooldown never opens.
/// </remarks>
public sealed class SlackCircuit
{
    private readonly CooldownBreaker _breaker;

    public SlackCircuit(TimeProvider time, TimeSpan cooldown)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cooldown, TimeSpan.Zero);
        Cooldown = cooldown;
        CooldownBreaker? breaker = null;
        Pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddStrategy(context => breaker = new CooldownBreaker(context.TimeProvider, cooldown, SlackRefused))
            .Build(); // builds its strategies now: the breaker is set
        _breaker = breaker!;
    }

    public TimeSpan Cooldown { get; }

    /// <summary>Slack was failing less than <see cref="Cooldown"/> ago and nothing has worked since.</summary>
    public bool IsOpen => _breaker.IsOpen;

    /// <summary>
    /// Runs a call to Slack, or throws <see cref="BrokenCircuitException"/> without running it while open. A result
    /// saying Slack was unavailable opens the circuit, any other result closes it; a thrown exception leaves it as it was.
    /// </summary>
    public ResiliencePipeline Pipeline { get; }

    /// <summary>
    /// Slack itself is failing (<see cref="ISlackAvailability.SlackUnavailable"/>: 5xx, timeouts, network errors, 429),
    /// not merely refusing one message or one channel: a <c>channel_not_found</c> for one account's channel must not
    /// park every other account's digests untried.
    /// </summary>
    private static bool SlackRefused(object? result) => result is ISlackAvailability { SlackUnavailable: true };
}

/// <summary>A result that says whether Slack itself was failing (what opens a <see cref="SlackCircuit"/>).</summary>
public interface ISlackAvailability
{
    /// <summary>Slack itself failed (5xx, timeout, network, 429), as opposed to refusing one message or channel (other 4xx).</summary>
    bool SlackUnavailable { get; }
}

/// <summary>
/// A circuit breaker that opens on the first result <c>opensOn</c> picks and stays open for <c>cooldown</c> (on the
/// pipeline's clock), rejecting calls meanwhile; any other result closes it. Exceptions are passed on untouched.
/// </summary>
internal sealed class CooldownBreaker(TimeProvider time, TimeSpan cooldown, Func<object?, bool> opensOn) : ResilienceStrategy<object>
{
    private readonly Lock _gate = new();
    private DateTimeOffset _openUntil = DateTimeOffset.MinValue;

    public bool IsOpen => OpenFor() > TimeSpan.Zero;

    protected override async ValueTask<Outcome<object>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<object>>> callback, ResilienceContext context, TState state)
    {
        if (OpenFor() is var left && left > TimeSpan.Zero)
            return Outcome.FromException<object>(new BrokenCircuitException(left));

        var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
        if (outcome.Exception is null)
        {
            var opens = opensOn(outcome.Result);
            lock (_gate) _openUntil = opens ? time.GetUtcNow() + cooldown : DateTimeOffset.MinValue;
        }
        return outcome;
    }

    private TimeSpan OpenFor()
    {
        lock (_gate) return _openUntil - time.GetUtcNow();
    }
}
