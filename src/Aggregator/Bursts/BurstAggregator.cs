using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Risk;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Groups each account's events into bursts and closes them into digests. Pure and deterministic: it has no
/// clock of its own. Two times meet here (docs/time-model.md):
/// <list type="bullet">
/// <item>an event's <b>own time</b>, as its source states it: an account's bursts are cut by its own events' times
/// (a quiet gap, a max window), never by another account's;</item>
/// <item>the <b>processing clock</b>: the newest arrival time seen (Kinesis' arrival timestamp), moved on by
/// <see cref="AdvanceTo"/> when the stream is idle. An account that has said nothing for a while is closed by it once
/// the clock, less the allowed <see cref="BurstWindowOptions.Lateness"/> and less the account's own lag (how far
/// behind their times its events arrive, <see cref="BurstBuilder.Lag"/>), is past its burst's gap or max window.</item>
/// </list>
/// An event is windowed at its own time, unless it is dated more than the lateness ahead of its arrival (a wrong
/// clock): then at its arrival time. One that arrives more than the lateness after its own time keeps it, joining its
/// account's open burst or making a digest of its own. Both are counted and flagged in their digest, never dropped.
/// </summary>
/// <remarks>
/// A replay of a file has no arrival times. Then the clock is the newest event time seen, except that a record dated
/// further ahead of it than the lateness (and the gap) moves it only once a second account confirms the jump: a record
/// of another account as far ahead, <see cref="MaxHeld"/> such records of one account, or the end of the input. When
/// <see cref="DenyAfter"/> records keep to the old clock meanwhile, the jump is denied: the held records are windowed
/// at the clock, flagged as skewed, as the live pipeline would window them at their arrival. Held records are counted
/// as open.
/// </remarks>
internal sealed class BurstAggregator
{
    /// <summary>Records of one account, in a row, that confirm a jump of a replay's clock on their own.</summary>
    public const int MaxHeld = 64;

    private readonly BurstWindowOptions _options;
    private readonly RiskCatalog _catalog;
    private readonly Dictionary<string, BurstBuilder> _open = new(StringComparer.Ordinal);
    // Muted and duplicate counts of accounts with no open burst wait here for that account's next burst.
    private readonly Dictionary<string, BurstBuilder> _pending = new(StringComparer.Ordinal);
    /// <summary>
    /// Deadlines on the processing clock (UTC ticks: the same order as the times, compared as plain numbers): each open
    /// burst queued no later than it falls due (<see cref="Schedule"/>); an entry whose burst has moved on is stale and
    /// dropped when it comes up. Of bursts due at the same tick, the account first in ordinal order. Ties are
    /// common (CloudTrail's times are whole seconds), and the order they close in is the order the roll-up stage sees
    /// them in: decided by the accounts, not by the heap's history, it is the same on every host and after a restore.
    /// </summary>
    private readonly PriorityQueue<(string Account, int Version), (long Ticks, string Account)> _deadlines = new(DeadlineOrder.Instance);

    private sealed class DeadlineOrder : IComparer<(long Ticks, string Account)>
    {
        public static readonly DeadlineOrder Instance = new();

        public int Compare((long Ticks, string Account) x, (long Ticks, string Account) y) =>
            x.Ticks != y.Ticks ? x.Ticks.CompareTo(y.Ticks) : string.CompareOrdinal(x.Account, y.Account);
    }

    /// <summary>Entries in the deadline queue, stale ones included (about one per open burst: see <see cref="Schedule"/>).</summary>
    internal int QueuedDeadlines => _deadlines.Count;
    private readonly List<Timed> _held = [];
    private List<Alert>? _alerts;
    private int _heldDenials;

    /// <summary>Records of other accounts that keep to a replay's clock and so deny a held jump.</summary>
    public const int DenyAfter = 32;

