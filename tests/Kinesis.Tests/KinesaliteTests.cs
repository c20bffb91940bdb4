using System.Diagnostics;
using System.Text;
using Pipeline.TestSupport.Emulators;
using Xunit.Abstractions;

namespace Pipeline.Kinesis.Tests;

/// <summary>Every operation against a real kinesalite on loopback (started by the fixture).</summary>
public sealed class KinesaliteTests(KinesaliteFixture kinesalite, ITestOutputHelper output) : IClassFixture<KinesaliteFixture>
{
    private static readonly ShardReaderOptions Drain = new() { StopAtTip = true, BatchSize = 500 };

    [SkippableFact]
    public async Task Records_put_across_two_shards_come_back_complete_and_in_order_per_key()
    {
        using var client = Client();
        await client.CreateStreamAsync("ordered", shardCount: 2);
        var summary = await client.DescribeStreamSummaryAsync("ordered");
        Assert.Equal(("ACTIVE", 2), (summary.StreamStatus, summary.OpenShardCount));
        // The creation time is what tells this stream from one recreated under its name (`pipeline run`'s checkpoints keep it).
        Assert.InRange(summary.CreatedAt!.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        var records = Enumerable.Range(0, 1200).Select(i => Entry($"acct-{i % 12:D2}", i)).ToList();

        var put = Stopwatch.StartNew();
        var outcome = await client.PutRecordsAsync("ordered", records);
        put.Stop();

        Assert.Equal(0, outcome.FailedCount);
        Assert.Equal(3, outcome.Requests); // 500 + 500 + 200
        var shards = await client.ListShardsAsync("ordered");
        Assert.Equal(2, shards.Count);
        Assert.Equal(2, outcome.Results.Select(r => r.ShardId).Distinct().Count());

        var get = Stopwatch.StartNew();
        var read = new List<KinesisRecord>();
        foreach (var shard in shards)
        {
            var fromShard = await ReadAll(client, "ordered", shard.ShardId);
            Assert.All(fromShard.Zip(fromShard.Skip(1)), p => Assert.True(SequenceNumber.Compare(p.First.SequenceNumber, p.Second.SequenceNumber) < 0));
            read.AddRange(fromShard);
        }
        get.Stop();

        Assert.Equal(1200, read.Count);
        foreach (var key in read.GroupBy(r => r.PartitionKey))
        {
            var indexes = key.Select(r => Index(r)).ToList();
            Assert.Equal(indexes.Order(), indexes); // each account's records in the order written
        }
        Assert.Equal(Enumerable.Range(0, 1200), read.Select(Index).Order());
        output.WriteLine($"kinesalite: put 1200 records in {put.ElapsedMilliseconds} ms ({1200 / put.Elapsed.TotalSeconds:0} rec/s), read back in {get.ElapsedMilliseconds} ms ({1200 / get.Elapsed.TotalSeconds:0} rec/s)");
    }

    [SkippableFact]
    public async Task A_reader_resumes_after_its_checkpoint_without_repeats_or_gaps()
    {
        using var client = Client();
        await client.CreateStreamAsync("resume", shardCount: 1);
        await client.PutRecordsAsync("resume", [.. Enumerable.Range(0, 50).Select(i => Entry("k", i))]);
        var shard = (await client.ListShardsAsync("resume")).Single().ShardId;

        var first = new ShardReader(client, "resume", shard, Drain with { BatchSize = 7 });
        var seen = new List<int>();
        await foreach (var record in first.ReadAsync())
        {
            seen.Add(Index(record));
            if (seen.Count == 20) break;
        }
        var checkpoint = first.LastSequenceNumber!;
        var resumed = await ReadAll(client, "resume", shard, checkpoint);

        Assert.Equal(Enumerable.Range(0, 20), seen);
        Assert.Equal(Enumerable.Range(20, 30), resumed.Select(Index));
    }

    [SkippableFact]
    public async Task Iterator_positions_start_where_they_say()
    {
        using var client = Client();
        await client.CreateStreamAsync("positions", shardCount: 1);
        var shard = (await client.ListShardsAsync("positions")).Single().ShardId;
        var latest = await client.GetShardIteratorAsync("positions", shard, ShardPosition.Latest);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var written = await client.PutRecordsAsync("positions", [.. Enumerable.Range(0, 5).Select(i => Entry("k", i))]);
        var third = written.Results[2].SequenceNumber!;

        async Task<List<int>> Page(ShardPosition position) =>
            [.. (await client.GetRecordsAsync(await client.GetShardIteratorAsync("positions", shard, position), 10)).Records.Select(Index)];

        Assert.Equal([0, 1, 2, 3, 4], await Page(ShardPosition.TrimHorizon));
        Assert.Equal([2, 3, 4], await Page(ShardPosition.At(third)));
        Assert.Equal([3, 4], await Page(ShardPosition.After(third)));
        Assert.Equal([0, 1, 2, 3, 4], await Page(ShardPosition.AtTimestamp(before)));
        Assert.Equal([0, 1, 2, 3, 4], (await client.GetRecordsAsync(latest)).Records.Select(Index)); // LATEST taken before the put
        Assert.Empty(await Page(ShardPosition.Latest));
    }

    [SkippableFact]
    public async Task Kinesalite_errors_arrive_as_typed_exceptions()
    {
        using var client = Client();

        var missing = await Assert.ThrowsAsync<KinesisException>(() => client.DescribeStreamSummaryAsync("no-such-stream"));
        var badIterator = await Assert.ThrowsAsync<KinesisException>(() => client.GetRecordsAsync(Convert.ToBase64String(new byte[200])));

        Assert.Equal(("ResourceNotFoundException", 400, false), (missing.ErrorType, missing.StatusCode, missing.IsRetryable));
        Assert.Equal(("InvalidArgumentException", 400, false), (badIterator.ErrorType, badIterator.StatusCode, badIterator.IsRetryable));
    }

    [SkippableFact]
    public async Task After_a_split_the_parent_is_read_to_its_end_before_the_children()
    {
        using var client = Client();
        await client.CreateStreamAsync("reshard", shardCount: 1);
        var keys = Enumerable.Range(0, 8).Select(k => $"acct-{k}").ToList();
        await client.PutRecordsAsync("reshard", [.. Enumerable.Range(0, 40).Select(i => Entry(keys[i % 8], i))]);
        var parent = (await client.ListShardsAsync("reshard")).Single();

        await client.SplitShardAsync("reshard", parent.ShardId, "170141183460469231731687303715884105728"); // 2^127: the middle
        await client.PutRecordsAsync("reshard", [.. Enumerable.Range(40, 40).Select(i => Entry(keys[i % 8], i))]);

        var shards = await client.ListShardsAsync("reshard");
        var order = ShardOrder.ParentsFirst(shards);
        Assert.Equal(3, shards.Count);
        Assert.Equal(parent.ShardId, order[0].ShardId);
        Assert.True(order[0].IsClosed);
        Assert.All(order.Skip(1), child => Assert.Equal(parent.ShardId, child.ParentShardId));
        Assert.Equal([parent.ShardId], ShardOrder.ReadyToRead(shards, new HashSet<string>()).Select(s => s.ShardId));

        var read = new List<KinesisRecord>();
        var parentReader = new ShardReader(client, "reshard", order[0].ShardId, Drain);
        await foreach (var record in parentReader.ReadAsync()) read.Add(record);
        Assert.True(parentReader.ShardEnded);
        Assert.Equal(Enumerable.Range(0, 40), read.Select(Index));
        foreach (var child in order.Skip(1)) read.AddRange(await ReadAll(client, "reshard", child.ShardId));

        Assert.Equal(80, read.Count);
        foreach (var key in read.GroupBy(r => r.PartitionKey))
            Assert.Equal(key.Select(Index).Order(), key.Select(Index));
    }

    [SkippableFact]
    public async Task Merging_two_shards_makes_a_child_with_both_parents()
    {
        using var client = Client();
        await client.CreateStreamAsync("merge", shardCount: 2);
        var before = await client.ListShardsAsync("merge");

        await client.MergeShardsAsync("merge", before[0].ShardId, before[1].ShardId);

        var shards = ShardOrder.ParentsFirst(await client.ListShardsAsync("merge"));
        var child = shards[^1];
        Assert.Equal([before[0].ShardId, before[1].ShardId], child.Parents.Order(StringComparer.Ordinal));
        Assert.Equal(1, (await client.DescribeStreamSummaryAsync("merge")).OpenShardCount);
    }

    private KinesisClient Client() => new(TestClients.Options(new Uri(kinesalite.Endpoint)));

    private static async Task<List<KinesisRecord>> ReadAll(KinesisClient client, string stream, string shardId, string? checkpoint = null)
    {
        var reader = new ShardReader(client, stream, shardId, Drain);
        var records = new List<KinesisRecord>();
        await foreach (var record in reader.ReadAsync(checkpoint)) records.Add(record);
        return records;
    }

    private static PutRecordsEntry Entry(string key, int index) => new(Encoding.UTF8.GetBytes($"{key}|{index}"), key);

    private static int Index(KinesisRecord record) => int.Parse(Encoding.UTF8.GetString(record.Data).Split('|')[1], System.Globalization.CultureInfo.InvariantCulture);
}
