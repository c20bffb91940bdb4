using System.Globalization;
using System.Text.Json;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;
using Xunit.Abstractions;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>
/// The time model (issue 12) live, in real time on a real Kinesis API (kinesalite on loopback): `pipeline run` follows
/// a stream that the test fills as the events happen, with seconds-long bursts (gap 2 s, lateness 1 s), short tumbling
/// windows and a fast sweeper. Bursts outlive windows (carries), survive a reshard and a kill -9, quiet shards are
/// swept, and the digests are the file replay's. The tests of this class run one after another (one class), each on
/// its own stream (deleted after it); together they take about two and a half minutes of wall clock, most of it the
/// events' own time. Set LIVE_DEBUG_DIR to a folder to keep the runs' output there.
/// </summary>
public sealed class LiveTimeModelTests(KinesaliteFixture kinesalite, ITestOutputHelper output) : IClassFixture<KinesaliteFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Gap = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Lateness = TimeSpan.FromSeconds(1);
    // Every account here acts through one role, which roll-ups would rightly fold into organisation-wide messages
    // after a wait; these tests are about bursts and clocks, so roll-ups are off (they have their own tests).
    private static readonly string[] Window = ["--gap", "2s", "--max-window", "15s", "--lateness", "1s", "--rollup-min-accounts", "0"];
    private readonly string _dir = Directory.CreateTempSubdirectory("live-time-").FullName;
    private readonly List<string> _streams = [];

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Deletes the test's streams: kinesalite allows 10 open shards in all, and the tests share it.</summary>
    public async Task DisposeAsync()
    {
        if (_streams.Count > 0)
        {
            using var client = LivePut.Client(kinesalite.Endpoint);
            foreach (var stream in _streams)
            {
                try
                {
                    await client.DeleteStreamAsync(stream);
                }
                catch (Pipeline.Kinesis.KinesisException)
                {
                    // Best effort: an emulator left with a stream is harmless to the next test's assertions.
                }
            }
        }
        Directory.Delete(_dir, recursive: true);
    }

    [SkippableFact]
    public async Task A_live_stream_put_in_real_time_gives_the_digests_of_its_file_replay_none_cut_by_a_window_end()
    {
        var (live, replay, events) = await LiveAndReplayAsync(seed: 12, lagged: _ => false);

        AssertSameBursts(live, replay, events.Count);
    }

    [SkippableFact]
    public async Task Accounts_whose_records_arrive_later_than_the_lateness_get_the_on_time_replays_digests_flagged_late()
    {
        var lag = TimeSpan.FromSeconds(1.5); // more than the lateness (1 s), less than the gap (2 s)
        var accounts = OrgStream.Generate(16, TimeSpan.FromSeconds(45), Gap, seed: 5).Select(e => e.Account).Distinct().Order(StringComparer.Ordinal).ToList();
        var lagged = accounts.Where((_, i) => i % 3 == 0).ToHashSet(StringComparer.Ordinal);
        var (live, replay, events) = await LiveAndReplayAsync(seed: 5, lagged: a => lagged.Contains(a), lag);

        AssertSameBursts(live, replay, events.Count);
        var laggedDigests = live.Where(d => lagged.Contains(Account(d))).ToList();
        var onTimeDigests = live.Where(d => !lagged.Contains(Account(d))).ToList();
        output.WriteLine($"lagged accounts: {lagged.Count} of {accounts.Count}; their digests: {laggedDigests.Count}, lateCount {laggedDigests.Sum(d => Int(d, "lateCount"))} of {laggedDigests.Sum(d => Int(d, "eventCount"))} events; " +
            $"on-time accounts' digests: {onTimeDigests.Count}, lateCount {onTimeDigests.Sum(d => Int(d, "lateCount"))}");
        Assert.NotEmpty(laggedDigests);
        Assert.All(laggedDigests, d => Assert.True(Int(d, "lateCount") > 0, $"a lagged account's digest not flagged late: {d}"));
        Assert.All(live, d => Assert.Equal(0, Int(d, "skewedCount")));
    }

    [SkippableFact]
    public async Task A_burst_carried_across_a_shard_split_is_closed_once_by_the_child_shard_with_all_its_events()
    {
        const string account = "210987654321";
        var (stream, client) = await NewStreamAsync(shards: 1);
        using var _ = client;
        var checkpoint = Path.Combine(_dir, "reshard.json");
        string[] args = ["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", checkpoint,
            "--window", "1s", "--sweep-interval", "500ms", "--gap", "30s", "--lateness", "0s", "--rollup-min-accounts", "0", "-f", "json"];
        using var run = LiveRun.Start(args);

        var start = LivePut.Now();
        var before = Enumerable.Range(0, 5).Select(i => LivePut.Event(account, start + TimeSpan.FromMilliseconds(200 * i))).ToList();
        await LivePut.InRealTimeAsync(client, stream, before.Select(e => (e.Time, e)));
        // The window ends with the burst open (its gap is 30 s): the final call writes it to the carry file.
        Assert.True(await run.WaitUntilAsync(() => Carry(checkpoint, account) is { Owner: null, HasOpenBurst: true }, TimeSpan.FromSeconds(20)),
            "the burst was not carried at its window's end\n" + run.Stderr);

        var parent = Assert.Single(await client.ListShardsAsync(stream)).ShardId;
        await client.SplitShardAsync(stream, parent, "170141183460469231731687303715884105728"); // 2^127: the middle
        var resumed = LivePut.Now();
        var after = Enumerable.Range(0, 5).Select(i => LivePut.Event(account, resumed + TimeSpan.FromMilliseconds(200 * i))).ToList();
        await LivePut.InRealTimeAsync(client, stream, after.Select(e => (e.Time, e)));
        var children = (await client.ListShardsAsync(stream)).Where(s => s.ParentShardId == parent).ToList();
        Assert.Equal(2, children.Count);
        var child = children.Single(s => (s.HashKeyRange.StartingHashKey != "0") == IsUpperHalf(account)).ShardId; // where the account's records go now

        // A window of the child shard meets the account, claims the parent's carry, and at its end writes it back.
        Assert.True(await run.WaitUntilAsync(() => Carry(checkpoint, account) is { Owner: null, HasOpenBurst: true } c && c.Writer?.StartsWith(child + "|", StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(20)), "the child shard's window did not take the carry over\n" + run.Stderr);
        var claims = run.LogLines.Where(l => Message(l) == "batch processed" && l.GetProperty("shardId").GetString() == child && l.GetProperty("records").GetInt32() > 0).ToList();
        Assert.Contains(claims, l => l.GetProperty("carriesClaimed").GetInt32() == 1);
        Assert.Empty(run.Digests); // nothing closed yet: 30 s of gap
        Assert.Equal(130, await run.InterruptAsync());

        // The input ends: a replay run closes what is carried.
        var end = await PipelineProcess.RunAsync([.. args, "--until-idle"], timeout: TimeSpan.FromMinutes(1));
        Assert.True(end.ExitCode == 0, end.Stderr);
        var digests = run.Digests.Concat(Lines(end.Stdout).Where(LiveRun.IsDigest)).ToList();
        var digest = Assert.Single(digests);
        Assert.Equal(account, Account(digest));
        Assert.Equal(10, Int(digest, "eventCount"));
        Assert.Equal(start, At(digest, "firstEventTime"));
        Assert.Equal(after[^1].Time, At(digest, "lastEventTime"));
    }

    [SkippableFact]
    public async Task A_burst_on_a_shard_that_falls_silent_is_closed_by_the_sweeper_soon_after_its_gap_and_lateness()
    {
        const string account = "345678901234";
        var (stream, client) = await NewStreamAsync(shards: 2);
        using var _ = client;
        // Windows of 1 s: the burst's window ends long before the burst falls due, so its final call carries it, and with
        // nothing more arriving on either shard only the sweeper can close it. (A burst still in an open window's state
        // is not a carry: the sweeper cannot see it, and it waits for that window's end, as in Lambda.)
        using var run = LiveRun.Start(["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", Path.Combine(_dir, "silent.json"),
            "--window", "1s", "--sweep-interval", "500ms", .. Window, "-f", "json"]);

        var start = LivePut.Now() + TimeSpan.FromSeconds(1);
        var burst = Enumerable.Range(0, 8).Select(i => LivePut.Event(account, start + TimeSpan.FromMilliseconds(250 * i))).ToList();
        await LivePut.InRealTimeAsync(client, stream, burst.Select(e => (e.Time, e)));
        var lastPut = DateTimeOffset.UtcNow;

        Assert.True(await run.WaitUntilAsync(() => run.Digests.Count > 0, TimeSpan.FromSeconds(20)), "no digest\n" + run.Stderr);
        var (seenAt, digest) = run.Lines.First(l => LiveRun.IsDigest(l.Json));
        var due = burst[^1].Time + Gap + Lateness;
        output.WriteLine($"digest seen {(seenAt - lastPut).TotalSeconds:0.000} s after the last put, {(seenAt - due).TotalSeconds:0.000} s after the burst fell due (last event + gap + lateness); closedAt {digest.GetProperty("closedAt").GetString()}");
        Assert.Equal(130, await run.InterruptAsync());

        Assert.Equal(account, Account(digest));
        Assert.Equal(8, Int(digest, "eventCount"));
        Assert.Equal("quiet-gap", digest.GetProperty("closedBy").GetString());
        Assert.True(seenAt - lastPut < TimeSpan.FromSeconds(15), $"closed {(seenAt - lastPut).TotalSeconds:0.0} s after the last put");
        // The moment it fell due on the processing clock: last event + gap + lateness, plus the account's lag (how long
        // its last record took to reach the stream, a few milliseconds here).
        Assert.InRange(At(digest, "closedAt"), due, due + TimeSpan.FromSeconds(1));
        Assert.True(seenAt >= due, "printed before its gap and lateness had passed");
        // Posted by the sweeper (the owner it posts as), not by a window of the shard.
        var posted = Assert.Single(run.LogLines, l => Message(l) == "digest posted" && l.GetProperty("digestId").GetString() == digest.GetProperty("digestId").GetString());
        Assert.StartsWith("sweep:", posted.GetProperty("shardId").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The stream keeps coming while `run` is killed with SIGKILL again and again: right after a batch that claimed
    /// carries, or at a random moment, and restarted on the same checkpoint, carry and ledger files; a last run with
    /// --until-idle ends the input. The ledger's promise (docs/lambda.md): nothing lost, no digest posted twice once its
    /// post was recorded; a digest can be printed a second time only when a kill fell between printing it and recording it.
    /// </summary>
    [SkippableFact]
    public async Task A_run_killed_again_and_again_while_carrying_bursts_digests_every_event_once_and_posts_no_digest_twice()
    {
        var (stream, client) = await NewStreamAsync(shards: 2);
        using var _ = client;
        var events = OrgStream.Generate(8, TimeSpan.FromSeconds(20), Gap, seed: 44, start: LivePut.Now() + TimeSpan.FromSeconds(1));
        var putting = LivePut.InRealTimeAsync(client, stream, events.Select(e => (e.Time, e)));
        var checkpoint = Path.Combine(_dir, "killed.json");
        string[] args = ["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", checkpoint,
            "--window", "1s", "--sweep-interval", "500ms", "--batch-size", "5", .. Window, "-f", "json"];

        var file = Path.Combine(_dir, "killed.jsonl");
        await File.WriteAllLinesAsync(file, events.Select(e => e.Line));
        var replaying = PipelineProcess.RunAsync(["digest", "-i", file, .. Window, "-f", "json"]);

        var printed = new List<JsonElement>();
        var random = new Random(20261212);
        int kills = 0, killedAfterClaim = 0, killedMidStream = 0;
        for (int attempt = 0; attempt < 8 && !putting.IsCompleted; attempt++)
        {
            using var run = LiveRun.Start(args);
            if (attempt % 2 == 0)
            {
                // Right after a batch that claimed carries: the kill lands before or after its checkpoint, mid-window.
                var claimed = await run.WaitUntilAsync(() => run.LogLines.Any(l => Message(l) == "batch processed" && l.GetProperty("carriesClaimed").GetInt32() > 0), TimeSpan.FromSeconds(8));
                if (claimed) killedAfterClaim++;
            }
            else
            {
                await Task.Delay(random.Next(500, 2500)); // a random moment
            }
            Assert.False(run.HasExited, $"run ended by itself (exit {(run.HasExited ? run.ExitCode : 0)})\n{run.Stderr}");
            if (!putting.IsCompleted) killedMidStream++; // events still to come: this kill cut the stream, not an idle tail
            await run.KillAsync();
            kills++;
            printed.AddRange(run.Digests);
            Keep($"killed-{attempt}-stderr.log", run.Stderr);
        }
        await putting;
        // Without these the test proves nothing about kills: kills must have landed while events were still coming, and
        // at least one right after a batch that claimed carries (the case the ledger and the carry leases are for).
        output.WriteLine($"{kills} kills, {killedMidStream} before the last event was put, {killedAfterClaim} right after a batch that claimed carries");
        Assert.True(killedMidStream >= 2, $"only {killedMidStream} of {kills} kills landed before the last event was put");
        Assert.True(killedAfterClaim > 0, "no kill landed right after a batch that claimed carries");

        var last = await PipelineProcess.RunAsync([.. args, "--until-idle"], timeout: TimeSpan.FromMinutes(1));
        Keep("killed-last-stderr.log", last.Stderr);
        Assert.True(last.ExitCode == 0, last.Stderr);
        var final = Lines(last.Stdout);
        printed.AddRange(final.Where(LiveRun.IsDigest));
        var summary = final[^1];
        Assert.Equal("summary", summary.GetProperty("type").GetString());
        Assert.Equal(events.Count, summary.GetProperty("received").GetInt64()); // counted once across the kills
        Assert.Equal(events.Count, summary.GetProperty("digested").GetInt64());

        var byId = printed.GroupBy(d => d.GetProperty("digestId").GetString()!).ToList();
        int reprinted = printed.Count - byId.Count;
        output.WriteLine($"{events.Count} events, {kills} kills ({killedAfterClaim} right after a batch that claimed carries), {byId.Count} digests, {reprinted} printed a second time");
        // A digest printed twice is the same digest (the kill fell between printing and recording it).
        Assert.All(byId, g => Assert.Single(g.Select(d => Int(d, "eventCount")).Distinct()));
        Assert.True(reprinted <= kills, $"{reprinted} digests printed again after {kills} kills");
        // Every event in exactly one digest: per account, the digests' events add up to the events put.
        var unique = byId.Select(g => g.First()).ToList();
        Assert.Equal(events.Count, unique.Sum(d => Int(d, "eventCount")));
        Assert.Equal(
            events.GroupBy(e => e.Account).ToDictionary(g => g.Key, g => g.Count()).OrderBy(p => p.Key, StringComparer.Ordinal),
            unique.GroupBy(Account).ToDictionary(g => g.Key, g => g.Sum(d => Int(d, "eventCount"))).OrderBy(p => p.Key, StringComparer.Ordinal));
        // The ledger recorded each digest as posted exactly once, and only digests that were printed.
        var posts = File.ReadAllLines(checkpoint + ".ledger").Select(LiveRun.TryParse).OfType<JsonElement>()
            .Where(l => l.GetProperty("status").GetString() == "posted").Select(l => l.GetProperty("id").GetString()!).ToList();
        Assert.Equal(posts.Count, posts.Distinct().Count());
        Assert.Equal(byId.Select(g => g.Key).Order(StringComparer.Ordinal), posts.Order(StringComparer.Ordinal));

        // And the bursts are the file replay's: the restarts read what arrived meanwhile before they swept.
        var replay = Lines((await replaying).Stdout).Where(LiveRun.IsDigest).ToList();
        var (onlyLive, onlyReplay) = (Minus([.. unique.Select(Key)], [.. replay.Select(Key)]), Minus([.. replay.Select(Key)], [.. unique.Select(Key)]));
        output.WriteLine($"replay: {replay.Count} digests; bursts only live: {onlyLive.Count} [{string.Join("; ", onlyLive)}]; only in the replay: {onlyReplay.Count} [{string.Join("; ", onlyReplay)}]");
    }

    /// <summary>
    /// A sweep claims a carry, posts its digest, then writes back what is left. Killed between the claim and the write,
    /// it leaves the carry held by its lease (5 min). That sweep's process is gone: the next run neither waits the lease
    /// out nor gives up on the account, and its end-of-input sweep closes the burst, once.
    /// </summary>
    [SkippableFact]
    public async Task A_carry_held_by_a_sweep_killed_mid_way_is_closed_by_the_next_run_not_left_for_its_lease()
    {
        const string account = "456789012345";
        var (stream, client) = await NewStreamAsync(shards: 1);
        using var _ = client;
        var checkpoint = Path.Combine(_dir, "swept.json");
        string[] args = ["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", checkpoint,
            "--window", "1s", "--sweep-interval", "500ms", "--gap", "30s", "--lateness", "1s", "--rollup-min-accounts", "0", "-f", "json"];
        var start = LivePut.Now();
        var burst = Enumerable.Range(0, 6).Select(i => LivePut.Event(account, start + TimeSpan.FromMilliseconds(200 * i))).ToList();
        using (var run = LiveRun.Start(args))
        {
            await LivePut.InRealTimeAsync(client, stream, burst.Select(e => (e.Time, e)));
            Assert.True(await run.WaitUntilAsync(() => Carry(checkpoint, account) is { Owner: null, HasOpenBurst: true }, TimeSpan.FromSeconds(20)), run.Stderr);
            await run.KillAsync();
        }
        // What CarrySweeper's claim writes before it posts: the carry now belongs to a sweep of the killed process.
        var file = checkpoint + ".carries";
        var carries = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!;
        var item = carries["carries"]!.AsArray().Single(i => (string?)i!["account"] == account)!.AsObject();
        item["owner"] = "sweep:run-1-1";
        item["ownedUntil"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds();
        File.WriteAllText(file, carries.ToJsonString());

        var end = await PipelineProcess.RunAsync([.. args, "--until-idle"], timeout: TimeSpan.FromMinutes(1));

        Assert.True(end.ExitCode == 0, end.Stderr);
        var digest = Assert.Single(Lines(end.Stdout), LiveRun.IsDigest);
        Assert.Equal(account, Account(digest));
        Assert.Equal(6, Int(digest, "eventCount"));
        Assert.True(Carry(checkpoint, account) is null or { HasOpenBurst: false }); // no burst left open (the item may keep the dedupe memory)
    }

    /// <summary>
    /// `run` stopped while a burst was carried; the account goes on (its next calls arrive while nothing reads them) and
    /// the run restarts after the carried part fell due by the wall clock. The shard was never quiet: the restarted run
    /// reads what arrived before it sweeps, so the burst stays one digest, as the file replay has it.
    /// </summary>
    [SkippableFact]
    public async Task A_run_restarted_after_downtime_reads_what_arrived_before_sweeping_so_a_burst_across_the_downtime_stays_one()
    {
        const string account = "567890123456";
        var (stream, client) = await NewStreamAsync(shards: 1);
        using var _ = client;
        var checkpoint = Path.Combine(_dir, "downtime.json");
        string[] args = ["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", checkpoint,
            "--window", "1s", "--sweep-interval", "500ms", .. Window, "-f", "json"];
        var start = LivePut.Now();
        var burst = Enumerable.Range(0, 8).Select(i => LivePut.Event(account, start + TimeSpan.FromMilliseconds(300 * i))).ToList();
        var printed = new List<JsonElement>();
        using (var run = LiveRun.Start(args))
        {
            await LivePut.InRealTimeAsync(client, stream, burst.Take(4).Select(e => (e.Time, e)));
            // Every record read went through a window's end: the carry holds the four.
            Assert.True(await run.WaitUntilAsync(() => run.LogLines.Where(l => Message(l) == "window closed").Sum(l => l.GetProperty("received").GetInt32()) == 4
                && Carry(checkpoint, account) is { Owner: null, HasOpenBurst: true }, TimeSpan.FromSeconds(10)), run.Stderr);
            Assert.Equal(130, await run.InterruptAsync());
            printed.AddRange(run.Digests);
        }
        await LivePut.InRealTimeAsync(client, stream, burst.Skip(4).Select(e => (e.Time, e))); // 300 ms apart: the burst goes on
        var carriedDue = burst[3].Time + Gap + Lateness;
        var wait = carriedDue + TimeSpan.FromMilliseconds(300) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait); // the carried part is due by the wall clock; the whole burst is not yet

        using (var run = LiveRun.Start(args))
        {
            await run.WaitUntilAsync(() => printed.Concat(run.Digests).Sum(d => Int(d, "eventCount")) >= burst.Count, TimeSpan.FromSeconds(15));
            Assert.Equal(130, await run.InterruptAsync());
            printed.AddRange(run.Digests);
        }

        output.WriteLine(string.Join("\n", printed.Select(d => $"{At(d, "firstEventTime"):HH:mm:ss.fff} {Int(d, "eventCount")} {d.GetProperty("closedBy").GetString()}")));
        var digest = Assert.Single(printed);
        Assert.Equal(burst.Count, Int(digest, "eventCount"));
        Assert.Equal("quiet-gap", digest.GetProperty("closedBy").GetString());
    }

    /// <summary>Puts a generated organisation into a 2-shard stream in real time while `run` follows it, and replays the same events from a file.</summary>
    private async Task<(List<JsonElement> Live, List<JsonElement> Replay, IReadOnlyList<OrgStreamEvent> Events)> LiveAndReplayAsync(int seed, Func<string, bool> lagged, TimeSpan lag = default)
    {
        var (stream, client) = await NewStreamAsync(shards: 2);
        using var _ = client;
        var events = OrgStream.Generate(16, TimeSpan.FromSeconds(45), Gap, seed, start: LivePut.Now() + TimeSpan.FromSeconds(3));
        var file = Path.Combine(_dir, $"org-{seed}.jsonl");
        await File.WriteAllLinesAsync(file, events.Select(e => e.Line));
        var replaying = PipelineProcess.RunAsync(["digest", "-i", file, .. Window, "-f", "json"]);

        using var run = LiveRun.Start(["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", Path.Combine(_dir, $"live-{seed}.json"),
            "--window", "2s", "--sweep-interval", "500ms", .. Window, "-f", "json"]);
        await LivePut.InRealTimeAsync(client, stream, events.Select(e => (lagged(e.Account) ? e.Time + lag : e.Time, e)));
        var lastPut = DateTimeOffset.UtcNow;

        var replayRun = await replaying;
        Assert.True(replayRun.ExitCode == 0, replayRun.Stderr);
        var replay = Lines(replayRun.Stdout).Where(LiveRun.IsDigest).ToList();
        // Done when every event is in a digest, or at the deadline: the last burst falls due after its gap and lateness, then a few sweeps.
        var done = await run.WaitUntilAsync(() => run.Digests.Sum(d => Int(d, "eventCount")) >= events.Count, Gap + Lateness + TimeSpan.FromSeconds(10));
        var waited = DateTimeOffset.UtcNow - lastPut;
        Assert.Equal(130, await run.InterruptAsync());
        var lines = run.Lines;
        var live = lines.Select(l => l.Json).Where(LiveRun.IsDigest).ToList();
        Keep($"live-{seed}-stderr.log", run.Stderr);
        Keep($"live-{seed}-stdout.log", string.Join('\n', lines.Select(l => $"{l.At:HH:mm:ss.fff} {l.Json.GetRawText()}")));

        // How long after falling due (last event + gap + lateness) each digest was printed.
        var delays = lines.Where(l => LiveRun.IsDigest(l.Json))
            .Select(l => (l.At - At(l.Json, "lastEventTime") - Gap - Lateness).TotalSeconds).Order().ToList();
        output.WriteLine($"{events.Count} events of {events.Select(e => e.Account).Distinct().Count()} accounts over {(events[^1].Time - events[0].Time).TotalSeconds:0.0} s; " +
            $"live: {live.Count} digests ({(done ? "all events in" : "deadline reached")} {waited.TotalSeconds:0.0} s after the last put); replay: {replay.Count} digests");
        if (delays.Count > 0)
            output.WriteLine($"printed after falling due: median {delays[delays.Count / 2]:0.000} s, max {delays[^1]:0.000} s, min {delays[0]:0.000} s");
        output.WriteLine("live closedBy: " + string.Join(", ", live.GroupBy(d => d.GetProperty("closedBy").GetString()).Select(g => $"{g.Key} {g.Count()}")) +
            "; replay closedBy: " + string.Join(", ", replay.GroupBy(d => d.GetProperty("closedBy").GetString()).Select(g => $"{g.Key} {g.Count()}")));
        return (live, replay, events);
    }

    /// <summary>Live and replay digests name the same bursts (account, first event time, event count), within 3% of the replay's count.</summary>
    private void AssertSameBursts(List<JsonElement> live, List<JsonElement> replay, int eventCount)
    {
        var liveKeys = live.Select(Key).ToList();
        var replayKeys = replay.Select(Key).ToList();
        var onlyLive = Minus(liveKeys, replayKeys);
        var onlyReplay = Minus(replayKeys, liveKeys);
        output.WriteLine($"bursts only live: {onlyLive.Count} [{string.Join("; ", onlyLive)}]; only in the replay: {onlyReplay.Count} [{string.Join("; ", onlyReplay)}]");
        Assert.True(onlyLive.Count + onlyReplay.Count <= replay.Count * 3 / 100,
            $"live and replay differ by {onlyLive.Count + onlyReplay.Count} bursts of {replay.Count} (more than 3%)");
        Assert.DoesNotContain(live, d => d.GetProperty("closedBy").GetString() == "window-end");
        Assert.Equal(eventCount, replay.Sum(d => Int(d, "eventCount")));
        Assert.Equal(eventCount, live.Sum(d => Int(d, "eventCount")));
        Assert.Equal(live.Count, live.Select(d => d.GetProperty("digestId").GetString()).Distinct().Count());
    }

    /// <summary>Keeps a run's output in the folder LIVE_DEBUG_DIR names, when it is set (to look into a failure).</summary>
    private static void Keep(string name, string text)
    {
        if (Environment.GetEnvironmentVariable("LIVE_DEBUG_DIR") is { Length: > 0 } folder) File.WriteAllText(Path.Combine(folder, name), text);
    }

    private static List<string> Minus(List<string> a, List<string> b)
    {
        var rest = b.GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
        var only = new List<string>();
        foreach (var k in a)
        {
            if (rest.TryGetValue(k, out var n) && n > 0) rest[k] = n - 1;
            else only.Add(k);
        }
        return only;
    }

    private static string Key(JsonElement d) => $"{Account(d)} {At(d, "firstEventTime"):HH:mm:ss.fff} {Int(d, "eventCount")}";

    private async Task<(string Stream, Pipeline.Kinesis.KinesisClient Client)> NewStreamAsync(int shards)
    {
        var stream = "live-" + Guid.NewGuid().ToString("N")[..8];
        var client = LivePut.Client(kinesalite.Endpoint);
        await client.CreateStreamAsync(stream, shards);
        _streams.Add(stream);
        return (stream, client);
    }

    private sealed record CarryItem(string? Owner, string? Writer, bool HasState, bool HasOpenBurst);

    /// <summary>The account's item in the run's carry file (`CHECKPOINT.carries`), as a restarted run would find it.</summary>
    private static CarryItem? Carry(string checkpoint, string account)
    {
        var path = checkpoint + ".carries";
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            foreach (var item in doc.RootElement.GetProperty("carries").EnumerateArray())
                if (item.GetProperty("account").GetString() == account)
                    return new CarryItem(
                        item.TryGetProperty("owner", out var o) ? o.GetString() : null,
                        item.TryGetProperty("writer", out var w) ? w.GetString() : null,
                        item.TryGetProperty("state", out _),
                        item.TryGetProperty("dueAt", out _));
        }
        catch (IOException)
        {
            // Replaced while we read it: read it again on the next poll.
        }
        return null;
    }

    /// <summary>Whether the partition key's MD5 hash falls in the upper half of the hash key range (Kinesis' routing).</summary>
    private static bool IsUpperHalf(string partitionKey) =>
        System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(partitionKey))[0] >= 0x80;

    private static DateTimeOffset At(JsonElement d, string name) => DateTimeOffset.Parse(d.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);

    private static string Account(JsonElement d) => d.GetProperty("account").GetString()!;

    private static int Int(JsonElement d, string name) => d.TryGetProperty(name, out var v) ? v.GetInt32() : 0;

    private static string? Message(JsonElement log) => log.TryGetProperty("message", out var m) ? m.GetString() : null;

    private static List<JsonElement> Lines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(LiveRun.TryParse).OfType<JsonElement>()];
}
