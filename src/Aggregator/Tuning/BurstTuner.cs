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

    /// <summary>Slack messages per hour across the replayed period (hours with none included), for the report's chart.</summary>
    public IReadOnlyList<HourCount> MessagesByHour { get; init; } = [];

    /// <summary>The largest digests, most events first (at most <see cref="BurstTuner.LargestKept"/>).</summary>
    public IReadOnlyList<DigestSize> LargestDigests { get; init; } = [];
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
/// <remarks>
/// The input is read once, as it goes: each slice of it (<see cref="SliceBatches"/> of `digest`'s batches) is parsed,
/// deduplicated, muted and named once, none of which depends on the window, then replayed under every setting at once
/// while the next slice is read. Only two slices are held, and each setting keeps a few numbers per digest
/// (<see cref="TuneFigures"/>), not the digests: until 2026-12-04 every event was kept for the whole run (about 0.85 KB
/// each, 0.84 GB of live heap at 1M events), and every notice until its setting was done.
/// </remarks>
public static class BurstTuner
{
    /// <summary>Slack accepts about one message per second per channel.</summary>
    public const int SlackMessagesPerMinute = 60;

    /// <summary>How many digests <see cref="TuneResult.LargestDigests"/> keeps.</summary>
    public const int LargestKept = 5;

    /// <summary>
    /// `digest`'s batches in a slice the settings replay together: large enough that the settings, each on a core of its
    /// own, seldom wait for each other at the end of a slice; small enough to keep (two slices, about 8 MB of events).
    /// </summary>
    internal const int SliceBatches = 50;

    /// <summary>Runs <paramref name="records"/> through a core with <paramref name="window"/> and measures its digests.</summary>
    public static async Task<TuneResult> MeasureAsync(
        IEnumerable<RawRecord> records, BurstWindowOptions window, IAccountDirectory directory, IMuteRules? mutes,
        CancellationToken cancellationToken, EnricherOptions? enricher = null, string defaultChannel = "default", RollupOptions? rollup = null) =>
        (await MeasureAllAsync(records, directory, mutes, [window], cancellationToken, enricher, defaultChannel, rollup).ConfigureAwait(false))[0];

    /// <summary>
    /// Reads <paramref name="records"/> once and measures every setting of <paramref name="windows"/> on them, up to
    /// <paramref name="parallelism"/> settings at a time (default: one per processor). The results are in the order of
    /// <paramref name="windows"/>. Each setting replays the records in the batches `digest` makes of the same input, and its
    /// roll-up stage decides after each batch as `digest`'s does, so a setting measures what `digest` with it prints.
    /// </summary>
    /// <param name="records">Read once, in order; the source may reuse one buffer for every record (a transient reader).</param>
    /// <param name="directory">Names the accounts, once for all the settings.</param>
    public static Task<IReadOnlyList<TuneResult>> MeasureAllAsync(
        IEnumerable<RawRecord> records, IAccountDirectory directory, IMuteRules? mutes, IReadOnlyList<BurstWindowOptions> windows,
        CancellationToken cancellationToken, EnricherOptions? enricher = null, string defaultChannel = "default", RollupOptions? rollup = null,
        int? parallelism = null) =>
        MeasureAllAsync(records, directory, mutes, windows, cancellationToken, enricher, defaultChannel, rollup, parallelism, SliceBatches, sliceReplayed: null);

