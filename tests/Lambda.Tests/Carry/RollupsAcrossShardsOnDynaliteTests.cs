using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rollups;
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
/// Roll-ups and alerts on the deployed path, with the carry table and the ledger in DynamoDB (dynalite on loopback): a
/// StackSet's change in four accounts closes on two shards, the handlers park the digests, the sweeper decides one
/// roll-up; the same events through the file path's core and planner make the same roll-up and the same notices.
/// </summary>
public sealed class RollupsAcrossShardsOnDynaliteTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = Events.T0;
    private const string StackSetRole = "stacksets-exec-abc123";
    private const string ShardX = "shardId-000000000000";
    private const string ShardY = "shardId-000000000001";
    private static readonly string[] Accounts = ["111111111111", "222222222222", "333333333333", "444444444444"];

    private readonly AmazonDynamoDBClient _client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly RecordingDigestSink _sink = new();
    private readonly StringWriter _logText = new();

    public void Dispose() => _client.Dispose();

    private static readonly DigestCoreOptions Core = new();

    private sealed record Deployment(KinesisWindowHandler Handler, CarrySweeper Sweeper, DynamoDbCarryStore Carries);

    private async Task<Deployment> DeployAsync()
    {
        var carries = new DynamoDbCarryStore(_client, await DynamoDbCarryStoreTests.CreateTableAsync(_client));
        var ledger = new DynamoDbDigestLedger(_client, await DynamoDbDigestLedgerTests.CreateTableAsync(_client), _time, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));
        var log = new LambdaLog(_logText, _time);
        var options = new KinesisWindowHandlerOptions { Core = Core };
        return new Deployment(
            new KinesisWindowHandler(options, FileAccountDirectory.Empty, ledger, carries, _sink, log, _time),
            new CarrySweeper(options.Core, FileAccountDirectory.Empty, carries, ledger, _sink, log, _time),
            carries);
    }

    private static JsonObject IamUser(string account, string name) => new()
    {
        ["type"] = "IAMUser",
        ["principalId"] = "AIDAEXAMPLE" + name.ToUpperInvariant(),
        ["arn"] = $"arn:aws:iam::{account}:user/{name}",
        ["accountId"] = account,
        ["userName"] = name,
    };

    /// <summary>The StackSet's three calls in each account, within half a minute; alice's own two calls in the first account.</summary>
    private static List<JsonObject> StackSetChange()
    {
        var calls = new List<JsonObject>();
        for (int a = 0; a < Accounts.Length; a++)
        {
            string[] names = ["CreateRole", "PutRolePolicy", "AttachRolePolicy"];
            for (int i = 0; i < names.Length; i++)
                calls.Add(Events.ApiCall(account: Accounts[a], time: T0.AddSeconds(5 + 10 * i + a), eventName: names[i], eventSource: "iam.amazonaws.com",
                    eventId: $"ss-{a}-{i}", envelopeId: $"env-ss-{a}-{i}", roleName: StackSetRole, session: "stacksets-session"));
        }
        calls.Add(Events.ApiCall(account: Accounts[0], time: T0.AddSeconds(12), eventName: "CreateTags", eventId: "alice-1", envelopeId: "env-alice-1", identity: IamUser(Accounts[0], "alice")));
        calls.Add(Events.ApiCall(account: Accounts[0], time: T0.AddSeconds(20), eventName: "RunInstances", eventId: "alice-2", envelopeId: "env-alice-2", identity: IamUser(Accounts[0], "alice")));
        return calls;
    }

    private static bool OnShardX(JsonObject call) => call["account"]!.GetValue<string>() is "111111111111" or "222222222222";

    private static KinesisWindowEvent Window(string shard, IEnumerable<JsonObject> calls, bool final, IReadOnlyDictionary<string, string>? state = null) =>
        new KinesisBatch { Window = T0, Final = final, State = state }.AddAll(calls).ToEvent() with { ShardId = shard };

    /// <summary>Both shards' 15-minute windows: a batch each, then the final calls (the bursts close by then, at about 7.5 min).</summary>
    private async Task RunWindowsAsync(Deployment d, List<JsonObject> calls)
    {
        foreach (var (shard, mine) in new[] { (ShardX, calls.Where(OnShardX).ToList()), (ShardY, calls.Where(c => !OnShardX(c)).ToList()) })
        {
            var batch = await d.Handler.HandleAsync(Window(shard, mine, final: false), default);
            Assert.Empty(batch.BatchItemFailures);
            var final = await d.Handler.HandleAsync(Window(shard, [], final: true, batch.State), default);
            Assert.Empty(final.BatchItemFailures);
        }
    }

    private List<JsonElement> LogLines(string message) =>
        [.. _logText.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("message").GetString()!.StartsWith(message, StringComparison.Ordinal))];

    private void AssertEveryWindowAndSweepBalanced()
    {
        var windows = LogLines("window closed");
        Assert.NotEmpty(windows);
        Assert.All(windows, l => Assert.True(l.GetProperty("balanced").GetBoolean(), l.GetProperty("identity").GetString()));
        Assert.All(LogLines("sweep done"), l => Assert.True(l.GetProperty("balanced").GetBoolean(), l.ToString()));
    }

    [SkippableFact]
    public async Task A_StackSet_change_on_two_shards_becomes_one_rollup_decided_by_the_sweeper_with_the_persons_calls_posted_apart()
    {
        var d = await DeployAsync();
        await RunWindowsAsync(d, StackSetChange());

        // The windows parked every digest (each has the StackSet's share): nothing posted yet, four held in the table.
        Assert.Empty(_sink.Notices);
        Assert.Equal(4, (await d.Carries.ListHeldAsync(default)).Count);
        Assert.Equal(4, LogLines("window closed").Sum(l => l.GetProperty("digestsHeld").GetInt64()));

        // A sweep before the group settled (gathering ends 3 min after the last burst closed, plus a window and a minute).
        _time.SetUtcNow(T0.AddMinutes(20));
        var early = await d.Sweeper.SweepAsync("s1", flushAll: false, default);
        Assert.Equal((4, 0, 4), (early.Rollups!.Held, early.Rollups.Released, early.Rollups.Waiting));
        Assert.Empty(_sink.Notices);

        _time.SetUtcNow(T0.AddMinutes(30));
        var sweep = await d.Sweeper.SweepAsync("s2", flushAll: false, default);

        Assert.Equal((4, 4, 0, 1), (sweep.Rollups!.Held, sweep.Rollups.Released, sweep.Rollups.Waiting, sweep.Rollups.RollupsPosted));
        var rollup = Assert.IsType<Rollup>(_sink.Notices[0]); // the roll-up before the digests it folds
        Assert.Equal("role/" + StackSetRole, rollup.ActorKey);
        Assert.Equal(Accounts, rollup.Accounts.Select(a => a.Account).Order(StringComparer.Ordinal));
        Assert.Equal(12, rollup.EventCount);
        // Only the person's share is a message of its own: the first account's digest, pointing at the roll-up.
        var posted = _sink.Notices.Where(n => n.Posted).ToList();
        Assert.Equal(2, posted.Count);
        var own = Assert.IsType<Digest>(posted[1]);
        Assert.Equal((Accounts[0], rollup.RollupId, 3, 5), (own.Account, own.RollupId, own.FoldedEventCount, own.EventCount));
        Assert.All(_sink.Posted.Where(p => p.Account != Accounts[0]), p => Assert.Equal((false, rollup.RollupId), (p.Posted, p.RollupId)));
        Assert.Empty(await d.Carries.ListHeldAsync(default)); // released, deleted
        AssertEveryWindowAndSweepBalanced();

        // A later sweep has nothing to decide and posts nothing again.
        _time.SetUtcNow(T0.AddMinutes(31));
        await d.Sweeper.SweepAsync("s3", flushAll: false, default);
        Assert.Equal(5, _sink.Notices.Count);
    }

    [SkippableFact]
    public async Task The_file_path_makes_the_same_rollup_and_the_same_notices_from_the_same_events()
    {
        var calls = StackSetChange();
        var d = await DeployAsync();
        await RunWindowsAsync(d, calls);
        _time.SetUtcNow(T0.AddMinutes(30));
        await d.Sweeper.SweepAsync("s1", flushAll: false, default);
        var deployed = _sink.Notices;

        // The file host's way: one core over the records in arrival order, the planner beside it, the end flushed.
        var core = new DigestCore(Core, FileAccountDirectory.Empty);
        var stage = new RollupStage(Core.Rollup, Core.Window);
        var records = calls.Select((c, i) => new RawRecord(c.Utf8(), new RecordOrigin("file", i))
        {
            ArrivalTime = DateTimeOffset.Parse(c["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
        }).OrderBy(r => r.ArrivalTime).ToList();
        var file = new List<Notice>();
        file.AddRange(stage.Next(await core.ProcessAsync(records, default), core.Clock));
        file.AddRange(stage.Next(core.TakeAlerts(), core.Flush(BurstCloseReason.EndOfInput), core.Clock));
        file.AddRange(stage.Finish());

        Assert.Equal(Assert.Single(file.OfType<Rollup>()).RollupId, Assert.Single(deployed.OfType<Rollup>()).RollupId);
        Assert.Equal(file.Select(n => (n.NoticeId, n.Posted)).Order(), deployed.Select(n => (n.NoticeId, n.Posted)).Order());
    }

    [SkippableFact]
    public async Task A_sweep_that_dies_after_posting_the_rollup_is_repeated_and_the_rollup_is_posted_once()
    {
        var d = await DeployAsync();
        await RunWindowsAsync(d, StackSetChange());
        _time.SetUtcNow(T0.AddMinutes(30));

        // Slack takes the roll-up, then fails on the first digest (the second notice): the sweep fails as a whole.
        _sink.FailWhen = _ => true;
        await Assert.ThrowsAnyAsync<Exception>(() => d.Sweeper.SweepAsync("s1", flushAll: false, default));
        Assert.Single(_sink.Notices.OfType<Rollup>());
        Assert.Equal(4, (await d.Carries.ListHeldAsync(default)).Count); // nothing released: the group is decided again

        _sink.FailWhen = null;
        _time.SetUtcNow(T0.AddMinutes(31));
        var retry = await d.Sweeper.SweepAsync("s2", flushAll: false, default);

        Assert.Equal((0, 1, 4), (retry.Rollups!.RollupsPosted, retry.Rollups.RollupsAlreadyPosted, retry.Rollups.Released));
        Assert.Single(_sink.Notices.OfType<Rollup>());
        Assert.Equal(4, _sink.Posted.Count);
        Assert.Equal(_sink.Posted.Count, _sink.Posted.Select(p => p.DigestId).Distinct().Count());
        Assert.Empty(await d.Carries.ListHeldAsync(default));
    }

    [SkippableFact]
    public async Task An_alert_is_posted_by_the_first_call_of_its_window_and_a_retried_batch_does_not_post_it_again()
    {
        var d = await DeployAsync();
        var account = "555555555555";
        var stop = Events.ApiCall(account: account, time: T0.AddMinutes(1), eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com",
            eventId: "stop-1", identity: Events.Root(account));
        var evt = Window(ShardX, [stop, Events.ApiCall(account: account, time: T0.AddMinutes(1.5), eventId: "after-1", identity: IamUser(account, "bob"))], final: false);

        var first = await d.Handler.HandleAsync(evt, default);

        Assert.Empty(first.BatchItemFailures);
        var alert = Assert.IsType<Alert>(Assert.Single(_sink.Notices)); // the window runs until 15 min; the alert did not wait
        Assert.Equal(("StopLogging", account), (alert.Event.EventName, alert.Account));
        Assert.Equal(1, LogLines("batch processed")[^1].GetProperty("alertsPosted").GetInt64());

        // Lambda retries the same batch with the same incoming state (say the response was lost).
        var retried = await d.Handler.HandleAsync(evt, default);
        Assert.Empty(retried.BatchItemFailures);
        Assert.Single(_sink.Notices);
        var line = LogLines("batch processed")[^1];
        Assert.Equal((0, 1), (line.GetProperty("alertsPosted").GetInt64(), line.GetProperty("alertsAlreadyPosted").GetInt64()));

        // The window ends; the burst's digest (root's calls: a person's, never held) lists the alert.
        await d.Handler.HandleAsync(Window(ShardX, [], final: true, retried.State), default);
        _time.SetUtcNow(T0.AddMinutes(30));
        await d.Sweeper.SweepAsync("s1", flushAll: false, default);
        var digest = Assert.Single(_sink.Posted);
        Assert.Contains(alert.AlertId, digest.AlertIds);
        var closed = Assert.Single(LogLines("window closed"));
        // The window's counts follow the state Lambda kept: the retried call's, which found the alert already posted.
        Assert.Equal((0, 1), (closed.GetProperty("alertsPosted").GetInt64(), closed.GetProperty("alertsAlreadyPosted").GetInt64()));
        AssertEveryWindowAndSweepBalanced();
    }
}
