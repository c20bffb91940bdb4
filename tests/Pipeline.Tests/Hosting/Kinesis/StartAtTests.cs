using Pipeline.Aggregator.Processing;
using Pipeline.Cli.Commands;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Enricher.Accounts;
using Pipeline.Kinesis;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>
/// Where the local event source mapping starts a shard (`run --start-at`), on kinesalite: LATEST is taken once, not every
/// round; a reshard's children start at their oldest record, as Lambda starts them; a checkpoint of another stream is
/// recognised by what Kinesis says about it, and only by that.
/// </summary>
public sealed class StartAtTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>, IDisposable
{
    private const string Shard0 = "shardId-000000000000";
    private readonly string _dir = Directory.CreateTempSubdirectory("start-at-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private FileCheckpointStore Store() => new(Path.Combine(_dir, "cp.json"));

    private EventSourceMapping Mapping(KinesisClient client, string stream, ShardPosition? startAt, bool untilIdle, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var carries = new FileCarryStore(Path.Combine(_dir, "cp.json.carries"));
        var (ledger, sink, log) = (new InMemoryDigestLedger(), new RecordingDigestSink(), new LambdaLog(TextWriter.Null, time));
        var options = new KinesisWindowHandlerOptions { Core = new DigestCoreOptions() }.WithoutRollups();
        var handler = new KinesisWindowHandler(options, FileAccountDirectory.Empty, ledger, carries, sink, log, time);
        var sweeper = new CarrySweeper(options.Core, FileAccountDirectory.Empty, carries, ledger, sink, log, time);
        return new EventSourceMapping(client, Store(), handler, sweeper,
            new EventSourceMappingOptions { Stream = stream, TumblingWindow = TimeSpan.FromMinutes(1), UntilIdle = untilIdle, StartAt = startAt }, time, _ => { }, carries);
    }

    private static async Task PutAsync(KinesisClient client, string stream, params string[] accounts)
    {
        var outcome = await client.PutRecordsAsync(stream, [.. accounts.Select(a => LivePut.Entry(LivePut.Event(a, LivePut.Now())))]);
        Assert.Equal(0, outcome.FailedCount);
    }

    private static string[] Accounts(int count) => [.. Enumerable.Range(0, count).Select(i => (100000000000L + i * 7919L).ToString(System.Globalization.CultureInfo.InvariantCulture))];

    [SkippableFact]
    public async Task Start_at_latest_reads_a_record_put_after_the_first_empty_round()
    {
        var stream = "latest-" + Guid.NewGuid().ToString("N")[..8];
        using var client = LivePut.Client(kinesalite.Endpoint);
        await client.CreateStreamAsync(stream, 1);
        await PutAsync(client, stream, "111111111111"); // before the run: not "from now on"

        var time = new CountingTime(DateTimeOffset.UtcNow);
        var mapping = Mapping(client, stream, ShardPosition.Latest, untilIdle: false, time);
        using var stop = new CancellationTokenSource();
        var following = mapping.RunAsync(stop.Token);

        await time.NextWaitAsync(following); // a first round found nothing after LATEST
        await PutAsync(client, stream, "222222222222");
        time.Advance(TimeSpan.FromSeconds(1)); // the next round
        await time.NextWaitAsync(following);
        await stop.CancelAsync();
        await following;

        var shard = Assert.Single(mapping.Checkpoints, c => c.ShardId == Shard0);
        Assert.NotNull(shard.SequenceNumber);
        Assert.Equal(1, (await mapping.ReportAsync()).Received); // the one put during the run, not the one before
    }

    [SkippableFact]
    public async Task Start_at_latest_reads_the_children_of_a_parent_it_read_from_their_oldest_record()
    {
        var stream = "children-" + Guid.NewGuid().ToString("N")[..8];
        using var client = LivePut.Client(kinesalite.Endpoint);
        await client.CreateStreamAsync(stream, 1);
        await PutAsync(client, stream, "111111111111");
        await Mapping(client, stream, startAt: null, untilIdle: true).RunAsync(default); // the parent is read

        await client.SplitShardAsync(stream, Shard0, "170141183460469231731687303715884105728"); // 2^127: the middle
        var accounts = Accounts(8);
        await PutAsync(client, stream, accounts); // into the children, before anything drained the parent
        var shards = await client.ListShardsAsync(stream);
        Assert.Equal(3, shards.Count);

        var again = Mapping(client, stream, ShardPosition.Latest, untilIdle: true);
        await again.RunAsync(default);

        Assert.Equal(1 + accounts.Length, (await again.ReportAsync()).Received); // nothing the children received was skipped
        Assert.All(shards.Where(s => s.ParentShardId == Shard0), child => Assert.Contains(again.Checkpoints, c => c.ShardId == child.ShardId && c.SequenceNumber is not null));
    }

    [SkippableFact]
    public async Task An_ended_checkpoint_of_a_shard_the_stream_lists_as_open_is_taken_as_another_streams()
    {
        var stream = "ended-" + Guid.NewGuid().ToString("N")[..8];
        using var client = LivePut.Client(kinesalite.Endpoint);
        await client.CreateStreamAsync(stream, 1);
        await PutAsync(client, stream, "111111111111", "222222222222", "333333333333");
        // As an old stream of this name left it, resharded, before checkpoints were stamped with the stream's creation time.
        await Store().SaveAsync(stream, new ShardCheckpoint { ShardId = Shard0, Ended = true }, default);

        var stale = await Assert.ThrowsAsync<StaleCheckpointException>(() => Mapping(client, stream, startAt: null, untilIdle: true).RunAsync(default));
        Assert.Contains("lists them as open", stale.Message, StringComparison.Ordinal);

        var over = Mapping(client, stream, ShardPosition.TrimHorizon, untilIdle: true);
        await over.RunAsync(default);
        Assert.Equal(3, (await over.ReportAsync()).Received);
    }

    [SkippableFact]
    public async Task An_invalid_argument_other_than_another_streams_sequence_number_is_reported_not_taken_for_a_recreated_stream()
    {
        var stream = "invalid-" + Guid.NewGuid().ToString("N")[..8];
        using var client = LivePut.Client(kinesalite.Endpoint);
        await client.CreateStreamAsync(stream, 2);
        await PutAsync(client, stream, Accounts(16));
        await Mapping(client, stream, startAt: null, untilIdle: true).RunAsync(default);
        // Each shard's checkpoint given the other's sequence number: Kinesis refuses it, but not as "from another stream".
        var store = Store();
        var saved = await store.LoadAsync(stream, default);
        var (a, b) = (saved[Shard0], saved["shardId-000000000001"]);
        Assert.NotNull(a.SequenceNumber);
        Assert.NotNull(b.SequenceNumber);
        await store.SaveAsync(stream, a with { SequenceNumber = b.SequenceNumber }, default);
        await store.SaveAsync(stream, b with { SequenceNumber = a.SequenceNumber }, default);

        var error = await Assert.ThrowsAsync<KinesisException>(() => Mapping(client, stream, ShardPosition.TrimHorizon, untilIdle: true).RunAsync(default));
        Assert.Equal("InvalidArgumentException", error.ErrorType);
        Assert.False(EventSourceMapping.IsFromAnotherStream(error), error.ServiceMessage);
        Assert.Equal(b.SequenceNumber, (await Store().LoadAsync(stream, default))[Shard0].SequenceNumber); // not started over
    }
}
