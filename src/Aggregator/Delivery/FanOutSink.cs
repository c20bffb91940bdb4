using Pipeline.Aggregator.Bursts;

namespace Pipeline.Aggregator.Delivery;

/// <summary>
/// One digest to several destinations, in the given order (say Slack, then the JSON on stdout). The outcome is the
/// worst of theirs: one failed destination fails the digest, so the host's retry or report covers every sink.
/// </summary>
public sealed class FanOutSink(IReadOnlyList<IDigestSink> sinks) : IDigestSink
{
    public async Task<DeliveryOutcome> DeliverAsync(Digest digest, CancellationToken cancellationToken)
    {
        var worst = DeliveryOutcome.Delivered;
        foreach (var sink in sinks)
        {
            var outcome = await sink.DeliverAsync(digest, cancellationToken).ConfigureAwait(false);
            if (outcome.Status > worst.Status) worst = outcome;
        }
        return worst;
    }
}

/// <summary>Counts what became of the digests that pass through it, for a run's summary.</summary>
public sealed class CountingSink(IDigestSink inner) : IDigestSink
{
    private long _delivered, _parked, _failed;

    public long Delivered => Interlocked.Read(ref _delivered);
    public long Parked => Interlocked.Read(ref _parked);
    public long Failed => Interlocked.Read(ref _failed);

    public async Task<DeliveryOutcome> DeliverAsync(Digest digest, CancellationToken cancellationToken)
    {
        var outcome = await inner.DeliverAsync(digest, cancellationToken).ConfigureAwait(false);
        switch (outcome.Status)
        {
            case DeliveryStatus.Delivered: Interlocked.Increment(ref _delivered); break;
            case DeliveryStatus.Parked: Interlocked.Increment(ref _parked); break;
            default: Interlocked.Increment(ref _failed); break;
        }
        return outcome;
    }
}