    /// <param name="sliceBatches">`digest`'s batches per slice (<see cref="SliceBatches"/>; the tests cut smaller ones).</param>
    /// <param name="sliceReplayed">
    /// Hears each slice's size once every setting has replayed it, one call at a time: how the tests see that the reading
    /// goes along with the replay.
    /// </param>
    internal static async Task<IReadOnlyList<TuneResult>> MeasureAllAsync(
        IEnumerable<RawRecord> records, IAccountDirectory directory, IMuteRules? mutes, IReadOnlyList<BurstWindowOptions> windows,
        CancellationToken cancellationToken, EnricherOptions? enricher, string defaultChannel, RollupOptions? rollup, int? parallelism,
        int sliceBatches, Action<int>? sliceReplayed)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceBatches, 1);
        rollup ??= new RollupOptions();
        // Parses, deduplicates, mutes and names, once for every setting: nothing of it depends on the window.
        var reader = new DigestCore(new DigestCoreOptions { Enricher = enricher ?? new() }, directory, mutes);
        int batchSize = reader.Options.Enricher.NamingBatchSize;
        var settings = windows.Select(w => new SettingReplay(w, rollup, defaultChannel, batchSize)).ToArray();
        // Stops the replays too when the reading fails: the error goes up once they let go of their slice, not a slice later.
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism ?? Environment.ProcessorCount, CancellationToken = failed.Token };

        // Two slices: one filled while the settings replay the other.
        var filling = new Slice(batchSize * sliceBatches);
        var full = new Slice(batchSize * sliceBatches);
        var replaying = Task.CompletedTask;
        var classified = new List<ClassifiedRecord>(batchSize);
        try
        {
            // Whole batches of `digest`'s size (all but the input's last are full), so a slice cut into batches again
            // gives the batches `digest` makes.
            foreach (var batch in ParseAhead.Batches(records, reader))
            {
                cancellationToken.ThrowIfCancellationRequested();
                classified.Clear();
                foreach (var record in batch) classified.Add(reader.Classify(record));
                var named = await reader.NameAsync(classified, cancellationToken).ConfigureAwait(false);
                for (int i = 0; i < named.Count; i++) filling.Add(classified[i] with { Outcome = named[i] });
                if (!filling.IsFull) continue;
                await replaying.ConfigureAwait(false); // the slice replayed before is free again
                (filling, full) = (full, filling);
                filling.Clear();
                replaying = ReplayAsync(full);
            }
            await replaying.ConfigureAwait(false);
            if (filling.Count > 0) await ReplayAsync(filling).ConfigureAwait(false);
        }
        catch
        {
            // The reading failed or was stopped: the settings stop at their next batch and let go of the slice they replay
            // before the error goes up (the first error: one of a replay cut short by it would say nothing more).
            await failed.CancelAsync().ConfigureAwait(false);
            await replaying.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }
        return [.. settings.Select(s => s.Finish())];

        async Task ReplayAsync(Slice slice)
        {
            await Parallel.ForEachAsync(settings, options, (setting, ct) => setting.ReplayAsync(slice, ct)).ConfigureAwait(false);
            sliceReplayed?.Invoke(slice.Count);
        }
    }

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

    /// <summary>The figures of one setting's digests.</summary>
    public static TuneResult Measure(BurstWindowOptions window, IReadOnlyList<Digest> digests, string defaultChannel = "default")
    {
        ArgumentNullException.ThrowIfNull(digests);
        var figures = new TuneFigures(window, defaultChannel);
        foreach (var digest in digests) figures.AddDigest(digest);
        return figures.Result();
    }

    /// <summary>A slice of the input, classified and named: an array filled from its start, and read by every setting at once.</summary>
    internal sealed class Slice(int capacity)
    {
        public ClassifiedRecord[] Records { get; } = new ClassifiedRecord[capacity];
        public int Count { get; private set; }
        public bool IsFull => Count == Records.Length;

        public void Add(ClassifiedRecord record)
        {
            // Filled with whole batches of `digest`'s size (ParseAhead's, all but the input's last full): never past its end.
            if (IsFull) throw new InvalidOperationException($"a slice of {Records.Length} records was filled past its end: the batches it is made of were not whole");
            Records[Count++] = record;
        }

        /// <summary>Empties the slice; the events go with it.</summary>
        public void Clear()
        {
            Array.Clear(Records, 0, Count);
            Count = 0;
        }
    }
}

/// <summary>
/// One setting's replay: a core that only windows (the events come deduplicated, muted and named), the roll-up stage as a
/// host runs it, and the figures of what comes out. Fed the input slice by slice, in order; one thread at a time.
/// </summary>
internal sealed class SettingReplay(BurstWindowOptions window, RollupOptions rollup, string defaultChannel, int batchSize)
{
    // No directory: the events carry their names already, and the core asks for none (an empty directory is in memory).
    private readonly DigestCore _core = new(new DigestCoreOptions { Window = window, Rollup = rollup }, FileAccountDirectory.Empty);
    private readonly RollupStage _stage = new(rollup, window);
    private readonly TuneFigures _figures = new(window, defaultChannel);

    /// <summary>
    /// Replays a slice in `digest`'s batches: the roll-up stage hears each batch as it does there. (Fed as one batch, the
    /// stage saw every digest before deciding any, and on a sparse input rolled up changes that `digest` posts apart.)
    /// Between two batches the cancellation is looked at.
    /// </summary>
    public async ValueTask ReplayAsync(BurstTuner.Slice slice, CancellationToken cancellationToken)
    {
        for (int start = 0; start < slice.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, slice.Count - start);
            var batch = await _core.ProcessAsync(new ArraySegment<ClassifiedRecord>(slice.Records, start, count), cancellationToken).ConfigureAwait(false);
            _figures.AddAll(_stage.Next(batch, _core.Clock));
        }
    }

    /// <summary>The input ended: the open bursts close, what is held is decided, and the figures are made.</summary>
    public TuneResult Finish()
    {
        var flushed = _core.Flush();
        // As `digest`'s end (DigestCoreObservable): the alerts and the silence notices the end of the input raised, then
        // the digests it closed, then everything held.
        _figures.AddAll(_stage.Next(new CoreBatch([], flushed) { Alerts = _core.TakeAlerts(), Silences = _core.TakeSilences() }, _core.Clock));
        _figures.AddAll(_stage.Finish());
        var summary = _core.Summary();
        return _figures.Result() with
        {
            Counts = summary,
            Messages = _stage.Messages,
            Rollups = _stage.Rollups,
            Alerts = summary.Alerts,
        };
    }
}
