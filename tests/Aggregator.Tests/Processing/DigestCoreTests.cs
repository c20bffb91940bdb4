using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Muting;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Processing;

/// <summary>The one processing core, and its Rx adapter run in virtual time: no test here waits on the wall clock.</summary>
public sealed class DigestCoreTests
{
    private static long _index;

    private static RawRecord Record(double minutes, string account = "111122223333", string? eventId = null, string eventName = "CreateTags") =>
        new(Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes), eventId: eventId, eventName: eventName).Utf8(),
            new RecordOrigin("test", Interlocked.Increment(ref _index)));

    private static RawRecord Garbage() => new("not json"u8.ToArray(), new RecordOrigin("test", Interlocked.Increment(ref _index)));

    private static DigestCore NewCore(BurstWindowOptions? window = null, IMuteRules? mutes = null) =>
        new(new DigestCoreOptions { Window = window ?? new BurstWindowOptions() }, FileAccountDirectory.Empty, mutes);

    [Fact]
    public async Task A_redelivered_event_after_a_far_future_one_is_a_duplicate_not_digested_twice()
    {
        // Issue 16: one event dated a year ahead moved the dedupe memory's horizon and it forgot everything before it.
        var core = NewCore();
        RawRecord[] records = [Record(0, eventId: "a"), Record(365 * 24 * 60, account: "444455556666", eventId: "future"), Record(1, eventId: "a")];

        var batch = await core.ProcessAsync(records, default);
        var digests = batch.Digests.Concat(core.Flush()).ToList();
        var s = core.Summary();

        Assert.IsType<EnrichmentOutcome.Duplicate>(batch.Outcomes[2]);
        Assert.Equal((3L, 1L, 2L), (s.Received, s.Duplicates, s.Digested));
        Assert.Equal(1, digests.Single(d => d.Account == "111122223333").EventCount);
    }

    [Fact]
    public async Task Records_parsed_before_an_accounts_carry_is_put_are_deduplicated_against_it()
    {
        // The window handler parses a batch while its accounts' carries are claimed: reading must not decide anything
        // that the carried dedupe memory decides.
        var earlier = NewCore();
        await earlier.ProcessAsync([Record(0, eventId: "a"), Record(0.5, eventId: "b")], default);
        var carry = Assert.Single(earlier.TakeAll());

        var core = NewCore();
        var parsed = core.Parse([Record(1, eventId: "b"), Garbage(), Record(1.5, eventId: "c"), Record(2, eventId: "a")]);
        core.Put(carry);
        var batch = await core.ProcessAsync(parsed, default);
        var s = core.Summary();

        Assert.Equal([typeof(EnrichmentOutcome.Duplicate), typeof(EnrichmentOutcome.Rejected), typeof(EnrichmentOutcome.Accepted), typeof(EnrichmentOutcome.Duplicate)],
            batch.Outcomes.Select(o => o.GetType()));
        Assert.Equal((4L, 1L, 2L), (s.Received, s.Rejected, s.Duplicates));
        Assert.Equal(3, core.Flush().Single().EventCount); // a and b carried in, c
        Assert.True(core.Summary().Balanced);
    }

    [Fact]
    public async Task Every_record_gets_one_outcome_and_the_counts_balance()
    {
        var mutes = MuteRuleSet.Parse("""{"rules":[{"name":"quiet","pattern":{"detail":{"eventName":["DescribeInstances"]}}}]}""", "mutes.json");
        var core = NewCore(mutes: mutes);
        RawRecord[] records =
        [
            Record(0, eventId: "a"), Garbage(), Record(0.5, eventId: "a"), Record(1, eventName: "DescribeInstances"),
            Record(5), Record(6, account: "444455556666"),
        ];

        var batch = await core.ProcessAsync(records, default);
        var flushed = core.Flush();
        var s = core.Summary();

        Assert.Equal(records.Length, batch.Outcomes.Count);
        Assert.Equal(records.Select(r => r.Origin), batch.Outcomes.Select(o => o.Origin)); // input order
        Assert.Equal((6L, 1L, 1L, 1L, 3L), (s.Received, s.Rejected, s.Duplicates, s.Muted, s.Digested));
        Assert.True(s.Balanced);
        Assert.Equal(s.Digested, batch.Digests.Concat(flushed).Sum(d => d.EventCount));
    }

    [Fact]
    public async Task A_snapshot_restored_in_a_fresh_core_continues_exactly_where_it_stopped()
    {
        var records = Enumerable.Range(0, 40).Select(i => Record(i * 0.7, account: i % 3 == 0 ? "444455556666" : "111122223333", eventId: $"e{i % 35}")).ToArray();

        var whole = NewCore();
        var expected = (await whole.ProcessAsync(records, default)).Digests.Concat(whole.Flush()).ToList();

        var first = NewCore();
        var digests = (await first.ProcessAsync(records[..17], default)).Digests.ToList();
        var second = NewCore();
        second.Restore(first.Snapshot());
        digests.AddRange((await second.ProcessAsync(records[17..], default)).Digests);
        digests.AddRange(second.Flush());

        Assert.Equal(Render(expected), Render(digests));
        Assert.Equal(whole.Summary().Received, second.Summary().Received);
        Assert.Equal(whole.Summary().Duplicates, second.Summary().Duplicates); // the dedupe memory came along
        Assert.True(second.Summary().Balanced);
    }

    [Fact]
    public void Quiet_burst_closes_on_the_idle_clock_in_virtual_time()
    {
        var scheduler = new HistoricalScheduler(Events.T0);
        var input = new Subject<RawRecord>();
        var core = NewCore(new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) });
        var digests = new List<Digest>();
        using var _ = input.Through(core, scheduler, TimeSpan.FromSeconds(30)).Subscribe(b => digests.AddRange(b.Digests));

        // Events arrive at their own (virtual) times; then the stream goes quiet.
        scheduler.Schedule(TimeSpan.FromSeconds(0), () => input.OnNext(Record(0)));
        scheduler.Schedule(TimeSpan.FromSeconds(40), () => input.OnNext(Record(40 / 60.0)));
        scheduler.AdvanceBy(TimeSpan.FromMinutes(2));
        Assert.Empty(digests); // 80 s of quiet: not yet

        scheduler.AdvanceBy(TimeSpan.FromMinutes(4));
        Assert.Empty(digests); // the gap has passed, but a late event may still come: the lateness (5m) is not over

        scheduler.AdvanceBy(TimeSpan.FromMinutes(3));
        var digest = Assert.Single(digests); // 40 s + gap 2m + lateness 5m = 7m40s, passed by the idle clock's ticks
        Assert.Equal(2, digest.EventCount);
        Assert.Equal(BurstCloseReason.QuietGap, digest.ClosedBy);
    }

    [Fact]
    public async Task The_adapter_gives_the_digests_of_the_core_driven_directly()
    {
        var records = Enumerable.Range(0, 250).Select(i => Record(i * 0.3, account: $"1111222233{i % 4:D2}")).ToArray();

        var direct = NewCore();
        var expected = (await direct.ProcessAsync(records, default)).Digests.Concat(direct.Flush()).ToList();
        var viaRx = NewCore();
        var batches = await records.ToObservable().Through(viaRx).ToList();

        Assert.Equal(Render(expected), Render(batches.SelectMany(b => b.Digests).ToList()));
        Assert.Equal(records.Length, batches.Sum(b => b.Outcomes.Count));
        Assert.Equal(BurstCloseReason.EndOfInput, batches[^1].Digests[^1].ClosedBy);
    }

    private static string Render(IReadOnlyList<Digest> digests)
    {
        using var stream = new MemoryStream();
        foreach (var d in digests) Aggregator.Rendering.DigestJson.WriteDigest(stream, d);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
