using Pipeline.Aggregator.Notices;

namespace Pipeline.Aggregator.Delivery;

/// <summary>
/// One digest to several destinations, in the given order (say Slack, then the JSON on stdout). The outcome is the
/// worst of theirs: one failed destination fails the digest, so the host's retry or report covers every sink.
/// </summary>
public sealed class FanOutSink(IReadOnlyList<IDigestSink> sinks) : IDigestSink
{
    public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        var worst = DeliveryOutcome.Delivered;
        foreach (var sink in sinks)
        {
            var outcome = await sink.DeliverAsync(notice, cancellationToken).ConfigureAwait(false);
            if (outcome.Status > worst.Status) worst = outcome;
        }
        return worst;
    }
}

/// <summary>
/// Counts what became of the notices that pass through it, for a run's summary (notices not posted are not counted): how
/// many were delivered, parked or failed, and of those that were not failed (a failed one is handed on again when its
/// batch is retried, and counted then), how many were alerts, roll-ups and messages, as the file host's roll-up stage
/// counts what it makes. Wrapped around Slack it counts Slack's outcomes; around every destination (`run`, whose notices
/// are made by its windows and its sweeper), what the run printed.
/// </summary>
public sealed class CountingSink(IDigestSink inner) : IDigestSink
{
    private long _delivered, _parked, _failed, _alerts, _rollups;

    public long Delivered => Interlocked.Read(ref _delivered);
    public long Parked => Interlocked.Read(ref _parked);
    public long Failed => Interlocked.Read(ref _failed);
    public long Alerts => Interlocked.Read(ref _alerts);
    public long Rollups => Interlocked.Read(ref _rollups);
    /// <summary>Every notice posted, or kept to be: alerts, roll-ups, silence notices and the digests no roll-up wholly explains.</summary>
    public long Messages => Delivered + Parked;

    public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        var outcome = await inner.DeliverAsync(notice, cancellationToken).ConfigureAwait(false);
        if (!notice.Posted) return outcome;
        switch (outcome.Status)
        {
            case DeliveryStatus.Delivered: Interlocked.Increment(ref _delivered); break;
            case DeliveryStatus.Parked: Interlocked.Increment(ref _parked); break;
            default: Interlocked.Increment(ref _failed); return outcome;
        }
        if (notice is Alerts.Alert) Interlocked.Increment(ref _alerts);
        if (notice is Rollups.Rollup) Interlocked.Increment(ref _rollups);
        return outcome;
    }
}
