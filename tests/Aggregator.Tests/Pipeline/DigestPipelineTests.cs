using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Pipeline;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;
using static Pipeline.Aggregator.Tests.TestEvents;

namespace Pipeline.Aggregator.Tests.Pipeline;

/// <summary>The Rx operator, run in virtual time: no test here waits on the wall clock.</summary>
public sealed class DigestPipelineTests
{
    private static EnrichmentOutcome Accepted(OrgEvent e) => new EnrichmentOutcome.Accepted(new RecordOrigin("t", 1), e, null);

    [Fact]
    public void Quiet_burst_closes_on_the_idle_clock_in_virtual_time()
    {
        var scheduler = new HistoricalScheduler(Events.T0);
        var input = new Subject<EnrichmentOutcome>();
        var tally = new RunTally();
        var digests = new List<Digest>();
        var aggregator = new BurstAggregator(new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) });
        using var _ = input.ToDigests(aggregator, tally, scheduler, TimeSpan.FromSeconds(30)).Subscribe(digests.Add);

        // Events arrive at their own (virtual) times; then the stream goes quiet.
        scheduler.Schedule(TimeSpan.FromSeconds(0), () => input.OnNext(Accepted(Minutes(0))));
        scheduler.Schedule(TimeSpan.FromSeconds(40), () => input.OnNext(Accepted(Minutes(40 / 60.0))));
        scheduler.AdvanceBy(TimeSpan.FromMinutes(2));
        Assert.Empty(digests); // 80 s of quiet: not yet

        scheduler.AdvanceBy(TimeSpan.FromMinutes(1.5));
        var digest = Assert.Single(digests);
        Assert.Equal(2, digest.EventCount);
        Assert.Equal(BurstCloseReason.QuietGap, digest.ClosedBy);
    }

    [Fact]
    public void Max_window_closes_a_busy_burst_in_virtual_time()
    {
        var scheduler = new HistoricalScheduler(Events.T0);
        var input = new Subject<EnrichmentOutcome>();
        var digests = new List<Digest>();
        var aggregator = new BurstAggregator(new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2), MaxWindow = TimeSpan.FromMinutes(5) });
        using var _ = input.ToDigests(aggregator, new RunTally(), scheduler).Subscribe(digests.Add);

        for (int s = 0; s <= 6 * 60; s += 30)
        {
            var at = s;
            scheduler.Schedule(TimeSpan.FromSeconds(at), () => input.OnNext(Accepted(At(Events.T0.AddSeconds(at)))));
        }
        scheduler.AdvanceBy(TimeSpan.FromMinutes(6));

        var digest = Assert.Single(digests);
        Assert.Equal(BurstCloseReason.MaxWindow, digest.ClosedBy);
        Assert.Equal(10, digest.EventCount); // 0:00 … 4:30; the 5:00 event opened the next burst
    }

    [Fact]
    public async Task Summary_identity_holds_for_every_kind_of_outcome()
    {
        var origin = new RecordOrigin("t", 1);
        var outcomes = new EnrichmentOutcome[]
        {
            Accepted(Minutes(0)),
            new EnrichmentOutcome.Rejected(origin, "not valid JSON"),
            new EnrichmentOutcome.Duplicate(origin, "111122223333", Events.T0),
            new EnrichmentOutcome.Muted(origin, "111122223333", Events.T0, "quiet"),
            Accepted(Minutes(5)),
            Accepted(Minutes(6, account: "444455556666")),
        };
        var tally = new RunTally();
        var digests = await outcomes.ToObservable().ToDigests(new BurstAggregator(new BurstWindowOptions()), tally).ToList();
        var s = tally.Summary();

        Assert.Equal((6L, 1L, 1L, 1L, 3L), (s.Received, s.Rejected, s.Duplicates, s.Muted, s.Digested));
        Assert.True(s.Balanced);
        Assert.Equal(digests.Sum(d => d.EventCount), s.Digested);
        Assert.Equal(3, digests.Count);
    }
}
