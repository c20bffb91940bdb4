using Amazon.DynamoDBv2;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Accounts;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>
/// The window handler across windows, retries and a reshard, with its carries in DynamoDB (dynalite on loopback):
/// a burst closes by its own rules whatever the windows, and every digest is posted once.
/// </summary>
public sealed class WindowsAcrossCarriesOnDynaliteTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = Events.T0;
    private readonly AmazonDynamoDBClient _client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly RecordingDigestSink _sink = new();

    public void Dispose() => _client.Dispose();

    private static System.Text.Json.Nodes.JsonObject Call(string account, double minutes, string id) =>
        Events.ApiCall(account: account, time: T0.AddMinutes(minutes), eventId: id);

    private static KinesisWindowEvent Window(string shard, double startMinute, IEnumerable<System.Text.Json.Nodes.JsonObject> calls, bool final = false,
        IReadOnlyDictionary<string, string>? state = null)
    {
        var batch = new KinesisBatch { Window = T0.AddMinutes(startMinute), Final = final, State = state }.AddAll(calls);
        return batch.ToEvent() with { ShardId = shard };
    }

    [SkippableFact]
    public async Task A_burst_crosses_window_ends_a_retried_final_call_and_a_reshard_and_is_posted_once_whole()
    {
        var table = await DynamoDbCarryStoreTests.CreateTableAsync(_client);
        var carries = new DynamoDbCarryStore(_client, table);
        var ledger = new InMemoryDigestLedger(_time, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));
        var options = new KinesisWindowHandlerOptions().WithoutRollups();
        var handler = new KinesisWindowHandler(options, FileAccountDirectory.Empty, ledger, carries, _sink, new LambdaLog(TextWriter.Null, _time), _time);

        // Window 0–15m on the parent shard: A deploys from 12m on (and goes on into the next windows); B calls once at 14m.
        var parent = "shardId-000000000000";
        var w1 = await handler.HandleAsync(Window(parent, 0, [Call("111111111111", 12, "a1"), Call("111111111111", 13.5, "a2"), Call("222222222222", 14, "b1")]), default);
        Assert.Empty(w1.BatchItemFailures);
        // Its final call brings C, an account whose carry another shard left (claimed in this very call), and is retried:
        // the first attempt's answer is lost after it wrote the carries back.
        var other = new KinesisWindowHandler(options, FileAccountDirectory.Empty, ledger, carries, _sink, new LambdaLog(TextWriter.Null, _time), _time);
        var elsewhere = await other.HandleAsync(Window("shardId-000000000009", 0, [Call("333333333333", 14.5, "c1")]), default);
        await other.HandleAsync(Window("shardId-000000000009", 0, [], final: true, state: elsewhere.State), default);
        var final = Window(parent, 0, [Call("333333333333", 14.8, "c2")], final: true, state: w1.State);
        Assert.Empty((await handler.HandleAsync(final, default)).BatchItemFailures);
        Assert.Empty((await handler.HandleAsync(final, default)).BatchItemFailures); // Lambda's retry of the same call
        Assert.Empty(_sink.Posted); // nothing cut at the window's end

        // The shard splits; the child gets A and C, and the next window runs there (Lambda starts it with no state).
        var child = "shardId-000000000001";
        var w2 = await handler.HandleAsync(Window(child, 15, [Call("111111111111", 15.2, "a3"), Call("333333333333", 15.2, "c3"), Call("111111111111", 12, "a1")]), default);
        Assert.Empty(w2.BatchItemFailures);
        await handler.HandleAsync(Window(child, 15, [Call("111111111111", 16, "a4")], final: true, state: w2.State), default);

        // No record reaches any shard any more: the sweeper closes the quiet bursts by the wall clock.
        _time.SetUtcNow(T0.AddMinutes(30));
        var sweep = await new CarrySweeper(options.Core, FileAccountDirectory.Empty, carries, ledger, _sink, new LambdaLog(TextWriter.Null, _time), _time)
            .SweepAsync("s1", flushAll: false, default);
        Assert.Equal(0, sweep.Conflicts);

        var byAccount = _sink.Posted.GroupBy(d => d.Account).ToDictionary(g => g.Key, g => g.ToList());
        var a = Assert.Single(byAccount["111111111111"]);
        Assert.Equal((4, 1, BurstCloseReason.QuietGap), (a.EventCount, a.Duplicates, a.ClosedBy)); // a1 came twice
        Assert.Equal((T0.AddMinutes(12), T0.AddMinutes(16)), (a.FirstEventTime, a.LastEventTime));
        Assert.Equal(1, Assert.Single(byAccount["222222222222"]).EventCount);
        // c1 from the other shard, c2 from the retried call, c3 on the child; the retry read C's carry as its first attempt
        // had claimed it (c1 alone), so c2 is not met a second time as a duplicate.
        var c = Assert.Single(byAccount["333333333333"]);
        Assert.Equal((3, 0), (c.EventCount, c.Duplicates));
        Assert.Equal(_sink.Posted.Count, _sink.Posted.Select(d => d.DigestId).Distinct().Count());
    }
}
