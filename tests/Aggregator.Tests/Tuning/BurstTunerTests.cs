using Pipeline.Aggregator.Bursts;
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
}