    public BurstAggregator(BurstWindowOptions options, RiskCatalog? catalog = null)
    {
        options.Validate();
        _options = options;
        _catalog = catalog ?? RiskCatalog.Default;
    }

    public BurstWindowOptions Options => _options;

    /// <summary>The processing clock: the newest arrival time seen (a replay's estimate of it), moved on by <see cref="AdvanceTo"/>.</summary>
    public DateTimeOffset Clock { get; private set; } = DateTimeOffset.MinValue;

    public int OpenBursts => _open.Count;

    /// <summary>Events counted in open bursts, or waiting for a replay's clock to confirm their time (not yet in any digest).</summary>
    public long OpenEventCount => _open.Values.Sum(b => (long)b.TotalEventCount) + _held.Count(h => h.Accepted is not null);

    /// <summary>Accounts with something in memory: an open burst or counts waiting for one.</summary>
    public IEnumerable<string> Accounts => _open.Keys.Union(_pending.Keys, StringComparer.Ordinal);

    /// <summary>
    /// Feeds one Enricher outcome, the one way every host drives the aggregator: an accepted event joins its
    /// account's burst, a muted or duplicate one is counted there; a rejected one has no account to count it in.
    /// <paramref name="arrival"/> is when the record reached the stream (null in a file replay). Returns the digests that closed.
    /// </summary>
    public IReadOnlyList<Digest> Feed(EnrichmentOutcome outcome, DateTimeOffset? arrival = null)
    {
        Timed timed;
        switch (outcome)
        {
            case EnrichmentOutcome.Accepted a:
                timed = new Timed(a.Event.Account, a.Event.Time, a, null);
                break;
            case EnrichmentOutcome.Muted m:
                timed = new Timed(m.Account, m.Time, null, m.Rule);
                break;
            case EnrichmentOutcome.Duplicate d:
                BurstOrPending(d.Account).Duplicates++;
                return [];
            default:
                return [];
        }
        List<Digest>? closed = null;
        if (arrival is { } at) Apply(timed, at, ref closed);
        else Replay(timed, ref closed);
        return closed ?? (IReadOnlyList<Digest>)[];
    }

    /// <summary>
    /// The alerts raised since the last call (risky events at or above <see cref="BurstWindowOptions.AlertSeverity"/>),
    /// in the order their events were windowed. A host posts them at once.
    /// </summary>
    public IReadOnlyList<Alert> TakeAlerts()
    {
        if (_alerts is not { Count: > 0 } alerts) return [];
        _alerts = null;
        return alerts;
    }

    /// <summary>Adds one accepted event (shorthand for <see cref="Feed"/>); returns the digests that closed.</summary>
    public IReadOnlyList<Digest> Add(OrgEvent evt, AccountInfo? info, DateTimeOffset? arrival = null) =>
        Feed(new EnrichmentOutcome.Accepted(default, evt, info), arrival);

    /// <summary>Counts a muted event in its account's burst, or the next one (shorthand for <see cref="Feed"/>).</summary>
    public IReadOnlyList<Digest> AddMuted(string account, string rule, DateTimeOffset time, DateTimeOffset? arrival = null) =>
        Feed(new EnrichmentOutcome.Muted(default, account, time, rule), arrival);

    /// <summary>Counts a dropped redelivery in its account's burst, or the next one.</summary>
    public void AddDuplicate(string account) => BurstOrPending(account).Duplicates++;

    /// <summary>Moves the processing clock on by <paramref name="elapsed"/> without a record (an idle live stream) and returns what that closes.</summary>
    public IReadOnlyList<Digest> Advance(TimeSpan elapsed) =>
        Clock == DateTimeOffset.MinValue ? [] : AdvanceTo(Clock + elapsed);

    /// <summary>Moves the processing clock to <paramref name="now"/> (a window's end, the sweeper's wall clock) and returns what that closes.</summary>
    public IReadOnlyList<Digest> AdvanceTo(DateTimeOffset now)
    {
        List<Digest>? closed = null;
        MoveClock(now, ref closed);
        return closed ?? (IReadOnlyList<Digest>)[];
    }

