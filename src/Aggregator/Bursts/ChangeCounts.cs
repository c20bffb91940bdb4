using Pipeline.Aggregator.Risk;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Counters of a set of events (never the events themselves): what a digest is made of. A burst keeps one set for
/// people and other events with no automated actor (itself), and one per automated actor (<see cref="BurstBuilder.Lanes"/>),
/// so a roll-up can take an actor's share of a burst and leave the rest, a person's own calls, in the account's digest.
/// </summary>
/// <remarks>
/// A burst opens a lane for every automated actor it sees, and most lanes count a few events of one role: so every
/// table and list here is made when its first value comes, not with the counters (a lane of one event has no error
/// codes, failures or risky events), and the tables are <see cref="CountTable"/>s, small arrays rather than dictionaries.
/// </remarks>
public class ChangeCounts
{
    private CountTable? _eventNames, _principals, _regions, _sources, _detailTypes, _errorCodes, _sourceIps;
    private List<RiskyEvent>? _risky;
    private Dictionary<(string EventName, string ErrorCode, string? Principal), FailedCall>? _failures;

    public DateTimeOffset FirstEventTime { get; set; } = DateTimeOffset.MaxValue;
    public DateTimeOffset LastEventTime { get; set; } = DateTimeOffset.MinValue;
    public int EventCount { get; set; }
    public int ErrorCount { get; set; }
    public int ReadOnlyCount { get; set; }
    public int RiskyCount { get; set; }

    public CountTable EventNames => _eventNames ??= new();
    public CountTable Principals => _principals ??= new();
    public CountTable Regions => _regions ??= new();
    public CountTable Sources => _sources ??= new();
    public CountTable DetailTypes => _detailTypes ??= new();
    public CountTable ErrorCodes => _errorCodes ??= new();
    public CountTable SourceIps => _sourceIps ??= new();
    public List<RiskyEvent> Risky => _risky ??= [];
    public Dictionary<(string EventName, string ErrorCode, string? Principal), FailedCall> Failures => _failures ??= [];

    /// <summary>Counts one event shown at <paramref name="shown"/>; returns it as a risky event when the catalog flags it.</summary>
    internal RiskyEvent? Count(OrgEvent evt, DateTimeOffset shown, RiskCatalog catalog, BurstWindowOptions options)
    {
        if (shown < FirstEventTime) FirstEventTime = shown;
        if (shown > LastEventTime) LastEventTime = shown;
        EventCount++;

        var ct = evt.CloudTrail;
        var principal = evt.Principal;
        EventNames.Add(evt.ActionName);
        Regions.Add(evt.Region);
        DetailTypes.Add(evt.DetailType);
        Sources.Add(ct?.EventSource ?? evt.Source);
        if (principal is not null) Principals.Add(principal);
        if (ct?.SourceIpAddress is { } ip) SourceIps.Add(ip);
        if (ct?.ReadOnly == true) ReadOnlyCount++;

        if (ct?.ErrorCode is { } code)
        {
            ErrorCount++;
            ErrorCodes.Add(code);
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
    internal Digest ToPart(Digest header, string? actorKey) => header with
    {
        ActorKey = actorKey,
        FirstEventTime = FirstEventTime,
        LastEventTime = LastEventTime,
        EventCount = EventCount,
        ErrorCount = ErrorCount,
        ReadOnlyCount = ReadOnlyCount,
        EventNames = Ranked(_eventNames),
        Principals = Ranked(_principals),
        Regions = Ranked(_regions),
        Sources = Ranked(_sources),
        DetailTypes = Ranked(_detailTypes),
        ErrorCodes = Ranked(_errorCodes),
        SourceIps = Ranked(_sourceIps),
        Risky = _risky is { Count: > 0 } risky ? DigestOrder.Risky([.. risky], int.MaxValue) : [],
        RiskyCount = RiskyCount,
        Failures = _failures is { Count: > 0 } failures ? DigestOrder.Failures([.. failures.Values], int.MaxValue) : [],
    };

    private static KeyValuePair<string, int>[] Ranked(CountTable? counts) => counts?.Ranked() ?? [];

    /// <summary>Highest count first; ties by name, so the same input always renders the same digest.</summary>
    internal static KeyValuePair<string, int>[] Ranked(IReadOnlyCollection<KeyValuePair<string, int>> counts)
    {
        if (counts.Count == 0) return [];
        var ranked = new KeyValuePair<string, int>[counts.Count];
        int i = 0;
        foreach (var kv in counts) ranked[i++] = kv;
        ranked.AsSpan().Sort(CountTable.RankOrder);
        return ranked;
    }
}
