using Pipeline.Aggregator.Notices;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>Why a burst was closed and turned into a digest.</summary>
public enum BurstCloseReason
{
    /// <summary>No event for the account for the quiet gap.</summary>
    QuietGap,
    /// <summary>The burst had lasted the maximum window.</summary>
    MaxWindow,
    /// <summary>The input ended (file replay) or the host shut down.</summary>
    EndOfInput,
    /// <summary>The host's processing window ended (Lambda tumbling window) or its state would have grown too large.</summary>
    WindowEnd,
}

/// <summary>
/// One closed burst of one account: what the Slack message and the JSON line are made from.
/// Counts are complete; lists that could grow without bound (risky events) are capped and say how many were left out.
/// </summary>
public sealed record Digest : Notice
{
    /// <summary>Deterministic id (account + first event): the same burst always gets the same id, so a ledger can refuse to post it twice.</summary>
    public required string DigestId { get; init; }
    public required string Account { get; init; }
    public required AccountInfo? AccountInfo { get; init; }
    public required DateTimeOffset FirstEventTime { get; init; }
    public required DateTimeOffset LastEventTime { get; init; }
    public required int EventCount { get; init; }
    public required int ErrorCount { get; init; }
    public required int ReadOnlyCount { get; init; }
    /// <summary>Counts by action (CloudTrail eventName, else detail-type), highest first.</summary>
    public required IReadOnlyList<KeyValuePair<string, int>> EventNames { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> Principals { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> Regions { get; init; }
    /// <summary>Counts by source (CloudTrail eventSource, else the envelope source).</summary>
    public required IReadOnlyList<KeyValuePair<string, int>> Sources { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> DetailTypes { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> ErrorCodes { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> SourceIps { get; init; }
    /// <summary>Risky events, most severe first, at most <see cref="BurstWindowOptions.MaxRiskyPerDigest"/>.</summary>
    public required IReadOnlyList<RiskyEvent> Risky { get; init; }
    /// <summary>Risky events in the burst in all (may exceed <see cref="Risky"/>.Count).</summary>
    public required int RiskyCount { get; init; }
    /// <summary>Failed calls with their messages, at most a few, for the "what failed" section.</summary>
    public required IReadOnlyList<FailedCall> Failures { get; init; }
    /// <summary>Events of this account that mute rules silenced while the burst was open, by rule name.</summary>
    public required IReadOnlyList<KeyValuePair<string, int>> Muted { get; init; }
    /// <summary>Redeliveries of this account's events dropped while the burst was open.</summary>
    public required int Duplicates { get; init; }
    public required BurstCloseReason ClosedBy { get; init; }

    /// <summary>Events dated more than the lateness ahead of their arrival: windowed at their arrival time, shown with their stated time.</summary>
    public int SkewedCount { get; init; }
    /// <summary>The latest time a skewed event claimed (null when none was skewed).</summary>
    public DateTimeOffset? SkewedLatestTime { get; init; }
    /// <summary>Events that arrived more than the lateness after they happened.</summary>
    public int LateCount { get; init; }
    /// <summary>The longest delay between a late event's own time and its arrival.</summary>
    public TimeSpan LateMaxDelay { get; init; }

    /// <summary>
    /// Stream time at which the burst closed: when its gap or max window ran out, or, for a flush, when it
    /// would have. A live host posts the digest then; `tune` measures delays from it.
    /// </summary>
    public DateTimeOffset ClosedAt { get; init; }

    public string? AccountName => AccountInfo?.Name;

    /// <summary>
    /// The burst's shares by actor, when automation took part: one part per automated actor (<see cref="DigestPart.ActorKey"/>
    /// set: <c>role/NAME</c>, <c>service/NAME</c>, <c>finding/TYPE</c>) and one for everything else (people's calls;
    /// <see cref="DigestPart.ActorKey"/> null). Empty when the burst had no automated actor. The digest's counts are its parts' combined.
    /// </summary>
    public IReadOnlyList<DigestPart> Parts { get; init; } = [];

    /// <summary>Ids of the immediate alerts raised from this burst's events (posted when they arrived).</summary>
    public IReadOnlyList<string> AlertIds { get; init; } = [];

    /// <summary>The roll-up that explains part or all of this burst (null when none does).</summary>
    public string? RollupId { get; init; }

    /// <summary>
    /// When a digest held for a roll-up decision was released (null when it was not held): a live host posts it then,
    /// not at <see cref="ClosedAt"/>.
    /// </summary>
    public DateTimeOffset? HeldUntil { get; init; }

    /// <summary>Events of this burst the roll-up explains; when it is all of them the digest is not posted on its own.</summary>
    public int FoldedEventCount { get; init; }

    public override string NoticeId => DigestId;
    public override string Kind => "digest";
    public override bool Posted => FoldedEventCount < EventCount;
}

/// <summary>
/// One actor's share of a burst (<see cref="Digest.Parts"/>): the counts of the events an automated actor made, or of
/// everything else (people's calls: <see cref="ActorKey"/> null). Only counts: the account, the close and the other
/// fields of the whole burst are its digest's. A roll-up takes a part, not a digest (<see cref="RollupId"/>).
/// </summary>
/// <remarks>
/// A type of its own, not a <see cref="Digest"/>: a digest of the benchmark has about 13 parts, and each was a whole
/// digest (296 bytes) with copies of the burst's own fields, made when the burst closed and again when a roll-up marked
/// it. A replay allocated 74 bytes per event less once parts had a type of their own (docs/performance.md, "Speed,
/// fourteenth session"). The carry codec still writes a part as it wrote it then: a digest with the burst's fields.
/// </remarks>
public sealed record DigestPart
{
    /// <summary>The automated actor whose share it is (<c>role/NAME</c>, <c>service/NAME</c>, <c>finding/TYPE</c>); null for people's calls.</summary>
    public string? ActorKey { get; init; }
    public required DateTimeOffset FirstEventTime { get; init; }
    public required DateTimeOffset LastEventTime { get; init; }
    public required int EventCount { get; init; }
    public required int ErrorCount { get; init; }
    public required int ReadOnlyCount { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> EventNames { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> Principals { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> Regions { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> Sources { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> DetailTypes { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> ErrorCodes { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> SourceIps { get; init; }
    public required IReadOnlyList<RiskyEvent> Risky { get; init; }
    public required int RiskyCount { get; init; }
    public required IReadOnlyList<FailedCall> Failures { get; init; }

    /// <summary>The roll-up that took this share (null when none did).</summary>
    public string? RollupId { get; init; }
}

/// <summary>One risky event of a digest: what happened, who did it, and why the catalog flags it.</summary>
public sealed record RiskyEvent(
    string EventName,
    string? Principal,
    DateTimeOffset EventTime,
    string Reason,
    RiskSeverity Severity,
    string? Target,
    string? SourceIp,
    string? ErrorCode,
    string Region);

public enum RiskSeverity
{
    Medium = 1,
    High = 2,
    Critical = 3,
}

/// <summary>A call that failed: shown so readers see denied attempts, not just successes.</summary>
public sealed record FailedCall(string EventName, string? Principal, string ErrorCode, string? ErrorMessage, int Count);
