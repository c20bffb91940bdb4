using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
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

    /// <summary>Slack messages per hour across the replayed period (hours with none included), for the report's chart.</summary>
    public IReadOnlyList<HourCount> MessagesByHour { get; init; } = [];

    /// <summary>The largest digests, most events first (at most <see cref="BurstTuner.LargestKept"/>).</summary>
    public IReadOnlyList<DigestSize> LargestDigests { get; init; } = [];
}

/// <summary>
/// A tune's input, read once (<see cref="BurstTuner.PrepareAsync"/>): every record's outcome (rejected, duplicate, muted,
/// or the event, named), the same whatever the burst window. Read-only: any number of settings may replay it at once.
/// </summary>
public sealed class TuneInput
{
    internal TuneInput(ClassifiedRecord[] records, int batchSize)
    {
        Records = records;
        BatchSize = batchSize;
    }

    internal ClassifiedRecord[] Records { get; }

    /// <summary>The records of one batch of `digest` reading the same input (<see cref="EnricherOptions.NamingBatchSize"/>).</summary>
    internal int BatchSize { get; }

    /// <summary>Records read.</summary>
    public int Count => Records.Length;
}

/// <summary>How many Slack messages went out in the hour starting at <see cref="Hour"/>.</summary>
public sealed record HourCount(DateTimeOffset Hour, int Messages);

