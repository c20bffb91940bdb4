using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rollups;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Tuning;

/// <summary>What one burst-window setting would have produced on the input.</summary>
public sealed record TuneResult(
    BurstWindowOptions Window,
    int Digests,
    double DigestsPerHourMean,
    int DigestsPeakHour,
    TimeSpan DelayMedian,
    TimeSpan DelayP95,
    int LargestDigest,
    int PeakMessagesPerMinutePerChannel,
    string? PeakChannel)
{
    /// <summary>The run's counts under this setting (the same for every setting but for how many digests).</summary>
    public RunSummary? Counts { get; init; }

    /// <summary>Events that arrived later than the lateness allows: they keep their own time, but their burst may have closed before they came.</summary>
    public int LateEvents { get; init; }

    /// <summary>Events dated more than the lateness ahead of the stream (windowed at arrival, flagged).</summary>
    public int SkewedEvents { get; init; }

    /// <summary>Slack messages the setting posts: alerts, roll-ups and the digests no roll-up fully explains.</summary>
    public long Messages { get; init; }

    /// <summary>Roll-ups among the messages (the same change in many accounts, posted once).</summary>
    public long Rollups { get; init; }

    /// <summary>Immediate alerts among the messages.</summary>
    public long Alerts { get; init; }
}

/// <summary>
/// Replays the same records under several burst windows and measures what a team would feel: how many
/// messages, how late after the first event, how big, and how close to Slack's one message per second per
/// channel. Each setting runs the records through the processing core, as every host does; the events carry
/// their own clock.
/// </summary>
public static class BurstTuner
{
    /// <summary>Slack accepts about one message per second per channel.</summary>
    public const int SlackMessagesPerMinute = 60;

    /// <summary>Runs <paramref name="records"/> through a core with <paramref name="window"/> and measures its digests.</summary>
    public static async Task<TuneResult> MeasureAsync(
        IReadOnlyList<RawRecord> records, BurstWindowOptions window, IAccountDirectory directory, IMuteRules? mutes,
        CancellationToken cancellationToken, EnricherOptions? enricher = null, string defaultChannel = "default", RollupOptions? rollup = null)
    {
        rollup ??= new RollupOptions();
        var core = new DigestCore(new DigestCoreOptions { Window = window, Enricher = enricher ?? new(), Rollup = rollup }, directory, mutes);
        var stage = new RollupStage(rollup, window);
        var batch = await core.ProcessAsync(records, cancellationToken).ConfigureAwait(false);
        // The digests as the stage releases them: a digest held for a roll-up decision says until when.
        var digests = new List<Digest>();
        digests.AddRange(stage.Next(batch, core.Clock).OfType<Digest>());
        var flushed = core.Flush();
        digests.AddRange(stage.Next(core.TakeAlerts(), flushed, core.Clock).OfType<Digest>());
        digests.AddRange(stage.Finish().OfType<Digest>());
        var summary = core.Summary();
        return Measure(window, digests, defaultChannel) with
        {
            Counts = summary,
            Messages = stage.Messages,
            Rollups = stage.Rollups,
            Alerts = summary.Alerts,
        };
    }

    /// <summary>The figures of one setting's digests.</summary>
    public static TuneResult Measure(BurstWindowOptions window, IReadOnlyList<Digest> digests, string defaultChannel = "default")
    {
        if (digests.Count == 0)
            return new TuneResult(window, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, 0, 0, null);

        // From a burst's first event to its message: when it closed, or later when it waited for a roll-up decision.
        var delays = digests.Select(d => (d.HeldUntil ?? d.ClosedAt) - d.FirstEventTime).Order().ToList();
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
            peak.Channel)
        {
            LateEvents = digests.Sum(d => d.LateCount),
            SkewedEvents = digests.Sum(d => d.SkewedCount),
        };
    }

    private static TimeSpan Percentile(List<TimeSpan> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static DateTimeOffset Truncate(DateTimeOffset t, TimeSpan unit) => new(t.UtcTicks - t.UtcTicks % unit.Ticks, TimeSpan.Zero);
}