    /// <summary>Closes every open burst: end of input, host shutdown, or the end of a processing window.</summary>
    public IReadOnlyList<Digest> Flush(BurstCloseReason reason = BurstCloseReason.EndOfInput)
    {
        List<Digest>? closed = null;
        while (_held.Count > 0) Confirm(ref closed); // the input ended: nothing more can deny a jump
        var all = _open.Values.OrderBy(b => b.OpenedAt).ThenBy(b => b.Account, StringComparer.Ordinal).ToList();
        _open.Clear();
        _deadlines.Clear();
        closed ??= [];
        closed.AddRange(all.Select(b => Close(b, reason)));
        return closed;
    }

    /// <summary>Closes the oldest open burst early (a host whose state must stay under a size limit); null when none is open.</summary>
    public Digest? CloseOldest(BurstCloseReason reason = BurstCloseReason.WindowEnd)
    {
        var oldest = _open.Values.OrderBy(b => b.OpenedAt).ThenBy(b => b.Account, StringComparer.Ordinal).FirstOrDefault();
        if (oldest is null) return null;
        _open.Remove(oldest.Account);
        return Close(oldest, reason);
    }

    /// <summary>
    /// Confirms every jump a replay holds (records without arrival times, handed to a host that must stop here, such as a
    /// window's call) and returns what that closes. Live records have arrival times and are never held.
    /// </summary>
    public IReadOnlyList<Digest> SettleHeld()
    {
        List<Digest>? closed = null;
        while (_held.Count > 0) Confirm(ref closed);
        return closed ?? (IReadOnlyList<Digest>)[];
    }

    /// <summary>Muted and duplicate counts still waiting for a burst of their account (they are in the run's summary regardless).</summary>
    public IReadOnlyCollection<string> AccountsWithPendingCounts => _pending.Keys;

    /// <summary>
    /// Takes an account's open burst and waiting counts out (to carry them to the next window); nulls when it has none.
    /// </summary>
    public (BurstBuilder? Open, BurstBuilder? Pending) Take(string account)
    {
        if (_held.Count > 0) throw new InvalidOperationException("records held for a replay's clock: settle them (SettleHeld) before taking carries");
        _open.Remove(account, out var open);
        _pending.Remove(account, out var pending);
        return (open, pending);
    }

    /// <summary>
    /// Puts back what <see cref="Take"/> took, in another process (the next window, the sweeper). An account that
    /// already has a burst here (a carry found late) keeps it; the carried one, older, is closed now (returned), as is a
    /// carried burst already due on the clock.
    /// </summary>
    public IReadOnlyList<Digest> Put(BurstBuilder? open, BurstBuilder? pending)
    {
        List<Digest>? closed = null;
        if (open is not null)
        {
            if (_open.ContainsKey(open.Account)) (closed ??= []).Add(open.ToDigest(DueReason(open) ?? BurstCloseReason.WindowEnd, _options, Clock));
            else if (DueReason(open) is { } due) (closed ??= []).Add(open.ToDigest(due, _options, Clock)); // the clock is already past it
            else
            {
                _open[open.Account] = open;
                Schedule(open);
            }
        }
        if (pending is not null)
        {
            var into = BurstOrPending(pending.Account);
            foreach (var (rule, count) in pending.Muted) into.AddMuted(rule, count);
            into.Duplicates += pending.Duplicates;
        }
        return closed ?? (IReadOnlyList<Digest>)[];
    }

