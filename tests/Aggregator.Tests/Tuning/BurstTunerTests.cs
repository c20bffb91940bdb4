using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Tuning;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;
using static Pipeline.Aggregator.Tests.TestEvents;

namespace Pipeline.Aggregator.Tests.Tuning;

public sealed class BurstTunerTests
{
    // Two bursts 10 minutes apart in one account, each of 3 events one minute apart.
    private static EnrichmentOutcome Accepted(OrgEvent e, AccountInfo? info = null) => new EnrichmentOutcome.Accepted(new RecordOrigin("t", 1), e, info);

    private static readonly List<EnrichmentOutcome> Events = [.. new[] { 0, 1, 2, 12, 13, 14 }.Select(m => Accepted(Minutes(m)))];

    [Fact]
    public void A_longer_gap_gives_fewer_later_digests()
    {
        var tight = BurstTuner.Measure(Events, new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) });
        var loose = BurstTuner.Measure(Events, new BurstWindowOptions { Gap = TimeSpan.FromMinutes(11) });

        Assert.Equal(2, tight.Digests);
        Assert.Equal(TimeSpan.FromMinutes(4), tight.DelayMedian); // first event at 0, last at 2, closes 2 minutes later
        Assert.Equal(3, tight.LargestDigest);

        Assert.Equal(1, loose.Digests);
        Assert.Equal(6, loose.LargestDigest);
        Assert.Equal(TimeSpan.FromMinutes(15), loose.DelayMedian); // max window (15m) ends it before the 11m gap
    }

    [Fact]
    public void Muted_activity_keeps_bursts_open_in_tune_as_in_a_real_run()
    {
        var withMuted = new List<EnrichmentOutcome>(Events);
        for (int m = 3; m < 12; m++) withMuted.Add(new EnrichmentOutcome.Muted(new RecordOrigin("t", 1), "111122223333", global::Pipeline.TestSupport.Events.T0.AddMinutes(m), "noise"));
        withMuted = [.. withMuted.OrderBy(o => o is EnrichmentOutcome.Accepted a ? a.Event.Time : ((EnrichmentOutcome.Muted)o).Time)];
        var result = BurstTuner.Measure(withMuted, new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) });
        Assert.Equal(1, result.Digests); // the muted calls bridge the 10-minute lull
    }

    [Fact]
    public void Peak_rate_is_counted_per_channel_and_minute()
    {
        var routed = new List<EnrichmentOutcome>();
        for (int a = 0; a < 3; a++)
        {
            var account = $"11112222333{a}";
            routed.Add(Accepted(Minutes(0, account), new AccountInfo(account, "a" + a) { SlackChannel = "#sec" }));
        }
        var result = BurstTuner.Measure(routed, new BurstWindowOptions());
        Assert.Equal(3, result.PeakMessagesPerMinutePerChannel);
        Assert.Equal("#sec", result.PeakChannel);
    }
}
