using Pipeline.Aggregator.Risk;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Groups each account's events into bursts and closes them into digests. Pure and deterministic:
/// it has no clock of its own. Its clock is the stream's watermark, the newest event time seen so far,
/// so a replay of yesterday's file closes the same bursts the live stream did; a host that must close
/// bursts while the stream is idle moves the watermark on with <see cref="Advance"/>.
/// </summary>
/// <remarks>
/// Quiet gap and max window are measured on the watermark, not on each event's own time: a late
/// CloudTrail event (they can arrive minutes late) joins its account's open burst, or opens one, instead
/// of becoming a digest of its own.
/// </remarks>
internal sealed class BurstAggregator
{
    private readonly BurstWindowOptions _options;
    private readonly RiskCatalog _catalog;
    private readonly Dictionary<string, BurstBuilder> _open = new(StringComparer.Ordinal);
    // Muted and duplicate counts of accounts with no open burst wait here for that account's next burst.
    private readonly Dictionary<string, BurstBuilder> _pending = new(StringComparer.Ordinal);
    private readonly PriorityQueue<(string Account, int Version), DateTimeOffset> _deadlines = new();

    public BurstAggregator(BurstWindowOptions options, RiskCatalog? catalog = null)
    {
        options.Validate();
        _options = options;
        _catalog = catalog ?? RiskCatalog.Default;
    }

    public BurstWindowOptions Options => _options;

    /// <summary>The stream's clock: the newest event time seen, moved on by <see cref="Advance"/>.</summary>
    public DateTimeOffset Watermark { get; private set; } = DateTimeOffset.MinValue;

    public int OpenBursts => _open.Count;

    /// <summary>Events counted in open bursts (not yet in any digest).</summary>
    public long OpenEventCount => _open.Values.Sum(b => (long)b.EventCount);

    /// <summary>
    /// Feeds one Enricher outcome, the one way every host drives the aggregator: an accepted event joins its
    /// account's burst, a muted or duplicate one is counted there; a rejected one has no account to count it in.
    /// Returns the digests that closed.
    /// </summary>
    public IReadOnlyList<Digest> Feed(EnrichmentOutcome outcome)
    {
        switch (outcome)
        {
            case EnrichmentOutcome.Accepted a:
                return Add(a.Event, a.AccountInfo);
            case EnrichmentOutcome.Muted m:
                return AddMuted(m.Account, m.Rule, m.Time);
            case EnrichmentOutcome.Duplicate d:
                AddDuplicate(d.Account);
                return [];
            default:
                return [];
        }
    }

    /// <summary>Adds one accepted event; returns the digests its arrival closed (other accounts' quiet bursts, or this account's full one).</summary>
    public IReadOnlyList<Digest> Add(OrgEvent evt, AccountInfo? info)
    {
        var closed = MoveWatermark(evt.Time);
        if (!_open.TryGetValue(evt.Account, out var burst))
        {
            burst = Open(evt.Account);
        }
        burst.Add(evt, info, _catalog, _options);
        burst.LastSeenAt = Watermark;
        Schedule(burst);
        return closed;
    }

    /// <summary>
    /// Counts a muted event in its account's burst (or the next one), so the digest can say "12 muted by …".
    /// A muted event is still activity: it moves the stream's clock and keeps its account's open burst alive,
    /// so muting Terraform's tagging calls does not split the apply that made them into several digests.
    /// </summary>
    public IReadOnlyList<Digest> AddMuted(string account, string rule, DateTimeOffset time)
    {
        var closed = MoveWatermark(time);
        var burst = BurstOrPending(account);
        burst.AddMuted(rule);
        if (_open.ContainsKey(account))
        {
            burst.LastSeenAt = Watermark;
            Schedule(burst);
        }
        return closed;
    }

    /// <summary>Counts a dropped redelivery in its account's burst (or the next one).</summary>
    public void AddDuplicate(string account) => BurstOrPending(account).Duplicates++;

    /// <summary>Moves the clock on by <paramref name="elapsed"/> without an event (an idle live stream) and returns what that closes.</summary>
    public IReadOnlyList<Digest> Advance(TimeSpan elapsed) =>
        Watermark == DateTimeOffset.MinValue ? [] : MoveWatermark(Watermark + elapsed);

    /// <summary>Closes every open burst: end of input, host shutdown, or the end of a processing window.</summary>
    public IReadOnlyList<Digest> Flush(BurstCloseReason reason = BurstCloseReason.EndOfInput)
    {
        var all = _open.Values.OrderBy(b => b.OpenedAt).ThenBy(b => b.Account, StringComparer.Ordinal).ToList();
        _open.Clear();
        _deadlines.Clear();
        return [.. all.Select(b => b.ToDigest(reason, _options, Watermark))];
    }

