using System.Diagnostics;
using System.Text.Json;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Tests.Commands;

/// <summary>`pipeline put` then `pipeline run` against a real Kinesis API (kinesalite on loopback), including a consumer killed with SIGKILL.</summary>
public sealed class RunCommandTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("run-cli-").FullName;
    private static readonly string Demo = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const int ShardCount = 2;

    private async Task<string> StreamWithAsync(params string[] inputs)
    {
        var stream = "run-" + Guid.NewGuid().ToString("N")[..8];
        var args = new List<string> { "put", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--create-stream", "--shards", ShardCount.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var input in inputs) { args.Add("--input"); args.Add(input); }
        var put = await PipelineProcess.RunAsync(args);
        Assert.True(put.ExitCode is 0 or 5, put.Stderr);
        return stream;
    }

    private string[] RunArgs(string stream, string checkpoint, params string[] more) =>
        ["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", Path.Combine(_dir, checkpoint), "--until-idle", "-f", "json", .. more];

    private static List<JsonElement> Lines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(TryParse).OfType<JsonElement>()];

    private static JsonElement? TryParse(string line)
    {
        try
        {
            return JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null; // the last line of a killed process may be cut short
        }
    }

    [SkippableFact]
    public async Task Put_then_run_digests_every_event_once_and_the_counts_add_up()
    {
        var stream = await StreamWithAsync(Demo);
        var run = await PipelineProcess.RunAsync(RunArgs(stream, "a.json"));
        Assert.True(run.ExitCode == 0, run.Stderr);
        var lines = Lines(run.Stdout);
        var summary = lines[^1];
        Assert.Equal("summary", summary.GetProperty("type").GetString());
        Assert.Equal(126, summary.GetProperty("received").GetInt64()); // every record put
        DigestCommandTests.AssertBalanced(lines);
        var ids = lines.Where(l => l.GetProperty("type").GetString() == "digest").Select(l => l.GetProperty("digestId").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Contains(lines, l => l.TryGetProperty("riskyCount", out var r) && r.GetInt32() >= 5); // the credential-theft burst
        // The StackSet roll-out spans shards: the sweeper decides it, as the function's does, and posts it once.
        var rollup = Assert.Single(lines, l => l.GetProperty("type").GetString() == "rollup");
        Assert.Equal(4, rollup.GetProperty("accountCount").GetInt32());
        var alerts = lines.Where(l => l.GetProperty("type").GetString() == "alert").Select(l => l.GetProperty("alertId").GetString()).ToList();
        Assert.NotEmpty(alerts);
        Assert.Equal(alerts.Count, alerts.Distinct().Count());
        // The summary counts the notices as printed (it said "alerts":0 and no roll-ups or messages).
        Assert.Equal(alerts.Count, summary.GetProperty("alerts").GetInt64());
        Assert.Equal(1, summary.GetProperty("rollups").GetInt64());
        int posted = lines.Count(l => l.GetProperty("type").GetString() is "alert" or "rollup" or "silence"
            || (l.GetProperty("type").GetString() == "digest" && !(l.TryGetProperty("posted", out var p) && p.ValueKind == JsonValueKind.False)));
        Assert.Equal(posted, summary.GetProperty("messages").GetInt64());

        // Running again on the same checkpoint reads nothing new and posts nothing again.
        var again = await PipelineProcess.RunAsync(RunArgs(stream, "a.json"));
        Assert.Equal(0, again.ExitCode);
        var nothing = Assert.Single(Lines(again.Stdout)); // the summary only
        Assert.Equal(0, nothing.GetProperty("messages").GetInt64()); // this run's notices: none
    }

    [SkippableFact]
    public async Task A_consumer_killed_at_random_points_resumes_with_the_same_digests_none_twice_but_the_one_in_flight()
    {
        var inputs = new List<string> { Demo };
        if (SharedCorpus.RootDirectory is { } shared) inputs.Add(Path.Combine(shared, "corpus")); // more records: more points to be killed at
        var stream = await StreamWithAsync([.. inputs]);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var reference = Lines((await PipelineProcess.RunAsync(RunArgs(stream, "reference.json", "--batch-size", "5"))).Stdout);
        var referenceTime = clock.Elapsed;
        static (string?, int) Key(JsonElement l) => (l.GetProperty("digestId").GetString(), l.GetProperty("eventCount").GetInt32());
        static IEnumerable<JsonElement> Digests(IEnumerable<JsonElement> lines) => lines.Where(l => l.GetProperty("type").GetString() == "digest");
        var expected = Digests(reference).Select(Key).ToHashSet();
        Assert.NotEmpty(expected);

        // Each run's digests, by run: the killed ones, then the one left to finish.
        var runs = new List<(List<(string?, int)> Printed, bool Killed)>();
        var random = new Random(20261125);
        for (int attempt = 0; attempt < 4; attempt++)
        {
            // Kills land within the first half of what a whole run takes on this machine (a resumed run has less to do),
            // so they land mid-run on a fast machine and a slow one alike.
            var after = referenceTime * (0.1 + 0.4 * random.NextDouble());
            var (output, wasKilled) = await RunAndKillAsync(RunArgs(stream, "killed.json", "--batch-size", "5"), after);
            runs.Add(([.. Digests(Lines(output)).Select(Key)], wasKilled));
        }
        // Without kills the test proves nothing: they must land while the run is still going.
        int killed = runs.Count(r => r.Killed);
        Assert.True(killed >= 2, $"only {killed} of 4 kills landed before the run finished by itself (a whole run took {referenceTime.TotalMilliseconds:F0} ms)");
        var last = await PipelineProcess.RunAsync(RunArgs(stream, "killed.json", "--batch-size", "5"));
        Assert.True(last.ExitCode == 0, last.Stderr);
        var final = Lines(last.Stdout);
        runs.Add(([.. Digests(final).Select(Key)], false));

        // None twice, but a digest printed just before a kill and before the ledger recorded it: the next run prints it
        // again, the one way to a duplicate (docs/lambda.md, the digest ledger). At most one per shard and the sweeper can
        // be in flight, so its first copy is among the last ShardCount + 1 its killed run printed, and the second is later.
        var seen = runs.SelectMany((run, index) => run.Printed.Select((digest, position) => (Digest: digest, Run: index, FromEnd: run.Printed.Count - position))).ToList();
        foreach (var copies in seen.GroupBy(s => s.Digest).Where(g => g.Count() > 1))
        {
            var (first, second) = (copies.First(), copies.Last());
            Assert.True(copies.Count() == 2 && runs[first.Run].Killed && first.FromEnd <= ShardCount + 1 && second.Run > first.Run,
                $"{copies.Key} printed {copies.Count()} times, not as one in flight at a kill (runs {string.Join(", ", copies.Select(c => c.Run))})");
        }
        Assert.Equal(expected.OrderBy(e => e.Item1), seen.Select(s => s.Digest).Distinct().OrderBy(e => e.Item1)); // the same digests as the run that was never killed
        var refSummary = reference[^1];
        var summary = final[^1];
        foreach (var field in new[] { "received", "rejected", "duplicates", "muted", "digested", "digests" })
            Assert.Equal(refSummary.GetProperty(field).GetInt64(), summary.GetProperty(field).GetInt64()); // counted once across restarts
    }

    [SkippableFact]
    public async Task Ctrl_c_stops_a_following_run_cleanly_with_its_checkpoint_saved()
    {
        var stream = await StreamWithAsync(Demo);
        var checkpoint = Path.Combine(_dir, "follow.json");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in new[] { "run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", checkpoint, "-f", "json" }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        // Following the stream: it never ends by itself. Wait until it has read everything once (a checkpoint with a sequence number).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !(File.Exists(checkpoint) && File.ReadAllText(checkpoint).Contains("\"sequenceNumber\": \"", StringComparison.Ordinal)))
            await Task.Delay(100);
        using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await interrupt.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(130, process.ExitCode);
        Assert.Contains("checkpoints saved", await stderr, StringComparison.Ordinal);
        var firstLines = Lines(await stdout);
        var firstDigests = firstLines.Where(l => l.GetProperty("type").GetString() == "digest").Select(l => l.GetProperty("digestId").GetString()).ToList();
        // Stopped with its window open: the summary counts the waiting events as "open", and still balances.
        var stopped = firstLines[^1];
        long S(string name) => stopped.TryGetProperty(name, out var v) ? v.GetInt64() : 0;
        Assert.Equal("summary", stopped.GetProperty("type").GetString());
        Assert.True(S("open") > 0);
        Assert.Equal(S("received"), S("rejected") + S("duplicates") + S("muted") + S("digested") + S("open"));

        // The open window was not closed by the stop; a replay run finishes it, posting only what was not posted.
        var rest = await PipelineProcess.RunAsync(RunArgs(stream, "follow.json"));
        Assert.Equal(0, rest.ExitCode);
        var restLines = Lines(rest.Stdout);
        var all = firstDigests.Concat(restLines.Where(l => l.GetProperty("type").GetString() == "digest").Select(l => l.GetProperty("digestId").GetString())).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(126, restLines[^1].GetProperty("received").GetInt64());
        var summary = restLines[^1];
        long Get(string name) => summary.GetProperty(name).GetInt64();
        Assert.Equal(Get("received"), Get("rejected") + Get("duplicates") + Get("muted") + Get("digested")); // counted once across the stop
        Assert.Equal(Get("digests"), all.Count); // every digest of the run posted exactly once, before or after the stop
    }

    [SkippableFact]
    public async Task A_stream_recreated_under_its_name_stops_run_with_what_to_do_and_start_at_reads_the_new_one()
    {
        var stream = await StreamWithAsync(Demo);
        var first = await PipelineProcess.RunAsync(RunArgs(stream, "recreated.json"));
        Assert.True(first.ExitCode == 0, first.Stderr);
        await RecreateAsync(stream, 3);

        var stale = await PipelineProcess.RunAsync(RunArgs(stream, "recreated.json"));
        Assert.Equal(8, stale.ExitCode);
        Assert.Contains("deleted and recreated", stale.Stderr, StringComparison.Ordinal);
        Assert.Contains("this one was created at", stale.Stderr, StringComparison.Ordinal); // known from the stamp, before any read
        Assert.Contains("--start-at trim-horizon", stale.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(stale.Stderr);
        Assert.Empty(stale.Stdout); // nothing read, nothing posted

        var over = await PipelineProcess.RunAsync(RunArgs(stream, "recreated.json", "--start-at", "trim-horizon"));
        Assert.True(over.ExitCode == 0, over.Stderr);
        var lines = Lines(over.Stdout);
        var summary = lines[^1];
        long Get(string name) => summary.GetProperty(name).GetInt64();
        Assert.Equal(126 + 3, Get("received")); // the old stream's totals kept, the new stream's 3 events added
        Assert.Equal(Get("received"), Get("rejected") + Get("duplicates") + Get("muted") + Get("digested"));
        var digest = Assert.Single(lines, l => l.GetProperty("type").GetString() == "digest");
        Assert.Equal("444455556666", digest.GetProperty("account").GetString());
        Assert.Equal(3, digest.GetProperty("eventCount").GetInt32());
        Assert.Contains("starting them over at the oldest record", over.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_checkpoint_without_the_streams_creation_time_is_caught_at_its_first_read()
    {
        var stream = await StreamWithAsync(Demo);
        var checkpoint = Path.Combine(_dir, "legacy.json");
        Assert.Equal(0, (await PipelineProcess.RunAsync(RunArgs(stream, "legacy.json"))).ExitCode);
        // As a checkpoint written before the stream's creation time was kept: only Kinesis can say the sequence numbers are foreign.
        var text = File.ReadAllText(checkpoint);
        Assert.Contains("\"streamCreatedAt\"", text, StringComparison.Ordinal);
        File.WriteAllText(checkpoint, System.Text.RegularExpressions.Regex.Replace(text, @",\s*""streamCreatedAt"": ""[^""]*""", ""));
        await RecreateAsync(stream, 3);

        var stale = await PipelineProcess.RunAsync(RunArgs(stream, "legacy.json"));
        Assert.Equal(8, stale.ExitCode);
        Assert.Contains("did not come from this stream", stale.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(stale.Stderr);

        var over = await PipelineProcess.RunAsync(RunArgs(stream, "legacy.json", "--start-at", "trim-horizon"));
        Assert.True(over.ExitCode == 0, over.Stderr);
        Assert.Equal(126 + 3, Lines(over.Stdout)[^1].GetProperty("received").GetInt64());
    }

    /// <summary>Deletes the stream and creates it again under its name (one shard), holding <paramref name="events"/> new events of one account.</summary>
    private async Task RecreateAsync(string stream, int events)
    {
        using (var client = new Pipeline.Kinesis.KinesisClient(new Pipeline.Kinesis.KinesisClientOptions { ServiceUrl = new Uri(kinesalite.Endpoint), Credentials = new Amazon.Runtime.BasicAWSCredentials("x", "x") }))
        {
            await client.DeleteStreamAsync(stream);
            // kinesalite deletes after a pause; the name is free once the stream is gone.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    await client.DescribeStreamSummaryAsync(stream);
                }
                catch (Pipeline.Kinesis.KinesisException e) when (e.ErrorType == "ResourceNotFoundException")
                {
                    break;
                }
                await Task.Delay(100);
            }
        }
        var now = DateTimeOffset.UtcNow;
        var input = Path.Combine(_dir, stream + "-new.jsonl");
        File.WriteAllText(input, Events.JsonLines(Enumerable.Range(0, events).Select(i => Events.ApiCall("444455556666", now.AddSeconds(i - events)))));
        var put = await PipelineProcess.RunAsync(["put", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--create-stream", "--shards", "1", "--input", input]);
        Assert.True(put.ExitCode == 0, put.Stderr);
    }

    internal static void AssertNoStackTrace(string stderr)
    {
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
    }

    /// <summary>Starts the real program and kills it (SIGKILL) after <paramref name="after"/>; returns what it printed.</summary>
    private static async Task<(string Stdout, bool Killed)> RunAndKillAsync(IEnumerable<string> args, TimeSpan after)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(after);
        bool killed = false;
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            killed = true;
            await process.WaitForExitAsync();
        }
        await stderr;
        return (await stdout, killed);
    }
}
