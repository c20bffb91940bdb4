using Pipeline.Aggregator.Notices;

namespace Pipeline.Aggregator.Delivery;

/// <summary>What became of one digest at one destination.</summary>
public enum DeliveryStatus
{
    /// <summary>The destination has it (Slack accepted it, the line was written).</summary>
    Delivered,
    /// <summary>Not delivered, but kept safely (an outbox) for a later resend: nothing is lost.</summary>
    Parked,
    /// <summary>Neither delivered nor kept: the host must retry or report it.</summary>
    Failed,
}

/// <summary>The outcome of <see cref="IDigestSink.DeliverAsync"/>; <see cref="Detail"/> says why when it is not <see cref="DeliveryStatus.Delivered"/>.</summary>
public sealed record DeliveryOutcome(DeliveryStatus Status, string? Detail = null)
{
    public static readonly DeliveryOutcome Delivered = new(DeliveryStatus.Delivered);
}

/// <summary>
/// Where notices go (closed digests, roll-ups, alerts): a terminal, a JSON stream, Slack, several at once. Every host
/// hands its notices to one of these and nothing else, so a destination is added without touching a host. A digest a
/// roll-up fully explains (<see cref="Notice.Posted"/> false) still reaches every sink: the JSON stream records it,
/// Slack skips it.
/// </summary>
public interface IDigestSink
{
    Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken);
}
