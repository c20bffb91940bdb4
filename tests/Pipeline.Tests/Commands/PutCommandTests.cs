using System.Text.Json;
using Amazon.Runtime;
using Pipeline.Kinesis;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Tests.Commands;

/// <summary>`pipeline put` against a real Kinesis API (kinesalite on loopback).</summary>
public sealed class PutCommandTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>
{
    private static readonly string Demo = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl");

    private KinesisClient Client() => new(new KinesisClientOptions
    {
        ServiceUrl = new Uri(kinesalite.Endpoint),
        Credentials = new BasicAWSCredentials("x", "x"),
    });

    [SkippableFact]
    public async Task Put_writes_each_event_keyed_by_account_and_reports_the_unreadable()
    {
        var stream = "put-" + Guid.NewGuid().ToString("N")[..8];
        var result = await PipelineProcess.RunAsync(["put", "--stream", stream, "--input", Demo, "--endpoint", kinesalite.Endpoint, "--create-stream", "--shards", "2"]);

        Assert.Equal(5, result.ExitCode); // two demo lines cannot be read: reported, not sent
        Assert.Contains("put 126 records", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("not sent samples/demo/org-events.jsonl:52", result.Stderr.Replace(SharedCorpus.RepositoryRoot + "/", "", StringComparison.Ordinal), StringComparison.Ordinal);

        using var client = Client();
        var records = new List<KinesisRecord>();
        foreach (var shard in ShardOrder.ParentsFirst(await client.ListShardsAsync(stream)))
            await foreach (var r in new ShardReader(client, stream, shard.ShardId, new ShardReaderOptions { StopAtTip = true }).ReadAsync())
                records.Add(r);

        Assert.Equal(126, records.Count);
        foreach (var r in records)
        {
            using var doc = JsonDocument.Parse(r.Data);
            Assert.Equal(r.PartitionKey, doc.RootElement.GetProperty("account").GetString());
            Assert.True(doc.RootElement.TryGetProperty("detail-type", out _));
        }
    }

    [SkippableFact]
    public async Task Putting_to_a_missing_stream_says_how_to_create_it()
    {
        _ = kinesalite.Endpoint; // skips where node is missing
        var result = await PipelineProcess.RunAsync(["put", "--stream", "no-such-stream", "--input", Demo, "--endpoint", kinesalite.Endpoint]);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("--create-stream", result.Stderr, StringComparison.Ordinal);
    }
}