    /// <summary>
    /// The aggregator's whole state (clock, open bursts, counts waiting for a burst), for a host that must carry it
    /// between invocations (Lambda tumbling windows). The builders are the live ones: encode them before adding more
    /// events. Records a replay holds for confirmation are resolved first.
    /// </summary>
    public BurstAggregatorState Snapshot()
    {
        if (_held.Count > 0) throw new InvalidOperationException("records held for a replay's clock: settle them (SettleHeld) before a snapshot");
        return new(
            Clock,
            [.. _open.Values.OrderBy(b => b.OpenedAt).ThenBy(b => b.Account, StringComparer.Ordinal)],
            [.. _pending.Values.OrderBy(b => b.Account, StringComparer.Ordinal)]);
    }

    /// <summary>Rebuilds a fresh aggregator from a <see cref="Snapshot"/>; deadlines are recomputed from each burst's times.</summary>
    public void Restore(BurstAggregatorState state)
    {
        if (_open.Count > 0 || _pending.Count > 0 || Clock != DateTimeOffset.MinValue)
            throw new InvalidOperationException("Restore needs a fresh aggregator.");
        Clock = state.Clock;
        foreach (var burst in state.Open)
        {
            _open[burst.Account] = burst;
            Schedule(burst);
        }
        foreach (var pending in state.Pending) _pending[pending.Account] = pending;
    }

    /// <summary>An accepted or muted record with its own time, on its way into a burst.</summary>
    // A struct: one is made per event on the hot path.
    private readonly record struct Timed(string Account, DateTimeOffset Time, EnrichmentOutcome.Accepted? Accepted, string? MutedRule);

    /// <summary>A replay's clock: see the class remarks.</summary>
    private void Replay(Timed record, ref List<Digest>? closed)
    {
        var tolerance = ReplayTolerance;
        if (Clock == DateTimeOffset.MinValue || record.Time <= Clock + tolerance)
        {
            Apply(record, Max(Clock, record.Time), ref closed);
            // Records that keep to the clock while a jump waits for a second account: enough of them deny it.
            if (_held.Count > 0 && ++_heldDenials >= DenyAfter) Deny(ref closed);
            return;
        }
        _held.Add(record);
        if (record.Account != _held[0].Account || _held.Count >= MaxHeld) Confirm(ref closed);
    }

    /// <summary>
    /// How far ahead of a replay's clock a record may be dated before it needs a second account to confirm the jump:
    /// the lateness, and never less than the gap (without arrival times, a stream's ordinary progress would otherwise
    /// look like a jump).
    /// </summary>
    private TimeSpan ReplayTolerance => _options.Lateness > _options.Gap ? _options.Lateness : _options.Gap;

    /// <summary>The held records ran ahead alone: they are windowed at the clock, flagged as skewed, as live arrival would.</summary>
    private void Deny(ref List<Digest>? closed)
    {
        var denied = _held.ToArray();
        _held.Clear();
        _heldDenials = 0;
        foreach (var held in denied) Apply(held, Clock, ref closed);
    }

    /// <summary>The held records' jump is real: the clock moves to the earliest of them, and they are fed again in order.</summary>
    private void Confirm(ref List<Digest>? closed)
    {
        var held = _held.ToArray();
        _held.Clear();
        _heldDenials = 0;
        var earliest = held.Min(h => h.Time);
        MoveClock(earliest, ref closed);
        foreach (var record in held) Replay(record, ref closed);
    }

    /// <summary>
    /// Told of every accepted event as it joins a burst, with the time it counts at (its own, or its arrival when its
    /// clock is ahead): the silence check's input. Held replay records are told when they settle, at their final time.
    /// </summary>
    public Action<EnrichmentOutcome.Accepted, DateTimeOffset>? Applied { get; set; }

