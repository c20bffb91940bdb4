using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Muting;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Tests.Hosting;

/// <summary>
/// One core, every host: the demo organisation's records (rejects, duplicates, muted calls, risky bursts) through
/// `pipeline digest`, `pipeline demo`, `pipeline tune`, `pipeline run` on a real Kinesis API and the function's window
/// handler give the same digests, roll-ups and alerts. The demo's events are dated days before they are put into kinesalite here, so
/// every host runs with a lateness of ten years: all events count at their own times, as in a replay (the time-model
/// tests cover the lateness itself). Only when digests closed may differ: a replay's clock is its events' times, the
/// live hosts' the records' arrival.
/// </summary>
public sealed class SameDigestsOnEveryHostTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>, IDisposable
{
    private static readonly string DemoFolder = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo");
    private static readonly string Events = Path.Combine(DemoFolder, "org-events.jsonl");
    private static readonly string Accounts = Path.Combine(DemoFolder, "accounts.json");
    private static readonly string Mutes = Path.Combine(DemoFolder, "mute-rules.json");
    private const string Lateness = "3650d";
    private readonly string _dir = Directory.CreateTempSubdirectory("same-digests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public async Task Digest_demo_tune_run_and_the_function_give_the_same_digests_for_the_same_records()
    {
        var digest = await Json(["digest", "-i", Events, "--accounts", Accounts, "--mute", Mutes, "--lateness", Lateness, "-f", "json"]);
        // The same digests, in any order: live hosts post each when it closes on their clock (arrival times).
        var expected = Digests(digest).Order(StringComparer.Ordinal).ToList();
        Assert.True(expected.Count >= 5, "the demo has several bursts");
        Assert.Contains(expected, n => n.StartsWith("{\"type\":\"rollup\"", StringComparison.Ordinal)); // and the StackSet roll-up
        Assert.Contains(expected, n => n.StartsWith("{\"type\":\"alert\"", StringComparison.Ordinal));

        // demo: the same records, built into the program with the same names and mute rules.
        Assert.Equal(expected, Digests(await Json(["demo", "--lateness", Lateness, "-f", "json"])).Order(StringComparer.Ordinal));

        // tune: one setting, the defaults; it counts what the core closed.
        var tune = Lines((await Run(["tune", "-i", Events, "--accounts", Accounts, "--mute", Mutes, "--gaps", "2m", "--max-windows", "15m", "--latenesses", Lateness, "-f", "json"])).Stdout);
        var tuned = Assert.Single(tune);
        Assert.Equal(expected.Count(n => n.StartsWith("{\"type\":\"digest\"", StringComparison.Ordinal)), tuned.GetProperty("digests").GetInt32());
        Assert.Equal(digest[^1].GetProperty("messages").GetInt64(), tuned.GetProperty("messages").GetInt64());

        // the function: the same records in batches of one shard's window, its state carried from call to call.
        Assert.Equal(expected, (await FunctionDigestsAsync(batchSize: 7)).Order(StringComparer.Ordinal));

        // run: put into one shard of kinesalite (one shard keeps the file's order), consumed by the same window handler.
        var stream = "same-" + Guid.NewGuid().ToString("N")[..8];
        var put = await Run(["put", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--create-stream", "--shards", "1", "--input", Events]);
        Assert.True(put.ExitCode is 0 or 5, put.Stderr);
        var run = await Json(["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", Path.Combine(_dir, "cp.json"),
            "--until-idle", "--batch-size", "10", "--window", "1s", "--lateness", Lateness, "--accounts", Accounts, "--mute", Mutes, "-f", "json"]);
        Assert.Equal(expected, Digests(run).Order(StringComparer.Ordinal));

        // And the counts agree (`put` refuses the demo's two lines that are not JSON, so they never reach the stream).
        foreach (var field in new[] { "duplicates", "muted", "digested", "digests" })
            Assert.Equal(digest[^1].GetProperty(field).GetInt64(), run[^1].GetProperty(field).GetInt64());
        Assert.Equal(2, digest[^1].GetProperty("rejected").GetInt64());
        Assert.Equal(digest[^1].GetProperty("received").GetInt64() - 2, run[^1].GetProperty("received").GetInt64());
    }

    private async Task<List<string>> FunctionDigestsAsync(int batchSize)
    {
        var time = TimeProvider.System;
        var sink = new RecordingDigestSink();
        var core = new DigestCoreOptions { Window = new BurstWindowOptions { Lateness = TimeSpan.FromDays(3650) } };
        var (ledger, carries, log) = (new InMemoryDigestLedger(), new InMemoryCarryStore(), new LambdaLog(TextWriter.Null, time));
        var accounts = FileAccountDirectory.Load(Accounts);
        var handler = new KinesisWindowHandler(new KinesisWindowHandlerOptions { Core = core }, accounts, ledger, carries, sink, log, time, MuteRuleSet.Load(Mutes));
        var lines = File.ReadAllLines(Events).Where(l => l.Length > 0).ToList();
        var start = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
        IReadOnlyDictionary<string, string> state = new Dictionary<string, string>();
        long sequence = 1;
        foreach (var chunk in lines.Chunk(batchSize).Append([]))
        {
            var evt = new KinesisWindowEvent
            {
                Records = [.. chunk.Select(l => new KinesisRecord((sequence++).ToString("D20", System.Globalization.CultureInfo.InvariantCulture), "key", System.Text.Encoding.UTF8.GetBytes(l)))],
                ShardId = "shardId-000000000000",
                WindowStart = start,
                WindowEnd = start.AddMinutes(15),
                State = state,
                IsFinalInvokeForWindow = chunk.Length == 0, // the window's last call: Lambda sends it with no records
            };
            var response = await handler.HandleAsync(evt, default);
            Assert.Empty(response.BatchItemFailures);
            state = response.State!;
        }
        // The input ends: the sweeper closes what the window carried, as `run --until-idle` does.
        await new CarrySweeper(core, accounts, carries, ledger, sink, log, time, MuteRuleSet.Load(Mutes)).SweepAsync("end", flushAll: true, default);
        return [.. sink.Notices.Select(Normalized)];
    }

    /// <summary>
    /// A notice's JSON without the processing times in it (when a burst or a roll-up closed, when a digest was released,
    /// when an alert was raised): event times in a replay, arrival and wall-clock times live.
    /// </summary>
    private static string Normalized(Pipeline.Aggregator.Notices.Notice notice)
    {
        using var buffer = new MemoryStream();
        DigestJson.Write(buffer, notice);
        return Normalized(JsonDocument.Parse(buffer.ToArray()).RootElement);
    }

    private static string Normalized(JsonElement notice)
    {
        var node = JsonNode.Parse(notice.GetRawText())!.AsObject();
        foreach (var processingTime in new[] { "closedAt", "heldUntil", "raisedAt" }) node.Remove(processingTime);
        return node.ToJsonString();
    }

    /// <summary>Every digest, roll-up and alert of a run, normalized.</summary>
    private static List<string> Digests(List<JsonElement> lines) =>
        [.. lines.Where(l => l.GetProperty("type").GetString() is "digest" or "rollup" or "alert").Select(Normalized)];

    private static async Task<List<JsonElement>> Json(string[] args)
    {
        var result = await Run(args);
        Assert.True(result.ExitCode == 0, $"pipeline {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Stderr}");
        var lines = Lines(result.Stdout);
        Commands.DigestCommandTests.AssertBalanced(lines);
        return lines;
    }

    private static Task<PipelineProcess.Result> Run(string[] args) => PipelineProcess.RunAsync(args, timeout: TimeSpan.FromMinutes(3));

    private static List<JsonElement> Lines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
}
