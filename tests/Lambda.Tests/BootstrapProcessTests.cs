using System.Diagnostics;
using System.Text.Json;
using System.Text;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;
using Pipeline.TestSupport;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The NativeAOT bootstrap, started as Lambda starts it (no arguments, AWS_LAMBDA_RUNTIME_API set), against a
/// Runtime API on loopback that plays one shard's tumbling window, with the ledger in dynalite, digests posted
/// through the real Slack delivery to the loopback Slack server, and the outbox in our own minimal SQS peer.
/// </summary>
public sealed class BootstrapProcessTests(AotBootstrapFixture aot, DynaliteFixture dynalite)
    : IClassFixture<AotBootstrapFixture>, IClassFixture<DynaliteFixture>
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);
    private const string WebhookPath = "T0SECRET-B0SECRET-bootstrapW3bh00k";

    private Dictionary<string, string> LambdaEnvironment(LocalRuntimeApi api, string table, LoopbackSlackServer? slack = null, LoopbackSqsServer? sqs = null, string carryTable = "carries") => new()
    {
        ["AWS_LAMBDA_RUNTIME_API"] = api.Address,
        ["LEDGER_TABLE"] = table,
        ["CARRY_TABLE"] = carryTable,
        ["DYNAMODB_ENDPOINT"] = dynalite.Endpoint,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ACCESS_KEY_ID"] = "x",
        ["AWS_SECRET_ACCESS_KEY"] = "x",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        // The real Slack path: the webhook URL read from a secret reference (SSM in production), http only to loopback.
        ["SLACK_WEBHOOK_SECRET"] = "env:TEST_SLACK_WEBHOOK",
        ["TEST_SLACK_WEBHOOK"] = slack?.WebhookUri(WebhookPath).ToString() ?? "http://127.0.0.1:9/webhook/none",
        ["OUTBOX_QUEUE_URL"] = sqs?.QueueUrl() ?? "http://127.0.0.1:9/000000000000/outbox",
        ["SQS_ENDPOINT"] = sqs?.Endpoint ?? "http://127.0.0.1:9",
        // Real time in this test: no pacing, no cooldown after a refusal, a drain before every batch.
        ["SLACK_MIN_INTERVAL"] = "0",
        ["SLACK_COOLDOWN"] = "0",
        ["OUTBOX_DRAIN_INTERVAL"] = "0",
        ["BURST_GAP"] = "120",
        ["BURST_MAX_WINDOW"] = "900",
        ["STATE_MAX_BYTES"] = "6000",
        // The calls come from a role session: with roll-ups on they would wait for a sweep instead of being posted.
        ["ROLLUP_MIN_ACCOUNTS"] = "0",
    };

    private static System.Text.Json.Nodes.JsonObject Call(string account, double minutes) =>
        Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes));

    private static async Task<(Dictionary<string, string>? State, List<string> Failures, RuntimeReply Reply)> Invoke(LocalRuntimeApi api, KinesisBatch batch, BootstrapProcess process)
    {
        var id = api.Enqueue(batch.ToJson());
        RuntimeReply reply;
        try
        {
            reply = await api.NextReplyAsync(ReplyTimeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\n" + process.Output, e);
        }
        Assert.True(reply.Kind == RuntimeReply.Response, $"{reply.Kind} {reply.ErrorType}: {reply.Text}\n{process.Output}");
        Assert.Equal(id, reply.RequestId);
        var (state, failures) = KinesisBatch.ReadResponse(reply.Body);
        return (state, failures, reply);
    }

    /// <summary>Digests Slack accepted, in order: the digest id (from the payload's context line) and the payload.</summary>
    private static List<(string DigestId, AcceptedSlackMessage Message)> Posts(LoopbackSlackServer slack) =>
        [.. slack.AcceptedIn(WebhookPath).Select(m =>
        {
            const string marker = "digest `";
            int at = m.Body.LastIndexOf(marker, StringComparison.Ordinal);
            Assert.True(at >= 0, m.Body);
            int start = at + marker.Length;
            return (m.Body[start..m.Body.IndexOf('`', start)], m);
        })];

    [SkippableFact]
    public async Task Bootstrap_plays_a_tumbling_window_with_a_retried_batch_a_parked_and_drained_digest_an_oversize_state_and_a_final_invocation()
    {
        using var client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        var table = await DynamoDbDigestLedgerTests.CreateTableAsync(client);
        var carries = await Carry.DynamoDbCarryStoreTests.CreateTableAsync(client);
        await using var api = new LocalRuntimeApi();
        using var slack = new LoopbackSlackServer();
        using var sqs = new LoopbackSqsServer();
        using var process = new BootstrapProcess(aot.BootstrapPath, LambdaEnvironment(api, table, slack, sqs, carries));

        // 1. Normal batch with a malformed record and undecodable data: accepted, rejected, nothing posted yet.
        var first = new KinesisBatch().Add(Call("111111111111", 0)).Add(Call("111111111111", 0.5)).Add(Call("222222222222", 0.2))
            .AddData("not json at all"u8.ToArray()).AddRawData("%%%");
        var r1 = await Invoke(api, first, process);
        Assert.Empty(r1.Failures);
        Assert.True(r1.State!.ContainsKey(WindowStateCodec.Key));
        Assert.Equal(0, slack.RequestCount);
        var rejected = process.LogLines("record rejected");
        Assert.Equal([first.SequenceNumbers[3], first.SequenceNumbers[4]], rejected.Select(l => l.GetProperty("sequenceNumber").GetString()));

        // 2. A batch that closes two bursts; Slack takes the first and refuses the second, and the outbox is down too:
        //    the second digest is neither delivered nor parked, so the batch is retried from its start, state unchanged.
        var closing = new KinesisBatch { State = r1.State }.Add(Call("333333333333", 10));
        slack.Enqueue(new SlackFault.Accept());
        slack.Enqueue(new SlackFault.ChannelNotFound());
        sqs.Unavailable = true;
        var r2 = await Invoke(api, closing, process);
        Assert.Equal([closing.SequenceNumbers[0]], r2.Failures);
        Assert.Equal(r1.State, r2.State);
        Assert.Single(Posts(slack));
        Assert.Empty(sqs.Messages());

        // 3. Lambda retries the batch (the outbox is back): the digest posted before the failure is not posted again.
        sqs.Unavailable = false;
        var r3 = await Invoke(api, closing.With(r2.State), process);
        Assert.Empty(r3.Failures);
        var posts = Posts(slack);
        Assert.Equal(2, posts.Count);
        Assert.Equal(2, posts.Select(p => p.DigestId).Distinct().Count());
        Assert.All(posts, p => Assert.True(p.Message.HasBlocks));
        Assert.Contains(posts, p => p.Message.Contains("111111111111"));
        Assert.Contains(posts, p => p.Message.Contains("222222222222"));

        // 4. Slack refuses the next digest: it is parked in the SQS outbox and the invocation succeeds.
        slack.Enqueue(new SlackFault.ChannelNotFound());
        var r4 = await Invoke(api, new KinesisBatch { State = r3.State }.Add(Call("444444444444", 20)), process);
        Assert.Empty(r4.Failures);
        Assert.Equal(2, Posts(slack).Count);
        var parked = Assert.Single(sqs.Messages());
        Assert.Contains("333333333333", parked.Body, StringComparison.Ordinal);
        Assert.Single(process.LogLines("notice NOT delivered to Slack; parked in the outbox"));

        // 5. The next invocation, Slack being back, resends it from the outbox before its batch, and deletes it.
        var r5 = await Invoke(api, new KinesisBatch { State = r4.State }.Add(Call("444444444444", 20.5)), process);
        Assert.Empty(r5.Failures);
        Assert.Empty(sqs.Messages());
        posts = Posts(slack);
        Assert.Equal(3, posts.Count);
        Assert.Contains("333333333333", posts[2].Message.Body, StringComparison.Ordinal);
        Assert.Equal(1, Assert.Single(process.LogLines("outbox drained")).GetProperty("resent").GetInt32());

        // 6. Many accounts at once: the state would outgrow its budget, so the oldest bursts close early.
        var crowd = new KinesisBatch { State = r5.State };
        for (int i = 0; i < 120; i++) crowd.Add(Call($"{500000000000 + i}", 21 + i * 0.001));
        var r6 = await Invoke(api, crowd, process);
        Assert.Empty(r6.Failures);
        Assert.True(r6.Reply.Body.Length <= 6000, $"response is {r6.Reply.Body.Length} bytes");
        Assert.Contains(Posts(slack).Skip(3), p => p.Message.Contains("closed by window end"));
        var early = Assert.Single(process.LogLines("window state over its budget")).GetProperty("burstsClosedEarly").GetInt32();
        Assert.InRange(early, 1, 119);
        Assert.Equal(3 + early, Posts(slack).Count);

        // 7. The window's final invocation posts what is due by the window's end and carries the rest (here the crowd,
        //    whose calls came at 21m, after the window's end of 15m) to the carry table on dynalite.
        var r7 = await Invoke(api, new KinesisBatch { State = r6.State, Final = true }, process);
        Assert.Empty(r7.Failures);
        Assert.Empty(r7.State!);
        var end = Assert.Single(process.LogLines("window closed"));
        Assert.True(end.GetProperty("balanced").GetBoolean(), end.GetRawText());
        Assert.Equal(128, end.GetProperty("received").GetInt64());
        Assert.Equal(2, end.GetProperty("rejected").GetInt64());
        var carried = end.GetProperty("carriedOut").GetInt64();
        Assert.True(carried > 0, end.GetRawText());
        Assert.Equal(126 - carried, end.GetProperty("digested").GetInt64());

        // 8. The schedule's sweep: by the wall clock every carried burst is long due, so each is posted now, once.
        api.Enqueue(System.Text.Encoding.UTF8.GetBytes("""{"action":"sweep"}"""));
        var sweep = await api.NextReplyAsync(ReplyTimeout);
        Assert.Equal(RuntimeReply.Response, sweep.Kind);
        Assert.Contains("\"digestsPosted\"", sweep.Text, StringComparison.Ordinal);
        posts = Posts(slack);
        Assert.True(posts.Count == 124, $"{posts.Count} posts; sweep: {sweep.Text}; carried {carried}\n{string.Join("\n", process.LogLines("sweep").Select(l => l.GetRawText()))}"); // accounts 1, 2, 3, 4 and the 120 of the crowd: one digest each
        Assert.Equal(posts.Count, posts.Select(p => p.DigestId).Distinct().Count());
        Assert.Empty(slack.Rejections);
        Assert.Empty(sqs.Messages());
        Assert.DoesNotContain(WebhookPath, process.Output, StringComparison.Ordinal); // the secret never reaches a log

        // An event that is not a Kinesis event is an invocation error, and the function keeps serving.
        api.Enqueue("""{"hello":"world"}"""u8.ToArray());
        var error = await api.NextReplyAsync(ReplyTimeout);
        Assert.Equal(RuntimeReply.Error, error.Kind);
        Assert.Equal("FormatException", error.ErrorType);
        Assert.Contains("\"errorMessage\"", error.Text, StringComparison.Ordinal);
        Assert.Empty((await Invoke(api, new KinesisBatch { Window = KinesisBatch.WindowStart.AddMinutes(15) }.Add(Call("111111111111", 20)), process)).Failures);
    }

    [SkippableFact]
    public async Task Bootstrap_writes_one_emf_metrics_line_per_invocation_named_by_the_function()
    {
        using var client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        var table = await DynamoDbDigestLedgerTests.CreateTableAsync(client);
        var carries = await Carry.DynamoDbCarryStoreTests.CreateTableAsync(client);
        await using var api = new LocalRuntimeApi();
        using var slack = new LoopbackSlackServer();
        using var sqs = new LoopbackSqsServer();
        var env = LambdaEnvironment(api, table, slack, sqs, carries);
        env["AWS_LAMBDA_FUNCTION_NAME"] = "org-digests-aot";
        using var process = new BootstrapProcess(aot.BootstrapPath, env);

        // Two accounts' bursts closed by a third account's event; one unreadable record.
        var batch = new KinesisBatch().Add(Call("111111111111", 0)).Add(Call("222222222222", 0.2)).AddData("not json"u8.ToArray()).Add(Call("333333333333", 10));
        Assert.Empty((await Invoke(api, batch, process)).Failures);

        // The line is written before the response is sent; the test reads the process's stdout as it comes.
        var deadline = Stopwatch.StartNew();
        List<Metrics.EmfLine> lines;
        while ((lines = [.. process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("\"_aws\"", StringComparison.Ordinal)).Select(Metrics.EmfLine.Parse)]).Count == 0
               && deadline.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(20);
        var m = Assert.Single(lines);
        Assert.Equal("org-digests-aot", m.Dimension);
        Assert.Equal(4, m.Count(Configuration.FunctionMetrics.Received));
        Assert.Equal(1, m.Count(Configuration.FunctionMetrics.Rejected));
        Assert.Equal(3, m.Count(Configuration.FunctionMetrics.Digested));
        Assert.Equal(2, m.Count(Configuration.FunctionMetrics.DigestsPosted));
        Assert.Equal(2, m.Values(Configuration.FunctionMetrics.DigestLag).Count);
    }

    [SkippableFact]
    public async Task Bootstrap_with_an_invalid_configuration_reports_an_init_error_and_exits()
    {
        await using var api = new LocalRuntimeApi();
        var env = LambdaEnvironment(api, "ledger");
        env.Remove("LEDGER_TABLE");
        env.Remove("OUTBOX_QUEUE_URL");
        env["BURST_GAP"] = "soon";
        using var process = new BootstrapProcess(aot.BootstrapPath, env);

        var reply = await api.NextReplyAsync(ReplyTimeout);

        Assert.Equal(RuntimeReply.InitError, reply.Kind);
        Assert.Equal("Runtime.InvalidConfiguration", reply.ErrorType);
        using var body = JsonDocument.Parse(reply.Body);
        var message = body.RootElement.GetProperty("errorMessage").GetString();
        Assert.Contains("LEDGER_TABLE is not set", message, StringComparison.Ordinal);
        Assert.Contains("BURST_GAP='soon'", message, StringComparison.Ordinal);
        Assert.Contains("OUTBOX_QUEUE_URL is not set", message, StringComparison.Ordinal);
        Assert.Equal("Runtime.InvalidConfiguration", body.RootElement.GetProperty("errorType").GetString());
        var exit = process.WaitForExit(TimeSpan.FromSeconds(10));
        Assert.NotNull(exit);
        Assert.NotEqual(0, exit);
    }
}