    /// <summary>Closes the oldest open burst early (a host whose state must stay under a size limit); null when none is open.</summary>
    public Digest? CloseOldest(BurstCloseReason reason = BurstCloseReason.WindowEnd)
    {
        var oldest = _open.Values.OrderBy(b => b.OpenedAt).ThenBy(b => b.Account, StringComparer.Ordinal).FirstOrDefault();
        if (oldest is null) return null;
        _open.Remove(oldest.Account);
        return oldest.ToDigest(reason, _options, Watermark);
    }

    /// <summary>Muted and duplicate counts still waiting for a burst of their account (they are in the run's summary regardless).</summary>
    public IReadOnlyCollection<string> AccountsWithPendingCounts => _pending.Keys;

    /// <summary>
    /// The aggregator's whole state (watermark, open bursts, counts waiting for a burst), for a host that must
    /// carry it between invocations (Lambda tumbling windows). The builders are the live ones: encode them
    /// before adding more events.
    /// </summary>
    public BurstAggregatorState Snapshot() => new(
        Watermark,
        [.. _open.Values.OrderBy(b => b.OpenedAt).ThenBy(b => b.Account, StringComparer.Ordinal)],
        [.. _pending.Values.OrderBy(b => b.Account, StringComparer.Ordinal)]);

    /// <summary>Rebuilds a fresh aggregator from a <see cref="Snapshot"/>; deadlines are recomputed from each burst's times.</summary>
    public void Restore(BurstAggregatorState state)
    {
        if (_open.Count > 0 || _pending.Count > 0 || Watermark != DateTimeOffset.MinValue)
            throw new InvalidOperationException("Restore needs a fresh aggregator.");
        Watermark = state.Watermark;
        foreach (var burst in state.Open)
        {
            _open[burst.Account] = burst;
            Schedule(burst);
        }
        foreach (var pending in state.Pending) _pending[pending.Account] = pending;
    }

    private BurstBuilder BurstOrPending(string account)
    {
        if (_open.TryGetValue(account, out var burst)) return burst;
        if (!_pending.TryGetValue(account, out var pending)) _pending[account] = pending = new BurstBuilder(account, Watermark);
        return pending;
    }

    private BurstBuilder Open(string account)
    {
        var burst = new BurstBuilder(account, Watermark);
        if (_pending.Remove(account, out var pending))
        {
            foreach (var (rule, count) in pending.Muted) burst.AddMuted(rule, count);
            burst.Duplicates += pending.Duplicates;
        }
        _open[account] = burst;
        return burst;
    }

    private IReadOnlyList<Digest> MoveWatermark(DateTimeOffset time)
    {
        if (time <= Watermark) return [];
        Watermark = time;
        List<Digest>? closed = null;
        while (_deadlines.TryPeek(out var entry, out var deadline) && deadline <= Watermark)
        {
            _deadlines.Dequeue();
            if (!_open.TryGetValue(entry.Account, out var burst) || burst.Version != entry.Version) continue; // stale entry
            var reason = DueReason(burst);
            if (reason is null) continue;
            _open.Remove(entry.Account);
            (closed ??= []).Add(burst.ToDigest(reason.Value, _options, Watermark));
        }
        return closed ?? (IReadOnlyList<Digest>)[];
    }

    private BurstCloseReason? DueReason(BurstBuilder burst)
    {
        if (Watermark - burst.LastSeenAt > _options.Gap) return BurstCloseReason.QuietGap;
        if (Watermark - burst.OpenedAt >= _options.MaxWindow) return BurstCloseReason.MaxWindow;
        return null;
    }

    private void Schedule(BurstBuilder burst)
    {
        burst.Version++;
        // The gap closes a burst once the watermark is strictly past LastSeenAt + Gap.
        var quietDeadline = burst.LastSeenAt + _options.Gap + TimeSpan.FromTicks(1);
        var maxDeadline = burst.OpenedAt + _options.MaxWindow;
        _deadlines.Enqueue((burst.Account, burst.Version), quietDeadline < maxDeadline ? quietDeadline : maxDeadline);
    }
}

/// <summary>What <see cref="BurstAggregator.Snapshot"/> captures: enough to continue exactly where it stopped.</summary>
public sealed record BurstAggregatorState(DateTimeOffset Watermark, IReadOnlyList<BurstBuilder> Open, IReadOnlyList<BurstBuilder> Pending);
