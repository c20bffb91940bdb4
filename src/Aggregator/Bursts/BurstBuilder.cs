using System.Runtime.InteropServices;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Risk;
using Pipeline.Aggregator.Rollups;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// The open burst of one account: counters only, never the events themselves, so a burst of
/// 100,000 events costs what its distinct names, principals and regions cost. The counters of the builder itself are
/// those of people's calls and of events with no actor; each automated actor (a role, a service, a finding type: see
/// <see cref="ChangeActor"/>) counts in a lane of its own, so a roll-up can take that share and leave the rest.
/// </summary>
public sealed class BurstBuilder(string account, DateTimeOffset openedAt) : ChangeCounts
{
    /// <summary>Alert ids kept per burst (for the digest to refer to); more alerts are still posted, only not listed.</summary>
    public const int MaxAlertIds = 20;

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

    public string? FirstEventId { get; set; }
    public AccountInfo? AccountInfo { get; set; }
    public int Duplicates { get; set; }

    /// <summary>Bumped whenever the burst is queued for its deadline again, so stale entries in the deadline queue are recognised.</summary>
    public int Version { get; set; }

    /// <summary>
    /// When the aggregator's deadline queue looks at this burst next (its entry of <see cref="Version"/>); long.MaxValue
    /// when it is not queued. Never later than <see cref="DueAt"/>: see <c>BurstAggregator.Schedule</c>.
    /// </summary>
    internal long QueuedDeadlineTicks { get; set; } = long.MaxValue;

    public Dictionary<string, int> Muted { get; } = new(StringComparer.Ordinal);

    /// <summary>The automated actors' shares of the burst, by actor (see <see cref="ChangeActor"/>); empty for a burst of people only.</summary>
    public Dictionary<(ActorKind Kind, string Name), ChangeCounts> Lanes { get; } = SpareLanes.TakeMap();

    /// <summary>Ids of the immediate alerts raised from the burst's events, at most <see cref="MaxAlertIds"/>.</summary>
    public List<string> AlertIds { get; } = [];

    /// <summary>Events in the burst, of every lane.</summary>
    public int TotalEventCount
    {
        get
        {
            int total = EventCount;
            foreach (var lane in Lanes.Values) total += lane.EventCount;
            return total;
        }
    }

    /// <summary>
    /// Counts one event, windowed at <paramref name="at"/>. The digest's time range shows the events' own times, except a
    /// skewed one's, which would stretch it to a date that never happened: that one counts at its arrival.
    /// </summary>
    /// <returns>The event as a risky event when the catalog flags it (the host may alert on it at once), else null.</returns>
    public RiskyEvent? Add(OrgEvent evt, AccountInfo? info, RiskCatalog catalog, BurstWindowOptions options, DateTimeOffset at, ClockNote note = ClockNote.OnTime, DateTimeOffset? arrival = null)
    {
        ThrowIfRecycled();
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
        // The first event to *arrive* names the burst: arrival order is what a retry replays.
        FirstEventId ??= evt.DedupeId;
        if (info is not null) AccountInfo = info;

        ChangeCounts counts = this;
        if (ChangeActor.TryGet(evt, out var kind, out var name))
            counts = CollectionsMarshal.GetValueRefOrAddDefault(Lanes, (kind, name), out _) ??= SpareLanes.TakeLane();
        return counts.Count(evt, shown, catalog, options);
    }

    public void AddMuted(string rule, int count = 1) => Muted[rule] = Muted.GetValueOrDefault(rule) + count;

    /// <summary>When, on the processing clock, the burst is due if its account says nothing more: gap or max window, plus the lateness and the account's lag.</summary>
    public DateTimeOffset DueAt(BurstWindowOptions options) =>
        Min(LastSeenAt + options.Gap + TimeSpan.FromTicks(1), OpenedAt + options.MaxWindow) + options.Lateness + Lag;

    /// <summary>
    /// The digest of the burst. <c>ClosedAt</c> is the processing time at which it closed: when it fell due, or earlier,
    /// when the account's own next event ended it (<paramref name="clock"/>, the processing clock then). A burst with
    /// automated actors' lanes has one part per lane (and one for the rest), and its counts are theirs combined.
    /// </summary>
    public Digest ToDigest(BurstCloseReason reason, BurstWindowOptions options, DateTimeOffset clock)
    {
        ThrowIfRecycled();
        // The burst's own fields; its counts are the share of people (and of events with no actor) when there are no
        // lanes, else the parts' combined.
        var header = new Digest
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
            EventNames = [],
            Principals = [],
            Regions = [],
            Sources = [],
            DetailTypes = [],
            ErrorCodes = [],
            SourceIps = [],
            Risky = [],
            RiskyCount = RiskyCount,
            Failures = [],
            Muted = Ranked(Muted),
            Duplicates = Duplicates,
            SkewedCount = SkewedCount,
            SkewedLatestTime = SkewedLatestTime,
            LateCount = LateCount,
            LateMaxDelay = LateMaxDelay,
            AlertIds = AlertIds.Count == 0 ? [] : [.. AlertIds],
            ClosedBy = reason,
        };
        var own = ToPart(actorKey: null);
        if (Lanes.Count == 0) return DigestParts.WithCountsOf(header, own);

        // Lanes by kind, then by name: keys are distinct, so the order is total.
        var lanes = new KeyValuePair<(ActorKind Kind, string Name), ChangeCounts>[Lanes.Count];
        int n = 0;
        foreach (var lane in Lanes) lanes[n++] = lane;
        lanes.AsSpan().Sort(LaneOrder);

        var parts = new DigestPart[(EventCount > 0 ? 1 : 0) + lanes.Length];
        n = 0;
        if (EventCount > 0) parts[n++] = own;
        foreach (var ((kind, name), lane) in lanes) parts[n++] = lane.ToPart(ChangeActor.Key(kind, name));
        return DigestParts.Combine(header, parts, options.MaxRiskyPerDigest, options.MaxFailuresPerDigest, keptParts: parts);
    }

    /// <summary>
    /// Gives the storage of the burst's counts (its own and its lanes') back for other bursts. Only for a burst nothing
    /// reads again: one its aggregator closed, once its digest is made.
    /// </summary>
    internal override void Recycle()
    {
        // Once only: a second call would hand the same lanes to two bursts.
        if (_recycled) return;
        _recycled = true;
        base.Recycle();
        foreach (var lane in Lanes.Values)
        {
            lane.Recycle();
            SpareLanes.Give(lane);
        }
        Lanes.Clear();
        SpareLanes.Give(Lanes);
    }

    private bool _recycled;

    /// <summary>A recycled burst's storage counts other bursts now: reading or counting into it would mix them up.</summary>
    private void ThrowIfRecycled()
    {
        if (_recycled) throw new InvalidOperationException($"the burst of {Account} was closed and its storage given to other bursts");
    }

    private static readonly Comparison<KeyValuePair<(ActorKind Kind, string Name), ChangeCounts>> LaneOrder =
        static (x, y) => x.Key.Kind != y.Key.Kind ? ((byte)x.Key.Kind).CompareTo((byte)y.Key.Kind) : string.CompareOrdinal(x.Key.Name, y.Key.Name);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>Same account and same first event → same id, across retries and hosts.</summary>
    internal static string DigestIdFor(string account, string firstEventId) => NoticeIds.Of(account, firstEventId);
}
