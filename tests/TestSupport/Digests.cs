using Pipeline.Aggregator.Bursts;

namespace Pipeline.TestSupport;

/// <summary>Digests and their parts made by hand, for tests of what reads them (figures, renderers), with every list empty.</summary>
public static class Digests
{
    /// <summary>A closed burst of <paramref name="events"/> events in <paramref name="account"/>, all at <paramref name="first"/>: the fields a digest must have, no counts by name.</summary>
    public static Digest Plain(string id, string account, DateTimeOffset first, DateTimeOffset closed, int events) => new()
    {
        DigestId = id,
        Account = account,
        AccountInfo = null,
        FirstEventTime = first,
        LastEventTime = first,
        EventCount = events,
        ErrorCount = 0,
        ReadOnlyCount = 0,
        EventNames = [],
        Principals = [],
        Regions = [],
        Sources = [],
        DetailTypes = [],
        ErrorCodes = [],
        SourceIps = [],
        Risky = [],
        RiskyCount = 0,
        Failures = [],
        Muted = [],
        Duplicates = 0,
        ClosedBy = BurstCloseReason.QuietGap,
        ClosedAt = closed,
    };

    /// <summary>One actor's share of a burst (<paramref name="actor"/> null: people's) of <paramref name="events"/> events at <paramref name="first"/>, no counts by name.</summary>
    public static DigestPart Part(string? actor, DateTimeOffset first, int events) => new()
    {
        ActorKey = actor,
        FirstEventTime = first,
        LastEventTime = first,
        EventCount = events,
        ErrorCount = 0,
        ReadOnlyCount = 0,
        EventNames = [],
        Principals = [],
        Regions = [],
        Sources = [],
        DetailTypes = [],
        ErrorCodes = [],
        SourceIps = [],
        Risky = [],
        RiskyCount = 0,
        Failures = [],
    };
}
