using System.IO.Hashing;
using System.Text;
using Pipeline.Aggregator.Risk;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// The open burst of one account: counters only, never the events themselves, so a burst of
/// 100,000 events costs what its distinct names, principals and regions cost.
/// </summary>
public sealed class BurstBuilder(string account, DateTimeOffset openedAt)
{
    public string Account { get; } = account;

    /// <summary>The account's time when the burst opened (its first event's windowed time): the max window counts from here.</summary>
    public DateTimeOffset OpenedAt { get; set; } = openedAt;

    /// <summary>The newest windowed time of the account's events in the burst: the quiet gap counts from here.</summary>
    public DateTimeOffset LastSeenAt { get; set; } = openedAt;

    /// <summary>The newest arrival time of the account's events in the burst (the processing clock when it last spoke).</summary>
    public DateTimeOffset LastArrivalAt { get; set; } = DateTimeOffset.MinValue;

    /// <summary>
    /// How far behind its own times the account's events arrive now: the burst waits for its clock-close that much
    /// longer, so an account whose events all come in late (a lagging region, old events put into the stream) is cut by
    /// its own times, not by the arrival clock, while one late event that joins a burst keeps it open a little longer.
    /// </summary>
    public TimeSpan Lag => LastArrivalAt > LastSeenAt ? LastArrivalAt - LastSeenAt : TimeSpan.Zero;

    /// <summary>Events dated more than the lateness ahead of their arrival (windowed at arrival), and the latest such stated time.</summary>
    public int SkewedCount { get; set; }
    public DateTimeOffset? SkewedLatestTime { get; set; }

    /// <summary>Events that arrived more than the lateness after their own time, and the longest such delay.</summary>
    public int LateCount { get; set; }
    public TimeSpan LateMaxDelay { get; set; }

    public DateTimeOffset FirstEventTime { get; set; } = DateTimeOffset.MaxValue;
    public DateTimeOffset LastEventTime { get; set; } = DateTimeOffset.MinValue;
    public string? FirstEventId { get; set; }
    public AccountInfo? AccountInfo { get; set; }
    public int EventCount { get; set; }
    public int ErrorCount { get; set; }
    public int ReadOnlyCount { get; set; }
    public int RiskyCount { get; set; }
    public int Duplicates { get; set; }

    /// <summary>Bumped on every change of the burst's deadlines, so stale entries in the deadline queue are recognised.</summary>
    public int Version { get; set; }

    public Dictionary<string, int> EventNames { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Principals { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Regions { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Sources { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> DetailTypes { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> ErrorCodes { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> SourceIps { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, int> Muted { get; } = new(StringComparer.Ordinal);
    public List<RiskyEvent> Risky { get; } = [];
    public Dictionary<(string EventName, string ErrorCode, string? Principal), FailedCall> Failures { get; } = [];

    /// <summary>
    /// Counts one event, windowed at <paramref name="at"/>. The digest's time range shows the events' own times, except a
    /// skewed one's, which would stretch it to a date that never happened: that one counts at its arrival.
    /// </summary>
    public void Add(OrgEvent evt, AccountInfo? info, RiskCatalog catalog, BurstWindowOptions options, DateTimeOffset at, ClockNote note = ClockNote.OnTime, DateTimeOffset? arrival = null)
    {
        var shown = evt.Time;
        if (note == ClockNote.Skewed)
        {
            shown = at;
            SkewedCount++;
            if (SkewedLatestTime is null || evt.Time > SkewedLatestTime) SkewedLatestTime = evt.Time;
        }
        else if (note == ClockNote.Late && arrival is { } arrived)
        {
            LateCount++;
            if (arrived - evt.Time > LateMaxDelay) LateMaxDelay = arrived - evt.Time;
        }
        if (shown < FirstEventTime) FirstEventTime = shown;
        if (shown > LastEventTime) LastEventTime = shown;
        // The first event to *arrive* names the burst: arrival order is what a retry replays.
        FirstEventId ??= evt.DedupeId;
        if (info is not null) AccountInfo = info;
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

        if (catalog.Assess(evt) is { } rule)
        {
            RiskyCount++;
            var risky = new RiskyEvent(evt.ActionName, evt.Principal, evt.Time,
                evt.Finding is { } f ? $"{rule.Reason}: {f.Title}" : rule.Reason,
                rule.Severity, ct?.Target, ct?.SourceIpAddress, ct?.ErrorCode, evt.Region);
            KeepRisky(risky, options.MaxRiskyPerDigest);
        }
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

    public void AddMuted(string rule, int count = 1) => Muted[rule] = Muted.GetValueOrDefault(rule) + count;

    /// <summary>When, on the processing clock, the burst is due if its account says nothing more: gap or max window, plus the lateness and the account's lag.</summary>
    public DateTimeOffset DueAt(BurstWindowOptions options) =>
        Min(LastSeenAt + options.Gap + TimeSpan.FromTicks(1), OpenedAt + options.MaxWindow) + options.Lateness + Lag;

    /// <summary>
    /// The digest of the burst. <c>ClosedAt</c> is the processing time at which it closed: when it fell due, or earlier,
    /// when the account's own next event ended it (<paramref name="clock"/>, the processing clock then).
    /// </summary>
    public Digest ToDigest(BurstCloseReason reason, BurstWindowOptions options, DateTimeOffset clock) => new()
    {
        ClosedAt = reason switch
        {
            BurstCloseReason.QuietGap => Min(clock, LastSeenAt + options.Gap + options.Lateness + Lag),
            BurstCloseReason.MaxWindow => Min(clock, OpenedAt + options.MaxWindow + options.Lateness + Lag),
            BurstCloseReason.WindowEnd => clock,
            _ => Min(LastSeenAt + options.Gap, OpenedAt + options.MaxWindow) + options.Lateness + Lag,
        },
        DigestId = DigestIdFor(Account, FirstEventId ?? ""),
        Account = Account,
        AccountInfo = AccountInfo,
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
        Muted = Ranked(Muted),
        Duplicates = Duplicates,
        SkewedCount = SkewedCount,
        SkewedLatestTime = SkewedLatestTime,
        LateCount = LateCount,
        LateMaxDelay = LateMaxDelay,
        ClosedBy = reason,
    };

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>Highest count first; ties by name, so the same input always renders the same digest.</summary>
    internal static IReadOnlyList<KeyValuePair<string, int>> Ranked(Dictionary<string, int> counts) =>
        [.. counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)];

    /// <summary>Same account and same first event → same id, across retries and hosts.</summary>
    internal static string DigestIdFor(string account, string firstEventId)
    {
        var hash = XxHash128.Hash(Encoding.UTF8.GetBytes($"{account}|{firstEventId}"));
        return Convert.ToHexStringLower(hash);
    }

    private static void Count(Dictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;
}
