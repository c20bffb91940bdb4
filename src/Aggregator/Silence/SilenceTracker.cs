using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Silence;

/// <summary>
/// The silence check, pure and deterministic: fed every accepted event (account, region, the time it counts at), it
/// remembers per account-region the last event time and how many events came, and reports an account-region once when
/// it has been quiet for longer than <see cref="SilenceOptions.After"/> behind the organisation's <see cref="Watermark"/>
/// (the newest event time of any account), and once more when its events come back.
/// </summary>
/// <remarks>
/// The clock is the organisation's own events, never a wall clock: when the whole organisation goes quiet (a
/// weekend, an outage upstream of every account, the end of a file) the watermark stands still and nothing is
/// reported. Account-regions that never sent are never reported. The rule is <see cref="IsSilent"/>, which the
/// Lambda's sweeper applies to the same data kept in the carry table, so a replay and the function agree.
/// </remarks>
public sealed class SilenceTracker
{
    private sealed class Entry(AccountInfo? info, DateTimeOffset first)
    {
        public AccountInfo? Info = info;
        public readonly DateTimeOffset First = first;
        public DateTimeOffset Last = first;
        public long Count;
        /// <summary>The last event time the reported silence began at; null when not silent.</summary>
        public DateTimeOffset? SilentSince;
    }

    private readonly SilenceOptions _options;
    private readonly Dictionary<(string Account, string Region), Entry> _entries = [];
    // The entry Observe met last, with its key's strings (entries are never removed, so it stays the one for them).
    private string? _lastAccount;
    private string? _lastRegion;
    private Entry? _lastEntry;
    // The earliest time the watermark must pass before any entry can be silent: Check skips its scan until then.
    private DateTimeOffset _nextDue = DateTimeOffset.MinValue;

    public SilenceTracker(SilenceOptions options)
    {
        options.Validate();
        if (!options.Enabled) throw new ArgumentException("the silence check is off (SilenceAfter 0): make no tracker.", nameof(options));
        _options = options;
    }

    /// <summary>The organisation's progress: the newest time any account's event counted at.</summary>
    public DateTimeOffset Watermark { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>Account-regions seen so far.</summary>
    public int Tracked => _entries.Count;

    /// <summary>Account-regions reported silent and not back yet.</summary>
    public int SilentNow => _entries.Values.Count(e => e.SilentSince is not null);

    /// <summary>
    /// The rule every host applies: an established sender (its events span at least <paramref name="after"/>, so one
    /// burst in a region used once a week is not one) quiet for longer than <paramref name="after"/> behind the
    /// organisation's watermark.
    /// </summary>
    public static bool IsSilent(DateTimeOffset first, DateTimeOffset last, DateTimeOffset watermark, TimeSpan after) =>
        last - first >= after && watermark - last > after;

    private bool Established(Entry e) => e.Last - e.First >= _options.After;

    /// <summary>
    /// One event of <paramref name="account"/> in <paramref name="region"/>, counted at <paramref name="time"/> (its own
    /// time, or its arrival when its clock is ahead: what its burst counts it at). Returns the notice that it is back when it had been reported silent and this
    /// event is newer than the silence's start.
    /// </summary>
    public SilenceNotice? Observe(string account, AccountInfo? info, string region, DateTimeOffset time)
    {
        if (time > Watermark) Watermark = time;
        Entry? entry;
        // Events come in runs of one account and region, mostly the same strings: the last entry answers them without
        // hashing two strings per event (the lookup was a tenth of the aggregation's time in the benchmark's profile,
        // whose replicated events change region more often than a real burst does, so it gains less there).
        if (ReferenceEquals(account, _lastAccount) && ReferenceEquals(region, _lastRegion))
        {
            entry = _lastEntry!;
        }
        else
        {
            var key = (account, region);
            if (!_entries.TryGetValue(key, out entry)) _entries[key] = entry = new Entry(info, time);
            (_lastAccount, _lastRegion, _lastEntry) = (account, region, entry);
        }
        entry.Count++;
        if (info is not null) entry.Info = info;
        SilenceNotice? back = null;
        if (entry.SilentSince is { } since && time > since)
        {
            back = Notice(SilenceState.Back, account, region, entry, since, time);
            entry.SilentSince = null;
        }
        if (time > entry.Last) entry.Last = time;
        // Once established, it can fall silent from its last event on: the next check must not skip it.
        if (entry.SilentSince is null && Established(entry) && (_nextDue == DateTimeOffset.MinValue || entry.Last + _options.After < _nextDue))
            _nextDue = entry.Last + _options.After;
        return back;
    }

    /// <summary>The account-regions that fell silent since the last check, each reported once, ordered by account and region.</summary>
    public IReadOnlyList<SilenceNotice> Check()
    {
        if (_entries.Count == 0 || _nextDue == DateTimeOffset.MinValue || Watermark <= _nextDue) return [];
        List<SilenceNotice>? silent = null;
        var next = DateTimeOffset.MaxValue;
        foreach (var ((account, region), entry) in _entries)
        {
            if (entry.SilentSince is not null || !Established(entry)) continue;
            if (IsSilent(entry.First, entry.Last, Watermark, _options.After))
            {
                entry.SilentSince = entry.Last;
                (silent ??= []).Add(Notice(SilenceState.Silent, account, region, entry, entry.Last, Watermark));
            }
            else if (entry.Last + _options.After < next)
            {
                next = entry.Last + _options.After;
            }
        }
        _nextDue = next;
        if (silent is null) return [];
        silent.Sort((a, b) => a.Account != b.Account ? string.CompareOrdinal(a.Account, b.Account) : string.CompareOrdinal(a.Region, b.Region));
        return silent;
    }

    private static SilenceNotice Notice(SilenceState state, string account, string region, Entry entry, DateTimeOffset last, DateTimeOffset observedAt) => new()
    {
        State = state,
        Account = account,
        AccountInfo = entry.Info,
        Region = region,
        LastEventTime = last,
        EventCount = entry.Count,
        ObservedAt = observedAt,
    };
}
