using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Runtime;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>The sweeper closes the carries of quiet accounts on quiet shards, each once, and leaves alone what a window holds.</summary>
public sealed class CarrySweeperTests
{
    private static readonly DateTimeOffset T0 = Events.T0;
    private readonly FakeTimeProvider _time = new(T0);
    private readonly InMemoryCarryStore _carries = new();
    private readonly RecordingDigestSink _sink = new();
    private readonly InMemoryDigestLedger _ledger;
    private readonly DigestCoreOptions _options = new DigestCoreOptions().WithoutRollups();

    public CarrySweeperTests() => _ledger = new InMemoryDigestLedger(_time, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));

    private CarrySweeper Sweeper() => new(_options, FileAccountDirectory.Empty, _carries, _ledger, _sink, new LambdaLog(TextWriter.Null, _time), _time);

    /// <summary>Leaves a carry as a window's final call would: an open burst of <paramref name="events"/> calls ending at <paramref name="lastMinute"/>.</summary>
    private async Task CarryAsync(string account, double lastMinute, int events = 3, string owner = "shardId-1", DateTimeOffset? leaseUntil = null)
    {
        var core = new DigestCore(_options, FileAccountDirectory.Empty);
        var records = Enumerable.Range(0, events).Select(i => T0.AddMinutes(lastMinute - (events - 1 - i) * 0.25))
            .Select(t => new RawRecord(Events.ApiCall(account: account, time: t).Utf8(), new RecordOrigin("test", 1)) { ArrivalTime = t })
            .ToList();
        await core.ProcessAsync(records, default);
        var carry = Assert.Single(core.TakeAll());
        await _carries.ClaimAsync([account], owner, "t0", T0, leaseUntil ?? T0.AddMinutes(1), default);
        await _carries.ReleaseAsync([new CarryWrite(account, carry, carry.DueAt(_options.Window), T0.AddDays(1))], owner, "t0", default);
    }

    [Fact]
    public async Task Every_due_carry_is_posted_once_and_those_not_due_stay()
    {
        for (int i = 0; i < 5; i++) await CarryAsync($"11111111111{i}", lastMinute: i);
        await CarryAsync("222222222222", lastMinute: 30);
        _time.SetUtcNow(T0.AddMinutes(12)); // accounts 0–4: last call at 0–4 min, due at 7–11 min

        var result = await Sweeper().SweepAsync("s1", flushAll: false, default);

        Assert.Equal((5, 5, 5), (result.Due, result.Swept, result.DigestsPosted));
        Assert.Equal(5, _sink.Posted.Count);
        Assert.All(_sink.Posted, d => Assert.Equal((BurstCloseReason.QuietGap, 3), (d.ClosedBy, d.EventCount)));
        Assert.True(result.Counts.Balanced);
        Assert.Equal(15, result.Counts.CarriedIn);
        Assert.NotNull(_carries.Items["222222222222"]!.Open); // not due: still carried
        Assert.All(_carries.Items.Where(kv => kv.Key != "222222222222"), kv => Assert.Null(kv.Value?.Open));

        var again = await Sweeper().SweepAsync("s2", flushAll: false, default);
        Assert.Equal(0, again.Due);
        Assert.Equal(5, _sink.Posted.Count);
    }

    [Fact]
    public async Task A_carry_a_window_still_holds_is_left_to_the_window_until_its_lease_ends()
    {
        await CarryAsync("111111111111", lastMinute: 0);
        await _carries.ClaimAsync(["111111111111"], "shardId-2", "window-2", T0, T0.AddMinutes(30), default); // a window took it
        _time.SetUtcNow(T0.AddMinutes(20));

        Assert.Equal(0, (await Sweeper().SweepAsync("s1", flushAll: false, default)).Swept);
        Assert.Empty(_sink.Posted);

        _time.SetUtcNow(T0.AddMinutes(31)); // the window's lease ran out (it crashed for good): the sweeper takes over
        Assert.Equal(1, (await Sweeper().SweepAsync("s2", flushAll: false, default)).DigestsPosted);
    }

    [Fact]
    public async Task A_sweep_that_dies_after_posting_is_repeated_without_posting_again()
    {
        await CarryAsync("111111111111", lastMinute: 0);
        _time.SetUtcNow(T0.AddMinutes(10));
        var dying = new CarrySweeper(_options, FileAccountDirectory.Empty, new FailingRelease(_carries), _ledger, _sink, new LambdaLog(TextWriter.Null, _time), _time);
        await Assert.ThrowsAsync<CarryStoreUnavailableException>(() => dying.SweepAsync("s1", flushAll: false, default));
        Assert.Single(_sink.Posted);

        _time.SetUtcNow(T0.AddMinutes(16)); // past the sweeper's own lease on the carry
        var retry = await Sweeper().SweepAsync("s2", flushAll: false, default);

        Assert.Equal((1, 0, 1), (retry.Swept, retry.DigestsPosted, retry.DigestsAlreadyPosted));
        Assert.Single(_sink.Posted);
        Assert.Null(_carries.Items["111111111111"]?.Open);
    }

    [Fact]
    public async Task Flushing_closes_every_carry_as_the_end_of_input()
    {
        await CarryAsync("111111111111", lastMinute: 0);
        await CarryAsync("222222222222", lastMinute: 59);
        _time.SetUtcNow(T0.AddMinutes(60));

        var result = await Sweeper().SweepAsync("end", flushAll: true, default);

        Assert.Equal(2, result.DigestsPosted);
        Assert.Contains(_sink.Posted, d => d.Account == "222222222222" && d.ClosedBy == BurstCloseReason.EndOfInput);
        Assert.DoesNotContain(_carries.Items.Values, c => c?.Open is not null);
    }

    /// <summary>A store whose release fails, as a sweep that dies between posting and writing back would.</summary>
    [Fact]
    public async Task A_sweep_tells_the_host_the_counts_of_each_account_it_wrote_back_and_not_of_one_a_window_took_meanwhile()
    {
        await CarryAsync("111111111111", lastMinute: 0, events: 3);
        await CarryAsync("222222222222", lastMinute: 0, events: 4);
        _time.SetUtcNow(T0.AddMinutes(10));
        var stealing = new StolenOnRelease(_carries, "222222222222", T0.AddHours(1));
        var told = new List<RunSummary>();
        var sweeper = new CarrySweeper(_options, FileAccountDirectory.Empty, stealing, _ledger, _sink, new LambdaLog(TextWriter.Null, _time), _time);

        var result = await sweeper.SweepAsync("s1", flushAll: false, decideRollups: false, default, counts => { told.Add(counts); return Task.CompletedTask; });

        // Only the account written back counts: the window that took the other reads its carry as it was and counts it itself.
        Assert.Equal((1, 1), (result.Swept, result.Conflicts));
        Assert.Equal((3, 3), (result.Counts.CarriedIn, result.Counts.Digested));
        Assert.True(result.Counts.Balanced);
        var counts = Assert.Single(told);
        Assert.Equal((3, 3), (counts.CarriedIn, counts.Digested));
        // Each write carried its counts, for a store that keeps them with the carry (the file store of `pipeline run`).
        Assert.Equal([3, 4], stealing.Writes.Select(w => w.SweptCounts!.Digested).Order());
    }

    /// <summary>Lets a window claim <paramref name="account"/> (its lease run out, at <paramref name="windowNow"/>) just before the sweeper writes it back.</summary>
    private sealed class StolenOnRelease(ICarryStore inner, string account, DateTimeOffset windowNow) : PassThroughCarryStore(inner)
    {
        public List<CarryWrite> Writes { get; } = [];

        public override async Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken)
        {
            Writes.AddRange(writes);
            if (writes.Any(w => w.Account == account))
                await Inner.ClaimAsync([account], "shardId-9", "window-9", windowNow, windowNow.AddMinutes(5), cancellationToken);
            await Inner.ReleaseAsync(writes, owner, token, cancellationToken);
        }
    }

    private sealed class FailingRelease(ICarryStore inner) : PassThroughCarryStore(inner)
    {
        public override Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken) =>
            throw new CarryStoreUnavailableException("release lost");
    }
}
