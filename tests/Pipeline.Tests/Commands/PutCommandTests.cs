using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Pipeline.Kinesis;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Tests.Commands;

/// <summary>`pipeline put` against a real Kinesis API (kinesalite on loopback).</summary>
public sealed class PutCommandTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("put-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

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
    public async Task A_stream_kinesis_will_not_create_is_a_usage_error_not_an_unexpected_failure()
    {
        // Was: exit 9, asking for a bug report, for --shards 0 (before any call) and for a name the service refuses.
        var zero = await PipelineProcess.RunAsync(["put", "--stream", "s", "--input", Demo, "--endpoint", "http://127.0.0.1:9", "--create-stream", "--shards", "0"]);
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("--shards must be at least 1 (got 0)", zero.Stderr, StringComparison.Ordinal);

        var badName = await PipelineProcess.RunAsync(["put", "--stream", "no spaces allowed!", "--input", Demo, "--endpoint", kinesalite.Endpoint, "--create-stream"]);
        Assert.True(badName.ExitCode == 2, badName.Stderr);
        Assert.Contains("Kinesis refused to create stream 'no spaces allowed!'", badName.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Putting_to_a_missing_stream_says_how_to_create_it()
    {
        _ = kinesalite.Endpoint; // skips where node is missing
        var result = await PipelineProcess.RunAsync(["put", "--stream", "no-such-stream", "--input", Demo, "--endpoint", kinesalite.Endpoint]);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("--create-stream", result.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Ctrl_c_mid_put_stops_with_exit_130_and_says_how_many_records_are_in_the_stream()
    {
        // Records come from stdin, which stays open: one full request's worth (5,000) is sent, ten more wait for the next,
        // and the put is blocked reading when Ctrl-C comes, as `tail -f … | pipeline put -i -` would be.
        const int sentBeforeStop = 5_000, waiting = 10;
        var stream = "put-int-" + Guid.NewGuid().ToString("N")[..8];
        using var client = Client();
        await client.CreateStreamAsync(stream, 1);
        var shard = Assert.Single(await client.ListShardsAsync(stream)).ShardId;

        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in new[] { "put", "--stream", stream, "--input", "-", "--endpoint", kinesalite.Endpoint }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(Events.JsonLines(Enumerable.Range(0, sentBeforeStop + waiting).Select(i => Events.ApiCall("111122223333", Events.T0.AddSeconds(i)))));
        await process.StandardInput.FlushAsync();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && await CountAsync(client, stream, shard) < sentBeforeStop) await Task.Delay(100);
        Assert.Equal(sentBeforeStop, await CountAsync(client, stream, shard));
        using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await interrupt.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("Ctrl-C did not stop a put blocked reading stdin");
        }

        var errors = await stderr;
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {errors}");
        RunCommandTests.AssertNoStackTrace(errors);
        Assert.DoesNotContain("put ", await stdout, StringComparison.Ordinal); // no success line
        // The put counts a chunk (5,000 records, 10 requests) as written once its last response has been handled; on a
        // loaded machine the SIGINT can land after kinesalite stored the records but before the put counted them: it then
        // says they were being written. Either way what it says covers exactly what the stream holds.
        var said = Regex.Match(errors, $@"stopped \(Ctrl-C\) after writing (?<written>\d+) records into {Regex.Escape(stream)} in (?<requests>\d+) requests"
            + @"(?:; some of the (?<inFlight>\d+) records being written when it stopped may be in the stream too)?\. Running the same put again sends them again");
        Assert.True(said.Success, errors);
        long written = long.Parse(said.Groups["written"].Value, CultureInfo.InvariantCulture);
        long inFlight = said.Groups["inFlight"].Success ? long.Parse(said.Groups["inFlight"].Value, CultureInfo.InvariantCulture) : 0;
        long held = await CountAsync(client, stream, shard);
        Assert.Equal(sentBeforeStop, held); // the ten waiting records were never sent
        Assert.True(written <= held && held <= written + inFlight, $"says {written} written + {inFlight} in flight; the stream holds {held}: {errors}");
        Assert.True(inFlight == 0 ? written == sentBeforeStop : inFlight > 0 && written + inFlight == sentBeforeStop, errors); // nothing but the chunk in flight is unaccounted for
        Assert.Equal(written / 500, long.Parse(said.Groups["requests"].Value, CultureInfo.InvariantCulture)); // PutRecords takes 500 a request
    }

    private static async Task<long> CountAsync(KinesisClient client, string stream, string shard)
    {
        long count = 0;
        await foreach (var _ in new ShardReader(client, stream, shard, new ShardReaderOptions { StopAtTip = true, BatchSize = 10_000 }).ReadAsync()) count++;
        return count;
    }
}
