using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;

namespace Pipeline.TestSupport.Delivery;

/// <summary>Keeps every digest it is given (tests, benchmarks); <see cref="FailWhen"/> makes chosen deliveries fail.</summary>
public sealed class RecordingDigestSink : IDigestSink
{
    private readonly List<Digest> _posted = [];
    private readonly object _gate = new();

    /// <summary>Deliveries of digests matching this fail (a delivery outage), until it is set back to null.</summary>
    public Func<Digest, bool>? FailWhen { get; set; }

    public IReadOnlyList<Digest> Posted
    {
        get
        {
            lock (_gate) return [.. _posted];
        }
    }

    public Task<DeliveryOutcome> DeliverAsync(Digest digest, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (FailWhen?.Invoke(digest) == true)
                return Task.FromResult(new DeliveryOutcome(DeliveryStatus.Failed, "delivery down (test switch)"));
            _posted.Add(digest);
        }
        return Task.FromResult(DeliveryOutcome.Delivered);
    }
}
