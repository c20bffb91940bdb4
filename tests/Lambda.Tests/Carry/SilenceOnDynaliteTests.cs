using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>
/// The silence check on the deployed path, with the carry table and the ledger in DynamoDB (dynalite on loopback): an
/// account whose shard goes quiet is noticed by the sweeper, over what the other shards' windows wrote, reported once,
/// reported back once, and the replay of the same events through the file path's core reports the same notices.
/// </summary>
public sealed class SilenceOnDynaliteTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = Events.T0;
    private const string ShardX = "shardId-000000000000";
    private const string ShardY = "shardId-000000000001";
    private const string Busy = "111111111111";   // shard X: sends all along, in two regions
    private const string Blinded = "222222222222"; // shard Y: its only account; stops after 70 minutes, back at 3h
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly AmazonDynamoDBClient _client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly RecordingDigestSink _sink = new();
    private readonly StringWriter _logText = new();

    public void Dispose() => _client.Dispose();

    private static readonly DigestCoreOptions Core = new() { Silence = new SilenceOptions { After = TimeSpan.FromHours(1) } };

    private sealed record Deployment(KinesisWindowHandler Handler, CarrySweeper Sweeper, DynamoDbSilenceStore Silence);

    private async Task<Deployment> DeployAsync()
    {
        var table = await DynamoDbCarryStoreTests.CreateTableAsync(_client);
        var carries = new DynamoDbCarryStore(_client, table);
        var silence = new DynamoDbSilenceStore(_client, table);
        var ledger = new DynamoDbDigestLedger(_client, await DynamoDbDigestLedgerTests.CreateTableAsync(_client), _time, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));
        var log = new LambdaLog(_logText, _time);
        var options = new KinesisWindowHandlerOptions { Core = Core };
        return new Deployment(
            new KinesisWindowHandler(options, FileAccountDirectory.Empty, ledger, carries, _sink, log, _time, silence: silence),
            new CarrySweeper(options.Core, FileAccountDirectory.Empty, carries, ledger, _sink, log, _time, silence: silence),
            silence);
    }

    /// <summary>Four hours, an event every 5 minutes: the busy account in us-east-1 and eu-west-1; the blinded one in us-east-1 until 1:10 and from 3:00.</summary>
    private static List<JsonObject> Day()
    {
        var calls = new List<JsonObject>();
        for (int m = 0; m < 240; m += 5)
        {
            var t = T0.AddMinutes(m);
            calls.Add(Events.ApiCall(account: Busy, time: t, region: "us-east-1", eventId: $"b-{m}", envelopeId: $"env-b-{m}"));
            calls.Add(Events.ApiCall(account: Busy, time: t.AddSeconds(30), region: "eu-west-1", eventId: $"be-{m}", envelopeId: $"env-be-{m}"));
            if (m <= 70 || m >= 180) calls.Add(Events.ApiCall(account: Blinded, time: t.AddSeconds(10), region: "us-east-1", eventId: $"q-{m}", envelopeId: $"env-q-{m}"));
        }
        return calls;
    }

    private static string ShardOf(JsonObject call) => call["account"]!.GetValue<string>() == Busy ? ShardX : ShardY;

    private static DateTimeOffset TimeOf(JsonObject call) => DateTimeOffset.Parse(call["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Every 15-minute window of each shard that has records (a quiet shard gets no window at all), then a sweep a
    /// minute after the window's end; <paramref name="retryFinal"/> runs each final call twice (a retried call).
    /// </summary>
    private static async Task RunDayAsync(Deployment d, FakeTimeProvider time, List<JsonObject> calls, bool retryFinal = false, double fromHours = 0, double toHours = 4)
    {
        for (var start = T0.AddHours(fromHours); start < T0.AddHours(toHours); start += Window)
        {
            foreach (var shard in new[] { ShardX, ShardY })
            {
                var mine = calls.Where(c => ShardOf(c) == shard && TimeOf(c) >= start && TimeOf(c) < start + Window).ToList();
                if (mine.Count == 0) continue;
                var batch = await d.Handler.HandleAsync(new KinesisBatch { Window = start, Final = false }.AddAll(mine).ToEvent() with { ShardId = shard }, default);
                Assert.Empty(batch.BatchItemFailures);
                var final = new KinesisBatch { Window = start, Final = true, State = batch.State }.ToEvent() with { ShardId = shard };
                Assert.Empty((await d.Handler.HandleAsync(final, default)).BatchItemFailures);
                if (retryFinal) Assert.Empty((await d.Handler.HandleAsync(final, default)).BatchItemFailures);
            }
            time.SetUtcNow(start + Window + TimeSpan.FromMinutes(1));
            await d.Sweeper.SweepAsync("sweep-" + start.ToUnixTimeSeconds(), flushAll: false, default);
        }
    }

    private List<SilenceNotice> Silences => [.. _sink.Notices.OfType<SilenceNotice>()];

    [SkippableFact]
    public async Task The_sweeper_reports_an_account_whose_shard_went_quiet_once_and_once_more_when_it_is_back()
    {
        var d = await DeployAsync();
        await RunDayAsync(d, _time, Day(), retryFinal: true);

        Assert.Equal([SilenceState.Silent, SilenceState.Back], Silences.Select(s => s.State));
        Assert.All(Silences, s => Assert.Equal((Blinded, "us-east-1", T0.AddMinutes(70).AddSeconds(10)), (s.Account, s.Region, s.LastEventTime)));
        Assert.Equal(T0.AddMinutes(180).AddSeconds(10), Silences[1].ObservedAt); // the first event after the silence
        Assert.Equal(15, Silences[0].EventCount); // 0:00 … 1:10, counted once although every final call ran twice

        var seen = await d.Silence.ListAsync(default);
        Assert.Equal(3, seen.Count); // the busy account's two regions and the blinded one's: never reported
        Assert.All(seen, s => Assert.Null(s.SilentSince));
        Assert.Equal(48, seen.Single(s => s.Account == Busy && s.Region == "eu-west-1").Count);

        // Later sweeps with nothing new post nothing again.
        _time.SetUtcNow(T0.AddHours(5));
        var again = await d.Sweeper.SweepAsync("late", flushAll: false, default);
        Assert.Equal((0, 0), (again.SilentAccountRegions, again.Silence!.Back));
        Assert.Equal(2, Silences.Count);
    }

    [SkippableFact]
    public async Task The_replay_of_the_same_events_reports_the_same_silence_notices()
    {
        var calls = Day();
        var d = await DeployAsync();
        await RunDayAsync(d, _time, calls);

        // The file host's way: one core over the records in arrival order, checked after each batch (a window's worth).
        var core = new DigestCore(Core, FileAccountDirectory.Empty);
        var replay = new List<SilenceNotice>();
        foreach (var group in calls.OrderBy(TimeOf).Select((c, i) => new RawRecord(c.Utf8(), new RecordOrigin("file", i)) { ArrivalTime = TimeOf(c) })
                     .GroupBy(r => (r.ArrivalTime!.Value - T0).Ticks / Window.Ticks))
            replay.AddRange((await core.ProcessAsync([.. group], default)).Silences);

        Assert.NotEmpty(replay);
        Assert.Equal(
            replay.Select(n => (n.NoticeId, n.State, n.Account, n.Region, n.LastEventTime, Back: n.State == SilenceState.Back ? n.ObservedAt : default)),
            Silences.Select(n => (n.NoticeId, n.State, n.Account, n.Region, n.LastEventTime, Back: n.State == SilenceState.Back ? n.ObservedAt : default)));
    }

    [SkippableFact]
    public async Task A_sweep_that_died_after_marking_a_silence_posts_it_on_the_next_sweep_once()
    {
        var d = await DeployAsync();
        var calls = Day().Where(c => TimeOf(c) < T0.AddHours(2)).ToList();
        await RunDayAsync(d, _time, calls.Where(c => TimeOf(c) < T0.AddMinutes(60)).ToList(), toHours: 1);
        Assert.Empty(Silences);

        // Two more hours of the busy account only; a sweep marked the silence and died before posting it.
        var last = (await d.Silence.ListAsync(default)).Single(s => s.Account == Blinded).Last;
        Assert.True(await d.Silence.MarkSilentAsync(Blinded, "us-east-1", last, default));
        Assert.False(await d.Silence.MarkSilentAsync(Blinded, "us-east-1", last, default)); // marked once
        await RunDayAsync(d, _time, calls.Where(c => TimeOf(c) >= T0.AddMinutes(60) && ShardOf(c) == ShardX).ToList(), fromHours: 1, toHours: 2);

        var silent = Assert.Single(Silences);
        Assert.Equal((SilenceState.Silent, last), (silent.State, silent.LastEventTime));
        Assert.True((await d.Silence.ListAsync(default)).Single(s => s.Account == Blinded).SilencePosted);
    }

    [SkippableFact]
    public async Task Nothing_is_reported_when_every_shard_goes_quiet_together()
    {
        var d = await DeployAsync();
        await RunDayAsync(d, _time, [.. Day().Where(c => TimeOf(c) < T0.AddMinutes(30))], toHours: 0.5);
        // Hours of wall-clock time pass with no record anywhere: the watermark does not move.
        for (int h = 1; h <= 12; h++)
        {
            _time.SetUtcNow(T0.AddHours(h));
            var sweep = await d.Sweeper.SweepAsync("quiet-" + h, flushAll: false, default);
            Assert.Equal(0, sweep.SilentAccountRegions);
        }
        Assert.Empty(Silences);
    }
}
