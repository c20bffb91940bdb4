using Pipeline.Aggregator.Risk;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Counters of a set of events (never the events themselves): what a digest is made of. A burst keeps one set for
/// people and other events with no automated actor (itself), and one per automated actor (<see cref="BurstBuilder.Lanes"/>),
/// so a roll-up can take an actor's share of a burst and leave the rest, a person's own calls, in the account's digest.
/// </summary>
/// <remarks>
/// A burst opens a lane for every automated actor it sees, and most lanes count a few events of one role: so the
/// counts by name are one small <see cref="CountTable"/>, not seven dictionaries, and the lists of risky events and
/// failures are made when their first entry comes (a lane of one event rarely has either).
/// </remarks>
public class ChangeCounts
{
    private readonly CountTable _counts = new();
    private List<RiskyEvent>? _risky;
    private Dictionary<(string EventName, string ErrorCode, string? Principal), FailedCall>? _failures;

    public DateTimeOffset FirstEventTime { get; set; } = DateTimeOffset.MaxValue;
    public DateTimeOffset LastEventTime { get; set; } = DateTimeOffset.MinValue;
    public int EventCount { get; set; }
    public int ErrorCount { get; set; }
    public int ReadOnlyCount { get; set; }
    public int RiskyCount { get; set; }

    public NameCounts EventNames => new(_counts, Counter.EventNames);
    public NameCounts Principals => new(_counts, Counter.Principals);
    public NameCounts Regions => new(_counts, Counter.Regions);
    public NameCounts Sources => new(_counts, Counter.Sources);
    public NameCounts DetailTypes => new(_counts, Counter.DetailTypes);
    public NameCounts ErrorCodes => new(_counts, Counter.ErrorCodes);
    public NameCounts SourceIps => new(_counts, Counter.SourceIps);
    public List<RiskyEvent> Risky => _risky ??= [];
    public Dictionary<(string EventName, string ErrorCode, string? Principal), FailedCall> Failures => _failures ??= [];

    /// <summary>The counts by name of every counter, in one table (what the views above read, and the codec writes).</summary>
    internal CountTable Counts => _counts;

    /// <summary>Counts one event shown at <paramref name="shown"/>; returns it as a risky event when the catalog flags it.</summary>
    internal RiskyEvent? Count(OrgEvent evt, DateTimeOffset shown, RiskCatalog catalog, BurstWindowOptions options)
    {
        if (shown < FirstEventTime) FirstEventTime = shown;
        if (shown > LastEventTime) LastEventTime = shown;
        EventCount++;

        var ct = evt.CloudTrail;
        var principal = evt.Principal;
        _counts.Add(Counter.EventNames, evt.ActionName);
        _counts.Add(Counter.Regions, evt.Region);
        _counts.Add(Counter.DetailTypes, evt.DetailType);
        _counts.Add(Counter.Sources, ct?.EventSource ?? evt.Source);
        // The risky event and the failure below keep the table's string of the principal, one shared by every burst.
        if (principal is not null) principal = _counts.Add(Counter.Principals, principal);
        if (ct?.SourceIpAddress is { } ip) _counts.Add(Counter.SourceIps, ip);
        if (ct?.ReadOnly == true) ReadOnlyCount++;

        if (ct?.ErrorCode is { } code)
        {
            ErrorCount++;
            _counts.Add(Counter.ErrorCodes, code);
            var failures = Failures;
            var key = (ct.EventName, code, principal);
            if (failures.TryGetValue(key, out var failure))
                failures[key] = failure with { Count = failure.Count + 1 };
            else if (failures.Count < options.MaxFailuresPerDigest)
                failures[key] = new FailedCall(ct.EventName, principal, code, ct.ErrorMessage, 1);
        }

        if (catalog.Assess(evt) is not { } rule) return null;
        RiskyCount++;
        var risky = new RiskyEvent(evt.ActionName, principal, evt.Time,
            evt.Finding is { } f ? $"{rule.Reason}: {f.Title}" : rule.Reason,
            rule.Severity, ct?.Target, ct?.SourceIpAddress, ct?.ErrorCode, evt.Region);
        KeepRisky(risky, options.MaxRiskyPerDigest);
        return risky;
    }

    /// <summary>Keeps the most severe risky events, earliest first among equals, within the cap.</summary>
    private void KeepRisky(RiskyEvent risky, int cap)
    {
        var kept = Risky;
        if (kept.Count < cap) { kept.Add(risky); return; }
        int weakest = 0;
        for (int i = 1; i < kept.Count; i++)
            if (kept[i].Severity < kept[weakest].Severity ||
                (kept[i].Severity == kept[weakest].Severity && kept[i].EventTime > kept[weakest].EventTime))
                weakest = i;
        if (risky.Severity > kept[weakest].Severity) kept[weakest] = risky;
    }

    /// <summary>The counters as the parts of a digest hold them: ranked lists, most severe risky events first.</summary>
    internal DigestPart ToPart(string? actorKey)
    {
        var ranked = _counts.RankAll();
        return new DigestPart
        {
            ActorKey = actorKey,
            FirstEventTime = FirstEventTime,
            LastEventTime = LastEventTime,
            EventCount = EventCount,
            ErrorCount = ErrorCount,
            ReadOnlyCount = ReadOnlyCount,
            EventNames = ranked.Of(Counter.EventNames),
            Principals = ranked.Of(Counter.Principals),
            Regions = ranked.Of(Counter.Regions),
            Sources = ranked.Of(Counter.Sources),
            DetailTypes = ranked.Of(Counter.DetailTypes),
            ErrorCodes = ranked.Of(Counter.ErrorCodes),
            SourceIps = ranked.Of(Counter.SourceIps),
            Risky = _risky is { Count: > 0 } risky ? DigestOrder.Risky([.. risky], int.MaxValue) : [],
            RiskyCount = RiskyCount,
            Failures = _failures is { Count: > 0 } failures ? DigestOrder.Failures([.. failures.Values], int.MaxValue) : [],
        };
    }

    /// <summary>Gives the counts' storage back for other bursts; see <see cref="CountTable.Recycle"/>.</summary>
    internal virtual void Recycle() => _counts.Recycle();

    /// <summary>
    /// After <see cref="Recycle"/>: every counter as a new lane's, for another burst (<see cref="SpareLanes"/>). The risky
    /// list and the failures keep their storage; a digest made before holds copies of them. A field added to this class
    /// must be reset here too.
    /// </summary>
    internal void Reset()
    {
        FirstEventTime = DateTimeOffset.MaxValue;
        LastEventTime = DateTimeOffset.MinValue;
        EventCount = 0;
        ErrorCount = 0;
        ReadOnlyCount = 0;
        RiskyCount = 0;
        _risky?.Clear();
        _failures?.Clear();
    }

    /// <summary>Highest count first; ties by name, so the same input always renders the same digest.</summary>
    internal static KeyValuePair<string, int>[] Ranked(Dictionary<string, int> counts)
    {
        if (counts.Count == 0) return [];
        if (counts.Count == 1)
            foreach (var one in counts) return OneNameCounts.Default.Of(one.Key, one.Value);
        var ranked = new KeyValuePair<string, int>[counts.Count];
        int i = 0;
        foreach (var kv in counts) ranked[i++] = kv;
        CountTable.Rank(ranked);
        return ranked;
    }
}
