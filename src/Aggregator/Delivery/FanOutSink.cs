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
/// Counts the notices that pass through it by kind, as the file host's roll-up stage counts what it makes: alerts,
/// roll-ups, and messages (every notice posted: alerts, roll-ups, silence notices and the digests a roll-up did not
/// wholly explain). For a host whose notices are made in several places (`run`'s windows and its sweeper).
/// </summary>
public sealed class NoticeTally(IDigestSink inner) : IDigestSink
{
    private long _alerts, _rollups, _messages;

    public long Alerts => Interlocked.Read(ref _alerts);
    public long Rollups => Interlocked.Read(ref _rollups);
    public long Messages => Interlocked.Read(ref _messages);

    public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        var outcome = await inner.DeliverAsync(notice, cancellationToken).ConfigureAwait(false);
        // A notice that failed is handed on again when its batch is retried: it is counted then.
        if (outcome.Status == DeliveryStatus.Failed) return outcome;
        if (notice is Alerts.Alert) Interlocked.Increment(ref _alerts);
        if (notice is Rollups.Rollup) Interlocked.Increment(ref _rollups);
        if (notice.Posted) Interlocked.Increment(ref _messages);
        return outcome;
    }
}

/// <summary>Counts what became of the notices that pass through it, for a run's summary (notices not posted are not counted).</summary>
public sealed class CountingSink(IDigestSink inner) : IDigestSink
{
    private long _delivered, _parked, _failed;

    public long Delivered => Interlocked.Read(ref _delivered);
    public long Parked => Interlocked.Read(ref _parked);
    public long Failed => Interlocked.Read(ref _failed);

    public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        var outcome = await inner.DeliverAsync(notice, cancellationToken).ConfigureAwait(false);
        if (!notice.Posted) return outcome;
        switch (outcome.Status)
        {
            case DeliveryStatus.Delivered: Interlocked.Increment(ref _delivered); break;
            case DeliveryStatus.Parked: Interlocked.Increment(ref _parked); break;
            default: Interlocked.Increment(ref _failed); break;
        }
        return outcome;
    }
}
