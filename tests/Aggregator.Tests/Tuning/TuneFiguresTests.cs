using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Tuning;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Tuning;

/// <summary>
/// A setting's figures, added up notice by notice, against the reference: what `tune` worked out with LINQ over every
/// notice it had kept, until 2026-12-04 (copied here as it was).
/// </summary>
public sealed class TuneFiguresTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);
    private static readonly BurstWindowOptions Window = new();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Figures_added_up_notice_by_notice_are_those_of_every_notice_kept(int seed)
    {
        var notices = Notices(new Random(seed));
        var figures = new TuneFigures(Window, "default");
        figures.AddAll(notices);

        var digests = notices.OfType<Digest>().ToList();
        Assert.Equal(Describe(Reference(digests, notices)), Describe(figures.Result()));
        Assert.Equal(Describe(Reference(digests, notices) with { MessagesByHour = [] }), Describe(BurstTuner.Measure(Window, digests)));
    }

    [Fact]
    public void With_no_digest_the_alerts_still_make_messages_by_the_hour()
    {
        var alerts = new List<Notice> { Alert(T0), Alert(T0.AddHours(3)) };
        var figures = new TuneFigures(Window, "default");
        figures.AddAll(alerts);

        var result = figures.Result();
        Assert.Equal(0, result.Digests);
        Assert.Equal(Describe(Reference([], alerts)), Describe(result));
        Assert.Equal([1, 0, 0, 1], result.MessagesByHour.Select(h => h.Messages));
    }

    /// <summary>
    /// Digests and alerts over two days with a quiet night between, some digests a roll-up fully explained (not posted),
    /// some held for a decision; and ties where an order must be kept: on size and first time among the largest five, and
    /// on the busiest channel-minute.
    /// </summary>
    private static List<Notice> Notices(Random random)
    {
        string?[] channels = [null, "#a", "#b"];
        var notices = new List<Notice>();
        for (int i = 0; i < 400; i++)
        {
            var first = T0.AddMinutes(random.Next(0, 12) * 5 + (i < 200 ? 0 : 24 * 60) + random.Next(0, 600));
            var closed = first.AddMinutes(random.Next(2, 30));
            notices.Add(Digest(i, $"11112222333{random.Next(0, 6)}", channels[random.Next(channels.Length)], first, closed, random.Next(1, 9), random));
            if (random.Next(10) == 0) notices.Add(Alert(closed.AddMinutes(-3)));
        }
        // Seven of the largest, alike in size and first time: the five kept are the first five made, in that order.
        var busy = T0.AddHours(5).AddMinutes(random.Next(0, 60));
        for (int i = 0; i < 7; i++)
            notices.Insert(random.Next(notices.Count), Digest(1_000 + i, $"99998888777{6 - i}", null, busy, busy.AddMinutes(9), 50, random));
        // The busiest channel-minute, twice: #b's before #a's, and #a is the one named.
        var rush = T0.AddHours(60).AddSeconds(10); // after every other digest
        foreach (var channel in new[] { "#b", "#a" })
            for (int i = 0; i < 12; i++) notices.Add(Digest(2_000 + notices.Count, "111122223339", channel, rush.AddMinutes(-5), rush, 1, random));
        return notices;
    }

    private static Digest Digest(int id, string account, string? channel, DateTimeOffset first, DateTimeOffset closed, int events, Random random) =>
        Digests.Plain($"d{id}", account, first, closed, events) with
        {
            AccountInfo = channel is null && random.Next(2) == 0 ? null : new AccountInfo(account, $"team-{account[^1]}") { SlackChannel = channel },
            HeldUntil = random.Next(3) == 0 ? closed.AddMinutes(random.Next(0, 10)) : null,
            FoldedEventCount = random.Next(5) == 0 ? events : 0,
            LateCount = random.Next(0, 3),
            SkewedCount = random.Next(0, 2),
        };

    private static Alert Alert(DateTimeOffset at) => new()
    {
        AlertId = $"alert-{at.UtcTicks}",
        Account = "111122223333",
        AccountInfo = null,
        Event = new RiskyEvent("StopLogging", null, at, "logging stopped", RiskSeverity.Critical, null, null, null, "eu-west-1"),
        DigestId = "d",
        RaisedAt = at,
    };

    private static string Describe(TuneResult r) =>
        $"{r.Window} {r.Digests} {r.DigestsPerHourMean} {r.DigestsPeakHour} {r.DelayMedian} {r.DelayP95} {r.LargestDigest} " +
        $"{r.PeakMessagesPerMinutePerChannel} {r.PeakChannel} late {r.LateEvents} skewed {r.SkewedEvents}\n" +
        string.Join(",", r.MessagesByHour.Select(h => $"{h.Hour:O}={h.Messages}")) + "\n" + string.Join("\n", r.LargestDigests);

    // ---- the reference: BurstTuner.Measure and ByHour as they were at 0b7134f ----

    private static TuneResult Reference(List<Digest> digests, List<Notice> notices) =>
        Measure(digests) with
        {
            MessagesByHour = ByHour(notices),
        };

    private static TuneResult Measure(IReadOnlyList<Digest> digests)
    {
        if (digests.Count == 0)
            return new TuneResult(Window, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, 0, 0, null);
        var delays = digests.Select(d => (d.HeldUntil ?? d.ClosedAt) - d.FirstEventTime).Order().ToList();
        var byHour = digests.GroupBy(d => Truncate(d.ClosedAt, TimeSpan.FromHours(1))).Select(g => g.Count()).ToList();
        var first = digests.Min(d => d.FirstEventTime);
        var last = digests.Max(d => d.ClosedAt);
        double hours = Math.Max(1, Math.Ceiling((last - first).TotalHours));
        var peak = digests
            .GroupBy(d => (Channel: d.AccountInfo?.SlackChannel ?? "default", Minute: Truncate(d.ClosedAt, TimeSpan.FromMinutes(1))))
            .Select(g => (g.Key.Channel, Count: g.Count()))
            .OrderByDescending(x => x.Count).ThenBy(x => x.Channel, StringComparer.Ordinal)
            .First();
        return new TuneResult(Window, digests.Count, digests.Count / hours, byHour.Max(), Percentile(delays, 0.50), Percentile(delays, 0.95),
            digests.Max(d => d.EventCount), peak.Count, peak.Channel)
        {
            LateEvents = digests.Sum(d => d.LateCount),
            SkewedEvents = digests.Sum(d => d.SkewedCount),
            LargestDigests = digests.OrderByDescending(d => d.EventCount).ThenBy(d => d.FirstEventTime).Take(BurstTuner.LargestKept)
                .Select(d => new DigestSize(d.Account, d.AccountName, d.EventCount, d.FirstEventTime)).ToList(),
        };
    }

    private static List<HourCount> ByHour(List<Notice> notices)
    {
        var times = notices.Where(n => n.Posted).Select(PostedAt).OfType<DateTimeOffset>().Select(t => Truncate(t, TimeSpan.FromHours(1))).ToList();
        if (times.Count == 0) return [];
        var counts = times.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var hours = new List<HourCount>();
        for (var hour = counts.Keys.Min(); hour <= counts.Keys.Max(); hour = hour.AddHours(1))
            hours.Add(new HourCount(hour, counts.GetValueOrDefault(hour)));
        return hours;
    }

    private static DateTimeOffset? PostedAt(Notice notice) => notice switch
    {
        Digest d => d.HeldUntil ?? d.ClosedAt,
        Alert a => a.RaisedAt,
        _ => null,
    };

    private static TimeSpan Percentile(List<TimeSpan> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static DateTimeOffset Truncate(DateTimeOffset t, TimeSpan unit) => new(t.UtcTicks - t.UtcTicks % unit.Ticks, TimeSpan.Zero);
}
