using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Tuning;

/// <summary>What one burst-window setting would have produced on the input.</summary>
internal sealed record TuneResult(
    BurstWindowOptions Window,
    int Digests,
    double DigestsPerHourMean,
    int DigestsPeakHour,
    TimeSpan DelayMedian,
    TimeSpan DelayP95,
    int LargestDigest,
    int PeakMessagesPerMinutePerChannel,
    string? PeakChannel);

/// <summary>
/// Replays the same accepted events under several burst windows and measures what a team would feel:
/// how many messages, how late after the first event, how big, and how close to Slack's one message per
/// second per channel. Pure: the events carry their own clock.
/// </summary>
internal static class BurstTuner
{
    /// <summary>Slack accepts about one message per second per channel.</summary>
    public const int SlackMessagesPerMinute = 60;

    /// <param name="outcomes">The Enricher's outcomes, in order (muted ones too: they keep bursts open as in a real run).</param>
    public static TuneResult Measure(IReadOnlyList<EnrichmentOutcome> outcomes, BurstWindowOptions window, string defaultChannel = "default")
    {
        var aggregator = new BurstAggregator(window);
        var digests = new List<Digest>();
        foreach (var outcome in outcomes) digests.AddRange(aggregator.Feed(outcome));
        digests.AddRange(aggregator.Flush());
        if (digests.Count == 0)
            return new TuneResult(window, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, 0, 0, null);

        var delays = digests.Select(d => d.ClosedAt - d.FirstEventTime).Order().ToList();
        var byHour = digests.GroupBy(d => Truncate(d.ClosedAt, TimeSpan.FromHours(1))).Select(g => g.Count()).ToList();
        var first = digests.Min(d => d.FirstEventTime);
        var last = digests.Max(d => d.ClosedAt);
        double hours = Math.Max(1, Math.Ceiling((last - first).TotalHours));
        var peak = digests
            .GroupBy(d => (Channel: d.AccountInfo?.SlackChannel ?? defaultChannel, Minute: Truncate(d.ClosedAt, TimeSpan.FromMinutes(1))))
            .Select(g => (g.Key.Channel, Count: g.Count()))
            .OrderByDescending(x => x.Count).ThenBy(x => x.Channel, StringComparer.Ordinal)
            .First();

        return new TuneResult(
            window,
            digests.Count,
            digests.Count / hours,
            byHour.Max(),
            Percentile(delays, 0.50),
            Percentile(delays, 0.95),
            digests.Max(d => d.EventCount),
            peak.Count,
            peak.Channel);
    }

    private static TimeSpan Percentile(List<TimeSpan> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static DateTimeOffset Truncate(DateTimeOffset t, TimeSpan unit) => new(t.UtcTicks - t.UtcTicks % unit.Ticks, TimeSpan.Zero);
}