/// <summary>One digest's size: whose, how many events, from when.</summary>
public sealed record DigestSize(string Account, string? AccountName, int Events, DateTimeOffset FirstEventTime);

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
        var input = await PrepareAsync(records, directory, mutes, cancellationToken, enricher).ConfigureAwait(false);
        return await MeasureAsync(input, window, cancellationToken, defaultChannel, rollup).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads <paramref name="records"/> once for every setting to come: parsed (a batch ahead, on a task of its own: see
    /// <see cref="ParseAhead"/>), deduplicated, muted and named by the core, none of which depends on the burst window.
    /// The result holds the events, not the records' bytes, so the source may reuse one buffer (a transient reader).
    /// </summary>
    public static async Task<TuneInput> PrepareAsync(
        IEnumerable<RawRecord> records, IAccountDirectory directory, IMuteRules? mutes, CancellationToken cancellationToken, EnricherOptions? enricher = null)
    {
        var core = new DigestCore(new DigestCoreOptions { Enricher = enricher ?? new() }, directory, mutes);
        var prepared = new List<ClassifiedRecord>();
        var classified = new List<ClassifiedRecord>();
        foreach (var batch in ParseAhead.Batches(records, core))
        {
            cancellationToken.ThrowIfCancellationRequested();
            classified.Clear();
            foreach (var record in batch) classified.Add(core.Classify(record));
            var named = await core.NameAsync(classified, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < named.Count; i++) prepared.Add(classified[i] with { Outcome = named[i] });
        }
        return new TuneInput([.. prepared], core.Options.Enricher.NamingBatchSize);
    }

    /// <summary>
    /// <see cref="MeasureAsync(TuneInput, BurstWindowOptions, CancellationToken, string, RollupOptions?)"/> for every setting,
    /// up to <paramref name="parallelism"/> at a time (default: one per processor), each on a core of its own. The results
    /// are in the order of <paramref name="windows"/>; <paramref name="finished"/> hears how many are done, and
    /// <paramref name="replayed"/> how many records all the settings have replayed so far (a setting replays every record
    /// once), each one call at a time.
    /// </summary>
    public static async Task<IReadOnlyList<TuneResult>> MeasureAllAsync(
        TuneInput input, IReadOnlyList<BurstWindowOptions> windows, CancellationToken cancellationToken,
        string defaultChannel = "default", RollupOptions? rollup = null, Action<int>? finished = null, int? parallelism = null,
        Action<long>? replayed = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(windows);
        var results = new TuneResult[windows.Count];
        int done = 0;
        long records = 0;
        var gate = new Lock();
        Action<int>? batchDone = replayed is null ? null : n => { lock (gate) replayed(records += n); };
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism ?? Environment.ProcessorCount, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, windows.Count), options, async (i, ct) =>
        {
            results[i] = await MeasureAsync(input, windows[i], ct, defaultChannel, rollup, batchDone).ConfigureAwait(false);
            lock (gate) finished?.Invoke(++done);
        }).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Replays a prepared input through a core with <paramref name="window"/> and measures its digests. The core only
    /// windows: the events were deduplicated, muted and named once, by <see cref="PrepareAsync"/>, so several settings
    /// may run at once over the same input.
    /// </summary>
    /// <remarks>
    /// The records go in the batches `digest` makes of the same input (<see cref="TuneInput.BatchSize"/>), and the roll-up
    /// stage hears each batch as it does there, so a setting measures what `digest` with it prints. As one batch, they let
    /// the stage see every digest before deciding any: on a sparse input (a batch spanning more of the events' time than
    /// the roll-up window) it then rolled up changes that `digest`, and the function, post apart. Between two batches the
    /// cancellation is looked at (a setting over 10M events could not be stopped for tens of seconds) and progress is told.
    /// </remarks>
    public static Task<TuneResult> MeasureAsync(
        TuneInput input, BurstWindowOptions window, CancellationToken cancellationToken, string defaultChannel = "default", RollupOptions? rollup = null) =>
        MeasureAsync(input, window, cancellationToken, defaultChannel, rollup, batchDone: null);

    /// <param name="batchDone">Hears the size of each batch of records replayed.</param>
    internal static async Task<TuneResult> MeasureAsync(
        TuneInput input, BurstWindowOptions window, CancellationToken cancellationToken, string defaultChannel, RollupOptions? rollup,
        Action<int>? batchDone)
    {
        ArgumentNullException.ThrowIfNull(input);
        int size = input.BatchSize;
        rollup ??= new RollupOptions();
        // No directory: the events carry their names already, and the core asks for none (an empty directory is in memory).
        var core = new DigestCore(new DigestCoreOptions { Window = window, Rollup = rollup }, FileAccountDirectory.Empty);
        var stage = new RollupStage(rollup, window);
        // The digests as the stage releases them: a digest held for a roll-up decision says until when.
        var notices = new List<Notice>();
        var records = input.Records;
        for (int start = 0; start < records.Length; start += size)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(size, records.Length - start);
            var batch = await core.ProcessAsync(new ArraySegment<ClassifiedRecord>(records, start, count), cancellationToken).ConfigureAwait(false);
            notices.AddRange(stage.Next(batch, core.Clock));
            batchDone?.Invoke(count);
        }
        var flushed = core.Flush();
        notices.AddRange(stage.Next(core.TakeAlerts(), flushed, core.Clock));
        notices.AddRange(stage.Finish());
        var digests = notices.OfType<Digest>().ToList();
        var summary = core.Summary();
        return Measure(window, digests, defaultChannel) with
        {
            Counts = summary,
            Messages = stage.Messages,
            Rollups = stage.Rollups,
            Alerts = summary.Alerts,
            MessagesByHour = ByHour(notices),
        };
    }

    /// <summary>How many digests <see cref="TuneResult.LargestDigests"/> keeps.</summary>
    public const int LargestKept = 5;

    /// <summary>
    /// The setting to suggest: of those that stay within Slack's rate and post a burst's message within
    /// <paramref name="maxDelay"/> at the 95th percentile, the one with the fewest Slack messages (then the shortest
    /// delay); when none keeps that delay, the one with the shortest. Null when there is nothing to compare.
    /// </summary>
    public static TuneResult? Suggest(IReadOnlyList<TuneResult> results, TimeSpan maxDelay)
    {
        var withinRate = results.Where(r => r.PeakMessagesPerMinutePerChannel <= SlackMessagesPerMinute).ToList();
        var pool = withinRate.Count > 0 ? withinRate : results.ToList();
        var timely = pool.Where(r => r.DelayP95 <= maxDelay).ToList();
        return timely.Count > 0
            ? timely.OrderBy(r => r.Messages).ThenBy(r => r.DelayP95).ThenBy(r => r.DelayMedian).First()
            : pool.OrderBy(r => r.DelayP95).ThenBy(r => r.Messages).FirstOrDefault();
    }

    /// <summary>The posted messages by the hour they go out; every hour from the first to the last, empty ones too.</summary>
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

    /// <summary>When a notice goes out: a digest when it closed (or later, held for a roll-up decision); the others when made.</summary>
    private static DateTimeOffset? PostedAt(Notice notice) => notice switch
    {
        Digest d => d.HeldUntil ?? d.ClosedAt,
        Alerts.Alert a => a.RaisedAt,
        Rollup r => r.ClosedAt,
        Silence.SilenceNotice s => s.ObservedAt,
        _ => null,
    };

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
            LargestDigests = digests.OrderByDescending(d => d.EventCount).ThenBy(d => d.FirstEventTime).Take(LargestKept)
                .Select(d => new DigestSize(d.Account, d.AccountName, d.EventCount, d.FirstEventTime)).ToList(),
        };
    }

    private static TimeSpan Percentile(List<TimeSpan> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static DateTimeOffset Truncate(DateTimeOffset t, TimeSpan unit) => new(t.UtcTicks - t.UtcTicks % unit.Ticks, TimeSpan.Zero);
}
