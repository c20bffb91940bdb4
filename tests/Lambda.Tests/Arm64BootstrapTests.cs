using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;
using Xunit.Abstractions;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The arm64 bootstrap (what an arm64 function runs) under qemu-user, against the loopback Runtime API, with its
/// ledger and carry tables in dynalite (signed requests: the reason it needs an arm64 libssl), the outbox in our SQS
/// peer and digests posted to the loopback Slack. The same invocations are played to the x64 NativeAOT bootstrap,
/// and both must answer and post exactly the same.
/// </summary>
public sealed class Arm64BootstrapTests(Arm64BootstrapFixture arm64, AotBootstrapFixture x64, DynaliteFixture dynalite, ITestOutputHelper output)
    : IClassFixture<Arm64BootstrapFixture>, IClassFixture<AotBootstrapFixture>, IClassFixture<DynaliteFixture>
{
    // Emulated code runs several times slower, and the first call pays the JIT-less but emulated start-up (~1.5 s).
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(90);
    private const string WebhookPath = "T0ARM-B0ARM-arm64W3bh00k";

    /// <summary>What one bootstrap did with the scenario: each answer, what Slack took, and what it logged.</summary>
    private sealed record Run(
        List<(Dictionary<string, string>? State, List<string> Failures)> Answers,
        List<string> SlackBodies,
        List<string> RejectedSequenceNumbers,
        JsonObject WindowClosed,
        int SlackRequestsAfterFirstBatch,
        string Output);

    /// <summary>The same three invocations for both bootstraps (same bytes, same sequence numbers).</summary>
    private sealed class Scenario
    {
        private static JsonObject Call(string account, double minutes, string eventName = "CreateTags") =>
            Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes), eventName: eventName);

        // 1. A batch with two accounts' calls, a record that is not JSON and one whose data is not base64.
        public KinesisBatch First { get; } = new KinesisBatch()
            .Add(Call("111111111111", 0)).Add(Call("111111111111", 0.5, "AuthorizeSecurityGroupIngress")).Add(Call("222222222222", 0.2))
            .AddData("not json at all"u8.ToArray()).AddRawData("%%%");

        // 2. Later calls close the first two accounts' bursts (gap 2 min + lateness 1 min): two digests to Slack.
        public KinesisBatch Second { get; } = new KinesisBatch().Add(Call("333333333333", 5)).Add(Call("444444444444", 14));

        // 3. The window's final call (isFinalInvokeForWindow; the window ends at 15 min) posts account 3's burst, due
        //    at 8 min, and writes account 4's, due at 17 min, to the carry table.
        public KinesisBatch Final { get; } = new KinesisBatch { Final = true };
    }

    private static readonly Scenario Input = new();

    [SkippableFact]
    public async Task Arm64_bootstrap_under_qemu_answers_a_batch_a_malformed_record_and_the_final_window_call_as_the_x64_bootstrap_does()
    {
        var start = arm64.StartInfo(); // skips or fails when something is missing; waits for the cross-compile
        var clock = Stopwatch.StartNew();
        var arm = await PlayAsync(start);
        var armTime = clock.Elapsed;
        output.WriteLine($"arm64 bootstrap {(arm64.Published ? $"cross-compiled in {arm64.PublishTime.TotalSeconds:0} s" : "reused (sources unchanged)")}; scenario under qemu {armTime.TotalSeconds:0.0} s");

        // What the arm64 function did, on its own terms.
        Assert.All(arm.Answers, a => Assert.Empty(a.Failures));
        Assert.True(arm.Answers[0].State!.ContainsKey(WindowStateCodec.Key), arm.Output); // open bursts carried in the state
        Assert.Equal(0, arm.SlackRequestsAfterFirstBatch); // nothing closed yet
        Assert.Equal([Input.First.SequenceNumbers[3], Input.First.SequenceNumbers[4]], arm.RejectedSequenceNumbers);
        Assert.Empty(arm.Answers[2].State!); // the final call hands back an empty state: nothing left open
        Assert.Equal(3, arm.SlackBodies.Count);
        Assert.Contains(arm.SlackBodies[..2], b => b.Contains("111111111111", StringComparison.Ordinal) && b.Contains("AuthorizeSecurityGroupIngress", StringComparison.Ordinal));
        Assert.Contains(arm.SlackBodies[..2], b => b.Contains("222222222222", StringComparison.Ordinal));
        Assert.Contains("333333333333", arm.SlackBodies[2], StringComparison.Ordinal); // posted by the final call
        Assert.DoesNotContain(arm.SlackBodies, b => b.Contains("444444444444", StringComparison.Ordinal)); // carried
        Assert.True(arm.WindowClosed["balanced"]!.GetValue<bool>(), arm.WindowClosed.ToJsonString());
        Assert.Equal(7, arm.WindowClosed["received"]!.GetValue<long>());
        Assert.Equal(2, arm.WindowClosed["rejected"]!.GetValue<long>());
        Assert.Equal(4, arm.WindowClosed["digested"]!.GetValue<long>());
        Assert.Equal(1, arm.WindowClosed["carriedOut"]!.GetValue<long>());
        Assert.DoesNotContain(WebhookPath, arm.Output, StringComparison.Ordinal); // the secret never reaches a log

        // The x64 NativeAOT bootstrap on the same input: the same answers, posts and counts, byte for byte.
        clock.Restart();
        var x = await PlayAsync(X64StartInfo());
        output.WriteLine($"same scenario on the x64 bootstrap {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(x.Answers.Count, arm.Answers.Count);
        for (int i = 0; i < x.Answers.Count; i++)
        {
            Assert.Equal(x.Answers[i].State, arm.Answers[i].State);
            Assert.Equal(x.Answers[i].Failures, arm.Answers[i].Failures);
        }
        Assert.Equal(x.SlackBodies, arm.SlackBodies);
        Assert.Equal(x.RejectedSequenceNumbers, arm.RejectedSequenceNumbers);
        Assert.Equal(x.WindowClosed.ToJsonString(), arm.WindowClosed.ToJsonString());
    }

    private ProcessStartInfo X64StartInfo() => BootstrapProcess.StartInfo(x64.BootstrapPath);

    /// <summary>Plays the scenario to one bootstrap process, each with fresh tables, Slack, outbox and Runtime API.</summary>
    private async Task<Run> PlayAsync(ProcessStartInfo start)
    {
        using var client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        var ledger = await DynamoDbDigestLedgerTests.CreateTableAsync(client);
        var carries = await Carry.DynamoDbCarryStoreTests.CreateTableAsync(client);
        await using var api = new LocalRuntimeApi();
        using var slack = new LoopbackSlackServer();
        using var sqs = new LoopbackSqsServer();
        foreach (var (k, v) in LambdaEnvironment(api, ledger, carries, slack, sqs)) start.Environment[k] = v;
        using var process = new BootstrapProcess(start);

        var answers = new List<(Dictionary<string, string>? State, List<string> Failures)>();
        var first = await InvokeAsync(api, Input.First, process);
        answers.Add(first);
        int slackRequestsAfterFirst = slack.RequestCount;
        answers.Add(await InvokeAsync(api, Input.Second.With(first.State), process));
        answers.Add(await InvokeAsync(api, Input.Final.With(answers[1].State), process));

        var closed = JsonNode.Parse(process.LogLines("window closed").Single().GetRawText())!.AsObject();
        closed.Remove("timestamp"); // the wall clock: the only field that differs between two runs
        Assert.Empty(slack.Rejections);
        Assert.Empty(sqs.Messages()); // every digest went to Slack, none was parked
        return new Run(
            answers,
            [.. slack.AcceptedIn(WebhookPath).Select(m => m.Body)],
            [.. process.LogLines("record rejected").Select(l => l.GetProperty("sequenceNumber").GetString()!)],
            closed,
            slackRequestsAfterFirst,
            process.Output);
    }

    private static async Task<(Dictionary<string, string>? State, List<string> Failures)> InvokeAsync(LocalRuntimeApi api, KinesisBatch batch, BootstrapProcess process)
    {
        var id = api.Enqueue(batch.ToJson());
        var next = api.NextReplyAsync(ReplyTimeout);
        // A bootstrap that dies (no usable libssl aborts the process at the first signed request) fails the test
        // at once, with its output, rather than after the reply timeout.
        if (await Task.WhenAny(next, process.Exited) != next)
            Assert.Fail($"the bootstrap exited (code {process.ExitCode}) before answering {id}\n{process.Output}");
        RuntimeReply reply;
        try
        {
            reply = await next;
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\n" + process.Output, e);
        }
        Assert.True(reply.Kind == RuntimeReply.Response, $"{reply.Kind} {reply.ErrorType}: {reply.Text}\n{process.Output}");
        Assert.Equal(id, reply.RequestId);
        return KinesisBatch.ReadResponse(reply.Body);
    }

    private Dictionary<string, string> LambdaEnvironment(LocalRuntimeApi api, string ledger, string carries, LoopbackSlackServer slack, LoopbackSqsServer sqs) => new()
    {
        ["AWS_LAMBDA_RUNTIME_API"] = api.Address,
        ["LEDGER_TABLE"] = ledger,
        ["CARRY_TABLE"] = carries,
        ["DYNAMODB_ENDPOINT"] = dynalite.Endpoint,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ACCESS_KEY_ID"] = "x",
        ["AWS_SECRET_ACCESS_KEY"] = "x",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["SLACK_WEBHOOK_SECRET"] = "env:TEST_SLACK_WEBHOOK",
        ["TEST_SLACK_WEBHOOK"] = slack.WebhookUri(WebhookPath).ToString(),
        ["OUTBOX_QUEUE_URL"] = sqs.QueueUrl(),
        ["SQS_ENDPOINT"] = sqs.Endpoint,
        // Real time here: no pacing, no cooldown, the outbox drained (a signed SQS call) before every batch.
        ["SLACK_MIN_INTERVAL"] = "0",
        ["SLACK_COOLDOWN"] = "0",
        ["OUTBOX_DRAIN_INTERVAL"] = "0",
        ["BURST_GAP"] = "120",
        ["BURST_MAX_WINDOW"] = "900",
        ["BURST_LATENESS"] = "60",
        // The calls come from a role session: with roll-ups on they would wait for a sweep instead of being posted.
        ["ROLLUP_MIN_ACCOUNTS"] = "0",
    };
}