    /// <summary>One record at a known arrival time: the clock moves, then the record joins its account's burst.</summary>
    private void Apply(Timed record, DateTimeOffset arrival, ref List<Digest>? closed)
    {
        MoveClock(arrival, ref closed);
        var lateness = _options.Lateness;
        var at = record.Time;
        var note = ClockNote.OnTime;
        if (record.Time > arrival + lateness)
        {
            at = arrival;
            note = ClockNote.Skewed;
        }
        else if (record.Time < arrival - lateness)
        {
            // Kept at its own time: it joins its account's open burst, or makes a digest of its own that closes at
            // once (its gap is long over). Either way the digest says it came late.
            note = ClockNote.Late;
        }

        if (_open.TryGetValue(record.Account, out var burst) && ReasonToCloseBefore(burst, at) is { } reason)
        {
            _open.Remove(record.Account);
            (closed ??= []).Add(Close(burst, reason));
            burst = null;
        }

        if (record.Accepted is { } accepted)
        {
            Applied?.Invoke(accepted, at);
            burst ??= Open(record.Account, at);
            if (burst.Add(accepted.Event, accepted.AccountInfo, _catalog, _options, at, note, arrival) is { } risky &&
                risky.Severity >= _options.AlertSeverity)
                Raise(burst, accepted, risky, arrival);
        }
        else
        {
            // A muted event is still activity: it keeps its account's open burst alive, so muting Terraform's
            // tagging calls does not split the apply that made them into several digests.
            (burst ?? BurstOrPending(record.Account)).AddMuted(record.MutedRule!);
            if (burst is null) return;
        }
        if (at > burst.LastSeenAt) burst.LastSeenAt = at;
        if (arrival > burst.LastArrivalAt) burst.LastArrivalAt = arrival;
        // A burst opened by this record is not queued yet (long.MaxValue); any other open here was queued by this aggregator.
        Schedule(burst, queuedHere: burst.QueuedDeadlineTicks != long.MaxValue);
    }

    private void Raise(BurstBuilder burst, EnrichmentOutcome.Accepted accepted, RiskyEvent risky, DateTimeOffset arrival)
    {
        var alert = new Alert
        {
            AlertId = Alert.AlertIdFor(burst.Account, accepted.Event.DedupeId),
            Account = burst.Account,
            AccountInfo = accepted.AccountInfo ?? burst.AccountInfo,
            Event = risky,
            DigestId = BurstBuilder.DigestIdFor(burst.Account, burst.FirstEventId ?? ""),
            RaisedAt = arrival,
        };
        if (burst.AlertIds.Count < BurstBuilder.MaxAlertIds) burst.AlertIds.Add(alert.AlertId);
        (_alerts ??= []).Add(alert);
    }

    /// <summary>The account's own next record, windowed at <paramref name="at"/>, ends its burst first when it lies past the gap or the max window.</summary>
    private BurstCloseReason? ReasonToCloseBefore(BurstBuilder burst, DateTimeOffset at)
    {
        if (at > burst.LastSeenAt + _options.Gap) return BurstCloseReason.QuietGap;
        if (at >= burst.OpenedAt + _options.MaxWindow) return BurstCloseReason.MaxWindow;
        return null;
    }

    private BurstBuilder BurstOrPending(string account)
    {
        if (_open.TryGetValue(account, out var burst)) return burst;
        if (!_pending.TryGetValue(account, out var pending)) _pending[account] = pending = new BurstBuilder(account, Clock);
        return pending;
    }

    private BurstBuilder Open(string account, DateTimeOffset at)
    {
        var burst = new BurstBuilder(account, at);
        if (_pending.Remove(account, out var pending))
        {
            foreach (var (rule, count) in pending.Muted) burst.AddMuted(rule, count);
            burst.Duplicates += pending.Duplicates;
        }
        _open[account] = burst;
        return burst;
    }

    /// <summary>
    /// The digest of a burst this aggregator has let go of (out of its open bursts); the storage of its counts then goes
    /// back for the bursts to come. A burst put in by a host (<see cref="Put"/>) that closes at once is the host's: not this.
    /// </summary>
    private Digest Close(BurstBuilder burst, BurstCloseReason reason)
    {
        var digest = burst.ToDigest(reason, _options, Clock);
        burst.Recycle();
        return digest;
    }

