using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Tuning;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Muting;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Tuning;

public sealed class BurstTunerTests
{
    private static RawRecord Record(double minutes, string account = "111122223333", string eventName = "CreateTags") =>
        new(Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes), eventName: eventName).Utf8(), new RecordOrigin("t", 1));

    // Two bursts 10 minutes apart in one account, each of 3 events one minute apart.
    private static readonly RawRecord[] TwoBursts = [.. new[] { 0, 1, 2, 12, 13, 14 }.Select(m => Record(m))];

    // The bursts here come from one role: roll-ups (on by default) would hold their digests for a decision. These tests
    // are about the burst window, so roll-ups are off unless a test says otherwise.
    private static Task<TuneResult> Measure(IReadOnlyList<RawRecord> records, BurstWindowOptions window, IAccountDirectory? directory = null, IMuteRules? mutes = null,
        Pipeline.Aggregator.Rollups.RollupOptions? rollup = null) =>
        BurstTuner.MeasureAsync(records, window, directory ?? FileAccountDirectory.Empty, mutes, default, rollup: rollup ?? new() { MinAccounts = 0 });

    [Fact]
    public async Task A_digest_waiting_for_a_roll_up_decision_counts_its_wait_in_the_delay()
    {
        var window = new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) };
        var rollup = new Pipeline.Aggregator.Rollups.RollupOptions();
        var held = await Measure(TwoBursts, window, rollup: rollup);

        // The role's share may be the same change in other accounts: its digest waits a roll-up window more.
        Assert.Equal(TimeSpan.FromMinutes(9) + rollup.Window, held.DelayMedian);
        Assert.Equal(2, held.Messages); // in one account, no roll-up: each digest is posted
        Assert.Equal(0, held.Rollups);
    }

    [Fact]
    public async Task A_longer_gap_gives_fewer_later_digests()
    {
        var tight = await Measure(TwoBursts, new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) });
        var loose = await Measure(TwoBursts, new BurstWindowOptions { Gap = TimeSpan.FromMinutes(11) });

        Assert.Equal(2, tight.Digests);
        Assert.Equal(TimeSpan.FromMinutes(9), tight.DelayMedian); // first event at 0, last at 2, closes 2 minutes later plus the 5m lateness
        Assert.Equal(3, tight.LargestDigest);

        Assert.Equal(1, loose.Digests);
        Assert.Equal(6, loose.LargestDigest);
        Assert.Equal(TimeSpan.FromMinutes(20), loose.DelayMedian); // max window (15m) ends it before the 11m gap, plus the lateness
    }

    [Fact]
    public async Task Muted_activity_keeps_bursts_open_in_tune_as_in_a_real_run()
    {
        var mutes = MuteRuleSet.Parse("""{"rules":[{"name":"noise","pattern":{"detail":{"eventName":["DescribeTags"]}}}]}""", "mutes.json");
        var records = new[] { 0, 1, 2, 12, 13, 14 }.Select(m => (Minute: (double)m, Name: "CreateTags"))
            .Concat(Enumerable.Range(3, 9).Select(m => (Minute: (double)m, Name: "DescribeTags")))
            .OrderBy(r => r.Minute)
            .Select(r => Record(r.Minute, eventName: r.Name))
            .ToArray();

        var result = await Measure(records, new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) }, mutes: mutes);

        Assert.Equal(1, result.Digests); // the muted calls bridge the 10-minute lull
        Assert.Equal(9, result.Counts!.Muted);
    }

    [Fact]
    public async Task Peak_rate_is_counted_per_channel_and_minute()
    {
        var accounts = Enumerable.Range(0, 3).Select(a => $"11112222333{a}").ToArray();
        var directory = new FileAccountDirectory(accounts.Select((id, a) => new AccountInfo(id, "a" + a) { SlackChannel = "#sec" }));

        var result = await Measure([.. accounts.Select(id => Record(0, id))], new BurstWindowOptions(), directory);

        Assert.Equal(3, result.PeakMessagesPerMinutePerChannel);
        Assert.Equal("#sec", result.PeakChannel);
    }

    /// <summary>Several accounts with names, bursts at different paces, a redelivery, muted calls and a line that is not JSON.</summary>
    private static List<RawRecord> Organisation(int calls = 600)
    {
        var records = new List<RawRecord>();
        for (int i = 0; i < calls; i++)
        {
            var account = $"1111222233{i % 5:D2}";
            double minute = i * 0.4 + (i % 5) * 0.07 + (i / 90) * 20; // a long lull every 90 events
            var name = i % 11 == 0 ? "DescribeTags" : i % 3 == 0 ? "RunInstances" : "CreateTags";
            records.Add(new(Events.ApiCall(account: account, time: Events.T0.AddMinutes(minute), eventName: name, eventId: $"e{i}").Utf8(), new RecordOrigin("t", i + 1)));
            if (i % 97 == 5) records.Add(records[^1]); // delivered twice
            if (i == 300) records.Add(new("{not json"u8.ToArray(), new RecordOrigin("t", 10_000)));
        }
        return records;
    }

    private static readonly FileAccountDirectory Named = new(
        Enumerable.Range(0, 5).Select(i => new AccountInfo($"1111222233{i:D2}", $"team-{i}")));

    private static readonly BurstWindowOptions[] Settings =
    [
        .. new[] { 0.5, 1, 2, 5, 10 }.Select(gap => new BurstWindowOptions { Gap = TimeSpan.FromMinutes(gap), MaxWindow = TimeSpan.FromMinutes(15) }),
        new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2), MaxWindow = TimeSpan.FromMinutes(15), Lateness = TimeSpan.Zero },
    ];

    [Theory]
    [InlineData(BurstTuner.SliceBatches)] // the input in one slice
    [InlineData(1)]                       // a slice per `digest` batch: seven of them, the settings replaying one while the next is read
    public async Task Settings_replayed_at_once_as_the_input_is_read_measure_what_each_core_makes_on_its_own(int sliceBatches)
    {
        var mutes = MuteRuleSet.Parse("""{"rules":[{"name":"noise","pattern":{"detail":{"eventName":["DescribeTags"]}}}]}""", "mutes.json");
        var records = Organisation();
        var rollup = new Pipeline.Aggregator.Rollups.RollupOptions { MinAccounts = 0 };

        var together = await BurstTuner.MeasureAllAsync(records, Named, mutes, Settings, default, null, "default", rollup, parallelism: 4, sliceBatches, sliceReplayed: null);

        Assert.Equal(Settings, together.Select(r => r.Window)); // in the order asked, whatever order they finished in
        for (int i = 0; i < Settings.Length; i++)
        {
            // The reference: a core of its own doing everything itself, from the records, with the directory and the mute rules.
            var core = new DigestCore(new DigestCoreOptions { Window = Settings[i], Rollup = rollup }, Named, mutes);
            var batch = await core.ProcessAsync(records, default);
            var digests = batch.Digests.Concat(core.Flush()).ToList();
            var expected = core.Summary();
            var got = together[i];

            Assert.Equal(digests.Count, got.Digests);
            Assert.Equal(digests.Max(d => d.EventCount), got.LargestDigest);
            Assert.Equal(BurstTuner.Measure(Settings[i], digests).DelayP95, got.DelayP95);
            Assert.Equal(expected with { MutedByRule = [], RejectedByReason = [] }, got.Counts! with { MutedByRule = [], RejectedByReason = [] });
            Assert.Equal(records.Count, got.Counts.Received);
            Assert.True(got.Counts is { Rejected: 1, Duplicates: > 0, Muted: > 0 }, got.Counts.ToString());
            // Named once, while reading: the settings' cores have no directory.
            Assert.All(got.LargestDigests, d => Assert.Equal($"team-{d.Account[^1]}", d.AccountName));
        }
        Assert.True(together.Select(r => r.Digests).Distinct().Count() > 1, "the settings should not all agree");
    }

    [Fact]
    public async Task Settings_replayed_at_once_with_roll_ups_measure_what_they_measure_one_after_the_other_and_in_one_slice()
    {
        // Roll-ups on (the default), so the planners and the digests' sums run side by side on the shared events.
        var mutes = MuteRuleSet.Parse("""{"rules":[{"name":"noise","pattern":{"detail":{"eventName":["DescribeTags"]}}}]}""", "mutes.json");

        var together = await BurstTuner.MeasureAllAsync(Organisation(), Named, mutes, Settings, default, null, "default", null, parallelism: 4, sliceBatches: 1, sliceReplayed: null);
        var oneByOne = await BurstTuner.MeasureAllAsync(Organisation(), Named, mutes, Settings, default, parallelism: 1);

        Assert.Equal(oneByOne.Select(Figures), together.Select(Figures));
        Assert.True(together.Sum(r => r.Rollups) > 0, "no roll-ups: the planners were not exercised");
    }

    private static string Figures(TuneResult r) =>
        $"{r.Window} {r.Digests} {r.Messages} {r.Rollups} {r.Alerts} {r.DelayMedian} {r.DelayP95} {r.LargestDigest} {r.PeakMessagesPerMinutePerChannel} " +
        string.Join(",", r.MessagesByHour.Select(h => $"{h.Hour:O}={h.Messages}")) + " " + string.Join(",", r.LargestDigests);

    [Fact]
    public async Task The_settings_replay_each_slice_while_the_next_is_read_never_after_the_whole_input()
    {
        var source = new PulledRecords(Organisation(calls: 2_000));
        var pulledWhenReplayed = new List<int>();

        await BurstTuner.MeasureAllAsync(source, Named, null, Settings, default, null, "default", null, parallelism: 2, sliceBatches: 1,
            sliceReplayed: _ => pulledWhenReplayed.Add(source.Pulled));

        Assert.Equal(2_022, source.Count); // 21 redeliveries and a line that is not JSON
        Assert.Equal(21, pulledWhenReplayed.Count); // twenty slices of 100, and one of 22
        // Each slice was replayed while most of the input was still unread: the reading is at most the slice being filled
        // and the parsing's batches (the one in hand, ParseAhead.Depth waiting, the one being read) ahead of the replay.
        int ahead = 100 * (1 + 1 + ParseAhead.Depth + 1);
        for (int slice = 0; slice < pulledWhenReplayed.Count; slice++)
            Assert.InRange(pulledWhenReplayed[slice], Math.Min(100 * (slice + 1), source.Count), 100 * (slice + 1) + ahead);
        Assert.Equal(source.Count, pulledWhenReplayed[^1]);
    }

    [Fact]
    public async Task A_cancelled_tune_stops_with_the_cancellation()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BurstTuner.MeasureAllAsync(Organisation(), Named, null, Settings, cancelled.Token));
    }

    [Fact]
    public async Task A_tune_cancelled_while_it_reads_stops_there_and_reads_no_further()
    {
        var records = Organisation(calls: 2_000);
        using var cancelled = new CancellationTokenSource();
        // Ctrl-C once the second slice is being read.
        var source = new PulledRecords(records, onPulled: n => { if (n == 150) cancelled.Cancel(); });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => BurstTuner.MeasureAllAsync(source, Named, null, Settings, cancelled.Token, null, "default", null, parallelism: 2, sliceBatches: 1, sliceReplayed: null));

        // The batch being classified (records 101–200) stops the run; the reading task may have read the batches that wait
        // (ParseAhead.Depth) and the one it was filling, no more.
        Assert.InRange(source.Pulled, 150, 100 * (2 + ParseAhead.Depth + 1));
        Assert.True(records.Count > source.Pulled + 1_000, "the input is too short to show where the reading stopped");
    }

    [Fact]
    public async Task A_read_error_stops_the_replays_and_comes_out_once_they_let_go_of_their_slice()
    {
        var error = new IOException("disk gone");
        var source = new PulledRecords(Organisation(calls: 2_000), onPulled: n => { if (n == 450) throw error; });
        int replayed = 0;

        var thrown = await Assert.ThrowsAsync<IOException>(
            () => BurstTuner.MeasureAllAsync(source, Named, null, Settings, default, null, "default", null, parallelism: 2, sliceBatches: 1,
                sliceReplayed: _ => Interlocked.Increment(ref replayed)));

        Assert.Same(error, thrown);
        int atError = Volatile.Read(ref replayed);
        Assert.InRange(atError, 0, 4); // at most the slices read before the error
        // Nothing replays after the error came out: the replay in flight was stopped and waited for.
        await Task.Delay(300);
        Assert.Equal(atError, Volatile.Read(ref replayed));
    }

    /// <summary>Records handed out one at a time, counting how many were asked for.</summary>
    private sealed class PulledRecords(IReadOnlyList<RawRecord> records, Action<int>? onPulled = null) : IEnumerable<RawRecord>
    {
        private int _pulled;

        public int Pulled => Volatile.Read(ref _pulled);

        public int Count => records.Count;

        public IEnumerator<RawRecord> GetEnumerator()
        {
            foreach (var record in records)
            {
                int n = Interlocked.Increment(ref _pulled);
                onPulled?.Invoke(n);
                yield return record;
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
