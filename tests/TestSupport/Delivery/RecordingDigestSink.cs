using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Notices;

namespace Pipeline.TestSupport.Delivery;

/// <summary>Keeps every notice it is given (tests, benchmarks); <see cref="FailWhen"/> makes chosen deliveries fail.</summary>
public sealed class RecordingDigestSink : IDigestSink
{
    private readonly List<Digest> _posted = [];
    private readonly List<Notice> _notices = [];
    private readonly object _gate = new();

    /// <summary>Deliveries of digests matching this fail (a delivery outage), until it is set back to null.</summary>
    public Func<Digest, bool>? FailWhen { get; set; }

    /// <summary>The digests delivered (folded ones included: a sink is handed every digest).</summary>
    public IReadOnlyList<Digest> Posted
    {
        get
        {
            lock (_gate) return [.. _posted];
        }
    }

    /// <summary>Every notice delivered, in order: digests, roll-ups, alerts.</summary>
    public IReadOnlyList<Notice> Notices
    {
        get
        {
            lock (_gate) return [.. _notices];
        }
    }

    public Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (notice is Digest digest)
            {
                if (FailWhen?.Invoke(digest) == true)
                    return Task.FromResult(new DeliveryOutcome(DeliveryStatus.Failed, "delivery down (test switch)"));
                _posted.Add(digest);
            }
            _notices.Add(notice);
        }
        return Task.FromResult(DeliveryOutcome.Delivered);
    }
}
