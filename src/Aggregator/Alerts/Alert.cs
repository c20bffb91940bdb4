using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Alerts;

/// <summary>
/// A risky event at or above the alert severity (<see cref="BurstWindowOptions.AlertSeverity"/>), posted as soon as it
/// arrives instead of when its burst closes. Its burst's digest later lists it (and, with a bot token, is posted in the
/// alert's thread).
/// </summary>
public sealed record Alert : Notice
{
    /// <summary>Deterministic (account + the event's id): a redelivered event or a retried batch makes the same id, and the ledger posts it once.</summary>
    public required string AlertId { get; init; }
    public required string Account { get; init; }
    public required AccountInfo? AccountInfo { get; init; }
    public required RiskyEvent Event { get; init; }
    /// <summary>The id of the digest the event's burst will close into (the same burst always gets the same id).</summary>
    public required string DigestId { get; init; }
    /// <summary>The processing time at which the event came in: when a live host posts the alert.</summary>
    public required DateTimeOffset RaisedAt { get; init; }

    public string? AccountName => AccountInfo?.Name;

    public override string NoticeId => AlertId;
    public override string Kind => "alert";

    internal static string AlertIdFor(string account, string eventId) => NoticeIds.Of("alert", account, eventId);
}
