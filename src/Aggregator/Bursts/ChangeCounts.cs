using Pipeline.Aggregator.Risk;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Counters of a set of events (never the events themselves): what a digest is made of. A burst keeps one set for
/// people and other events with no automated actor (itself), and one per automated actor (<see cref="BurstBuilder.Lanes"/>),
/// so a roll-up can take an actor's share of a burst and leave the rest, a person's own calls, in the account's digest.
/// </summary>
public class ChangeCounts
{
    public DateTimeOffset FirstEventTime { get; set; } = DateTimeOffset.MaxValue;
    public DateTimeOffset LastEventTime { get; set; } = DateTimeOffset.MinValue;
    public int EventCount { get; set; }
    public int ErrorCount { get; set; }
    public int ReadOnlyCount { get; set; }
    public int RiskyCount { get; set; }

    public Dictionary<string, int> EventNames { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Principals { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Regions { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Sources { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> DetailTypes { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> ErrorCodes { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> SourceIps { get; } = new(StringComparer.Ordinal);
    public List<RiskyEvent> Risky { get; } = [];
    public Dictionary<(string EventName, string ErrorCode, string? Principal), FailedCall> Failures { get; } = [];

    /// <summary>Counts one event shown at <paramref name="shown"/>; returns it as a risky event when the catalog flags it.</summary>
    internal RiskyEvent? Count(OrgEvent evt, DateTimeOffset shown, RiskCatalog catalog, BurstWindowOptions options)
    {
        if (shown < FirstEventTime) FirstEventTime = shown;
        if (shown > LastEventTime) LastEventTime = shown;
        EventCount++;

        Count(EventNames, evt.ActionName);
        Count(Regions, evt.Region);
        Count(DetailTypes, evt.DetailType);
        var ct = evt.CloudTrail;
        Count(Sources, ct?.EventSource ?? evt.Source);
        if (evt.Principal is { } principal) Count(Principals, principal);
        if (ct?.SourceIpAddress is { } ip) Count(SourceIps, ip);
        if (ct?.ReadOnly == true) ReadOnlyCount++;

        if (ct?.ErrorCode is { } code)
        {
            ErrorCount++;
            Count(ErrorCodes, code);
            var key = (ct.EventName, code, evt.Principal);
            if (Failures.TryGetValue(key, out var failure))
                Failures[key] = failure with { Count = failure.Count + 1 };
            else if (Failures.Count < options.MaxFailuresPerDigest)
                Failures[key] = new FailedCall(ct.EventName, evt.Principal, code, ct.ErrorMessage, 1);
        }

        if (catalog.Assess(evt) is not { } rule) return null;
        RiskyCount++;
        var risky = new RiskyEvent(evt.ActionName, evt.Principal, evt.Time,
            evt.Finding is { } f ? $"{rule.Reason}: {f.Title}" : rule.Reason,
            rule.Severity, ct?.Target, ct?.SourceIpAddress, ct?.ErrorCode, evt.Region);
        KeepRisky(risky, options.MaxRiskyPerDigest);
        return risky;
    }

    /// <summary>Keeps the most severe risky events, earliest first among equals, within the cap.</summary>
    private void KeepRisky(RiskyEvent risky, int cap)
    {
        if (Risky.Count < cap) { Risky.Add(risky); return; }
        int weakest = 0;
        for (int i = 1; i < Risky.Count; i++)
            if (Risky[i].Severity < Risky[weakest].Severity ||
                (Risky[i].Severity == Risky[weakest].Severity && Risky[i].EventTime > Risky[weakest].EventTime))
                weakest = i;
        if (risky.Severity > Risky[weakest].Severity) Risky[weakest] = risky;
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
        EventNames = Ranked(EventNames),
        Principals = Ranked(Principals),
        Regions = Ranked(Regions),
        Sources = Ranked(Sources),
        DetailTypes = Ranked(DetailTypes),
        ErrorCodes = Ranked(ErrorCodes),
        SourceIps = Ranked(SourceIps),
        Risky = [.. Risky.OrderByDescending(r => r.Severity).ThenBy(r => r.EventTime).ThenBy(r => r.EventName, StringComparer.Ordinal)],
        RiskyCount = RiskyCount,
        Failures = [.. Failures.Values.OrderByDescending(f => f.Count).ThenBy(f => f.EventName, StringComparer.Ordinal).ThenBy(f => f.ErrorCode, StringComparer.Ordinal)],
    };

    /// <summary>Highest count first; ties by name, so the same input always renders the same digest.</summary>
    internal static IReadOnlyList<KeyValuePair<string, int>> Ranked(Dictionary<string, int> counts) =>
        [.. counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)];

    private static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
}
