using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Delivery;
using Pipeline.Lambda.Runtime;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Polly.CircuitBreaker;

namespace Pipeline.Lambda.Delivery;

/// <summary>
/// The function's destination: each digest goes to Slack as Block Kit through <see cref="SlackDigestSink"/>, which
/// parks it in the outbox (SQS) straight away while its <see cref="SlackCircuit"/> is open. "Delivered" and "parked" both
/// count as done, so the handler marks the digest posted in the ledger and the outbox drain sends it later. A digest
/// that could be neither delivered nor parked (the outbox failed) is <see cref="DeliveryStatus.Failed"/>, and the
/// handler retries the batch: nothing is lost.
/// </summary>
internal sealed class FunctionSlackSink(SlackDigestSink sink, LambdaLog log) : IDigestSink
{
    public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        if (!notice.Posted) return DeliveryOutcome.Delivered; // folded into a roll-up: no message of its own
        SlackDeliveryResult result;
        try
        {
            result = await sink.PostAsync(notice, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            // Slack did not take it and the outbox could not keep it: only a retry of the batch saves it.
            return new DeliveryOutcome(DeliveryStatus.Failed, $"neither delivered nor parked in the outbox: {e.GetType().Name}: {e.Message}");
        }

        switch (result.Status)
        {
            case SlackDeliveryStatus.Outboxed:
                log.Warn("notice NOT delivered to Slack; parked in the outbox, to be resent", w =>
                {
                    w.WriteString("kind", notice.Kind);
                    w.WriteString("noticeId", notice.NoticeId);
                    w.WriteNumber("attempts", result.Attempts);
                    w.WriteString("error", result.Error);
                    w.WriteString("outbox", result.OutboxLocation);
                });
                break;
            case SlackDeliveryStatus.DeliveredAsPlainText:
                log.Warn("Slack refused the blocks; the notice went out as plain text", w => w.WriteString("noticeId", notice.NoticeId));
                break;
        }
        return result.ToOutcome();
    }
}

/// <summary>
/// Resends a few parked digests before a batch, so that once Slack is back the outbox empties without a human.
/// Bounded: at most <c>OUTBOX_DRAIN_MAX</c> digests and <see cref="MaxDuration"/> per drain, at most one drain per
/// <c>OUTBOX_DRAIN_INTERVAL</c> per process, none while the <see cref="SlackCircuit"/> is open, and it stops at the
/// first digest Slack refuses again (the rest stay untouched in the queue); that refusal opens the circuit. A resent
/// digest is deleted from the queue only after Slack accepted it; one in flight is hidden from other shards'
/// functions by the queue's visibility timeout. A drain never fails the batch: its trouble is logged.
/// </summary>
public sealed class OutboxDrain(OutboxResender resender, SlackCircuit slack, LambdaLog log, TimeProvider time, TimeSpan? interval, int maxEntries)
{
    /// <summary>No new resend starts after this long, leaving the invocation its time for the batch.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(20);

    private DateTimeOffset _next = DateTimeOffset.MinValue;

    /// <summary>Resends what it may; returns how many digests went out (0 when it did not run).</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (interval is not { } every || slack.IsOpen || time.GetUtcNow() < _next) return 0;
        _next = time.GetUtcNow() + every;
        ResendSummary summary;
        try
        {
            summary = await slack.Pipeline.ExecuteAsync(
                async token => await resender.ResendAsync(new ResendLimits(maxEntries, MaxDuration, StopAtFirstFailure: true), token).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException)
        {
            return 0; // Slack refused something since the check above: no drain in the cooldown
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            log.Warn("outbox drain failed; parked digests wait for the next drain", w =>
            {
                w.WriteString("errorType", e.GetType().Name);
                w.WriteString("error", e.Message);
            });
            return 0;
        }
        if (summary.Sent > 0 || summary.Failed > 0 || summary.Unreadable > 0)
        {
            log.Info("outbox drained", w =>
            {
                w.WriteNumber("resent", summary.Sent);
                w.WriteNumber("stillFailing", summary.Failed);
                w.WriteNumber("unreadable", summary.Unreadable);
                w.WriteBoolean("more", summary.StoppedEarly);
            });
        }
        return summary.Sent;
    }
}
