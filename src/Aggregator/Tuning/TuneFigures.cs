using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;

namespace Pipeline.Aggregator.Tuning;

/// <summary>
/// The figures of one setting (<see cref="TuneResult"/>), added up notice by notice as the replay makes them: a few numbers
/// per digest (its delay kept, for the percentiles; its hour and its channel's minute counted), never the digest itself,
/// so a long replay keeps no notice alive. They are what <c>Measure</c> and <c>ByHour</c> worked out with LINQ over every
/// notice, kept until 2026-12-04 (<c>TuneFiguresTests</c> compares the two).
/// </summary>
internal sealed class TuneFigures(BurstWindowOptions window, string defaultChannel)
{
    private readonly List<TimeSpan> _delays = [];
    private readonly Dictionary<long, int> _digestsByHour = [];
    private readonly Dictionary<(string Channel, long Minute), int> _digestsByChannelMinute = [];
    private readonly Dictionary<long, int> _messagesByHour = [];
    // The largest digests, most events first, then the earliest; of equal ones the first made (as a stable sort keeps them).
    private readonly List<DigestSize> _largest = [];
    private DateTimeOffset _firstEvent = DateTimeOffset.MaxValue;
    private DateTimeOffset _lastClose = DateTimeOffset.MinValue;
    private int _late;
    private int _skewed;

    public void AddAll(IReadOnlyList<Notice> notices)
    {
        for (int i = 0; i < notices.Count; i++) Add(notices[i]);
    }

    /// <summary>A notice the setting makes: a message in its hour when it is posted, and a digest's figures.</summary>
    private void Add(Notice notice)
    {
        if (notice.Posted && PostedAt(notice) is { } posted)
        {
            long hour = Truncate(posted, TimeSpan.FromHours(1));
            _messagesByHour[hour] = _messagesByHour.GetValueOrDefault(hour) + 1;
        }
        if (notice is Digest digest) AddDigest(digest);
    }

    /// <summary>A digest, posted or not (one a roll-up fully explains still closed a burst).</summary>
    public void AddDigest(Digest d)
    {
        // From a burst's first event to its message: when it closed, or later when it waited for a roll-up decision.
        _delays.Add(PostedAt(d) - d.FirstEventTime);
        long hour = Truncate(d.ClosedAt, TimeSpan.FromHours(1));
        _digestsByHour[hour] = _digestsByHour.GetValueOrDefault(hour) + 1;
        var minute = (d.AccountInfo?.SlackChannel ?? defaultChannel, Truncate(d.ClosedAt, TimeSpan.FromMinutes(1)));
        _digestsByChannelMinute[minute] = _digestsByChannelMinute.GetValueOrDefault(minute) + 1;
        if (d.FirstEventTime < _firstEvent) _firstEvent = d.FirstEventTime;
        if (d.ClosedAt > _lastClose) _lastClose = d.ClosedAt;
        _late = checked(_late + d.LateCount);
        _skewed = checked(_skewed + d.SkewedCount);
        KeepIfLargest(new DigestSize(d.Account, d.AccountName, d.EventCount, d.FirstEventTime));
    }

    private void KeepIfLargest(DigestSize size)
    {
        int at = _largest.Count;
        while (at > 0 && Before(size, _largest[at - 1])) at--;
        if (at >= BurstTuner.LargestKept) return;
        _largest.Insert(at, size);
        if (_largest.Count > BurstTuner.LargestKept) _largest.RemoveAt(_largest.Count - 1);

        static bool Before(DigestSize a, DigestSize b) => a.Events > b.Events || (a.Events == b.Events && a.FirstEventTime < b.FirstEventTime);
    }

    public TuneResult Result()
    {
        var byHour = MessagesByHour();
        if (_delays.Count == 0)
            return new TuneResult(window, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, 0, 0, null) { MessagesByHour = byHour };

        _delays.Sort();
        double hours = Math.Max(1, Math.Ceiling((_lastClose - _firstEvent).TotalHours));
        // The busiest channel-minute; of equal counts, the channel first by name.
        var peak = (Channel: "", Count: 0);
        foreach (var ((channel, _), count) in _digestsByChannelMinute)
            if (count > peak.Count || (count == peak.Count && string.CompareOrdinal(channel, peak.Channel) < 0)) peak = (channel, count);

        return new TuneResult(
            window,
            _delays.Count,
            _delays.Count / hours,
            _digestsByHour.Values.Max(),
            Percentile(_delays, 0.50),
            Percentile(_delays, 0.95),
            _largest[0].Events, // the largest kept first
            peak.Count,
            peak.Channel)
        {
            LateEvents = _late,
            SkewedEvents = _skewed,
            LargestDigests = [.. _largest],
            MessagesByHour = byHour,
        };
    }

    /// <summary>The posted messages by the hour they go out; every hour from the first to the last, empty ones too.</summary>
    private List<HourCount> MessagesByHour()
    {
        if (_messagesByHour.Count == 0) return [];
        var hours = new List<HourCount>();
        long last = _messagesByHour.Keys.Max();
        for (long hour = _messagesByHour.Keys.Min(); hour <= last; hour += TimeSpan.TicksPerHour)
            hours.Add(new HourCount(new DateTimeOffset(hour, TimeSpan.Zero), _messagesByHour.GetValueOrDefault(hour)));
        return hours;
    }

    /// <summary>When a notice goes out: a digest when it closed (or later, held for a roll-up decision); the others when made.</summary>
    private static DateTimeOffset? PostedAt(Notice notice) => notice switch
    {
        Digest d => PostedAt(d),
        Alert a => a.RaisedAt,
        Rollup r => r.ClosedAt,
        SilenceNotice s => s.ObservedAt,
        _ => null,
    };

    private static DateTimeOffset PostedAt(Digest d) => d.HeldUntil ?? d.ClosedAt;

    private static TimeSpan Percentile(List<TimeSpan> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>The start of <paramref name="t"/>'s hour (or minute…), in UTC ticks.</summary>
    private static long Truncate(DateTimeOffset t, TimeSpan unit) => t.UtcTicks - t.UtcTicks % unit.Ticks;
}