    private void MoveClock(DateTimeOffset now, ref List<Digest>? closed)
    {
        if (now <= Clock) return;
        Clock = now;
        long clockTicks = Clock.UtcTicks;
        while (_deadlines.TryPeek(out var entry, out var at) && at.Ticks <= clockTicks)
        {
            long deadline = at.Ticks;
            _deadlines.Dequeue();
            if (!_open.TryGetValue(entry.Account, out var burst) || burst.Version != entry.Version || burst.QueuedDeadlineTicks != deadline) continue; // stale entry
            long due = burst.DueAt(_options).UtcTicks;
            if (due != deadline)
            {
                // Events since it was queued moved its deadline later: queued again at it. If the clock is past that too, it
                // comes round again in this loop, in deadline order, so bursts close in the order they fell due.
                Enqueue(burst, due);
                continue;
            }
            if (DueReason(burst) is not { } reason)
            {
                // Due by its deadline but not by its reason: cannot happen (both read the same times against the same
                // clock). Were it to, the burst is left unqueued, so its next event queues it afresh.
                burst.QueuedDeadlineTicks = long.MaxValue;
                continue;
            }
            _open.Remove(entry.Account);
            (closed ??= []).Add(Close(burst, reason));
        }
    }

    /// <summary>
    /// Due on the processing clock: the account's clock (the processing clock less the lateness and the account's own
    /// lag) is past the gap or the max window.
    /// </summary>
    private BurstCloseReason? DueReason(BurstBuilder burst)
    {
        if (Clock == DateTimeOffset.MinValue) return null;
        var wait = _options.Lateness + burst.Lag;
        if (Clock > burst.LastSeenAt + _options.Gap + wait) return BurstCloseReason.QuietGap;
        if (Clock >= burst.OpenedAt + _options.MaxWindow + wait) return BurstCloseReason.MaxWindow;
        return null;
    }

    /// <summary>
    /// Makes sure the deadline queue looks at <paramref name="burst"/> no later than it falls due. An event usually moves a
    /// burst's deadline later; its entry in the queue then stays where it is, and <see cref="MoveClock"/> queues the burst
    /// again at its new deadline when the old one comes. Only a deadline that moved earlier (a late-arriving account whose
    /// lag shrank) needs a new entry. Queueing on every event kept an entry per event in the queue: one per burst now.
    /// </summary>
    /// <param name="queuedHere">True for a burst of this aggregator that it queued already. False for one that comes in
    /// (put back, restored): queued whatever its <see cref="BurstBuilder.QueuedDeadlineTicks"/> says, which may be another aggregator's.</param>
    private void Schedule(BurstBuilder burst, bool queuedHere = false)
    {
        long due = burst.DueAt(_options).UtcTicks;
        if (queuedHere && burst.QueuedDeadlineTicks <= due) return;
        Enqueue(burst, due);
    }

    private void Enqueue(BurstBuilder burst, long deadlineTicks)
    {
        burst.Version++;
        burst.QueuedDeadlineTicks = deadlineTicks;
        _deadlines.Enqueue((burst.Account, burst.Version), (deadlineTicks, burst.Account));
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}

/// <summary>How an event's own time stood to its arrival.</summary>
public enum ClockNote
{
    /// <summary>Within the lateness of its arrival: windowed at its own time.</summary>
    OnTime,
    /// <summary>Dated more than the lateness ahead of its arrival: windowed at its arrival time.</summary>
    Skewed,
    /// <summary>Arrived more than the lateness after its own time: windowed at its own time all the same, and flagged.</summary>
    Late,
}

/// <summary>What <see cref="BurstAggregator.Snapshot"/> captures: enough to continue exactly where it stopped.</summary>
public sealed record BurstAggregatorState(DateTimeOffset Clock, IReadOnlyList<BurstBuilder> Open, IReadOnlyList<BurstBuilder> Pending);
