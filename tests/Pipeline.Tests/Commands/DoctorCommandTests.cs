using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Cli.Commands;
using Pipeline.Kinesis;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;

namespace Pipeline.Tests.Commands;

/// <summary>
/// `pipeline doctor` run as a user runs it, against a deployment made of kinesalite, dynalite, the loopback Slack and
/// the SQS stand-in, described by a stack-outputs file as `aws cloudformation describe-stacks` prints it.
/// </summary>
public sealed class DoctorCommandTests(KinesaliteFixture kinesalite, DynaliteFixture dynalite)
    : IClassFixture<KinesaliteFixture>, IClassFixture<DynaliteFixture>, IDisposable
{
    private const string WebhookVariable = "DOCTOR_TEST_WEBHOOK";
    private const string TokenVariable = "DOCTOR_TEST_TOKEN";
    private readonly LoopbackSlackServer _slack = new("xoxb-1111-2222-d0ct0rT0ken");
    private readonly LoopbackSqsServer _sqs = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("doctor-cli-").FullName;

    public void Dispose()
    {
        _slack.Dispose();
        _sqs.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed record Deployment(string Stream, string Accounts, string Ledger, string Carry, string Outbox, string Failed, string DeadLetters);

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The central stack's pieces, as the CDK app creates them (keys as infra/Constructs/StateTables.cs).</summary>
    private async Task<Deployment> DeployAsync(string ledgerKey = "digestId")
    {
        using (var kinesis = new KinesisClient(new KinesisClientOptions { ServiceUrl = new Uri(kinesalite.Endpoint), Credentials = new BasicAWSCredentials("x", "x") }))
        {
            var stream = Unique("org-events");
            await kinesis.CreateStreamAsync(stream, 1, waitUntilActive: true);
            using var dynamo = new AmazonDynamoDBClient(new BasicAWSCredentials("x", "x"),
                new AmazonDynamoDBConfig { ServiceURL = dynalite.Endpoint, AuthenticationRegion = "us-east-1" });
            return new Deployment(stream,
                await TableAsync(dynamo, "accounts", "accountId"), await TableAsync(dynamo, "ledger", ledgerKey), await TableAsync(dynamo, "carry", "account"),
                _sqs.QueueUrl("outbox"), _sqs.QueueUrl("failed-batches"), _sqs.QueueUrl("bus-dlq"));
        }
    }

    private static async Task<string> TableAsync(IAmazonDynamoDB dynamo, string prefix, string key)
    {
        var name = Unique(prefix);
        await Pipeline.Cli.Hosting.Kinesis.DynamoDbTables.CreateIfMissingAsync(dynamo, new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new(key, ScalarAttributeType.S)],
            KeySchema = [new(key, KeyType.HASH)],
        }, TimeProvider.System, default);
        return name;
    }

    /// <summary>What `aws cloudformation describe-stacks --stack-name org-digests` prints, for this deployment.</summary>
    private string OutputsFile(Deployment d)
    {
        var outputs = new JsonArray();
        foreach (var (key, value) in new[]
        {
            ("EventBusArn", "arn:aws:events:us-east-1:123456789012:event-bus/org-events"), ("StreamName", d.Stream),
            ("AccountsTableName", d.Accounts), ("LedgerTableName", d.Ledger), ("CarryTableName", d.Carry),
            ("FunctionName", "org-digests-fn"), ("LogGroupName", "/aws/lambda/org-digests-fn"),
            ("OutboxQueueUrl", d.Outbox), ("FailedBatchesQueueUrl", d.Failed), ("BusDeadLettersQueueUrl", d.DeadLetters),
        })
            outputs.Add(new JsonObject { ["OutputKey"] = key, ["OutputValue"] = value, ["Description"] = "…" });
        var path = Path.Combine(_dir, Unique("outputs") + ".json");
        File.WriteAllText(path, new JsonObject { ["Stacks"] = new JsonArray(new JsonObject { ["StackName"] = "org-digests", ["StackStatus"] = "CREATE_COMPLETE", ["Outputs"] = outputs }) }.ToJsonString());
        return path;
    }

    private Task<PipelineProcess.Result> DoctorAsync(string outputs, IEnumerable<string> extra, IDictionary<string, string>? environment = null) =>
        PipelineProcess.RunAsync(
            ["doctor", "--stack-outputs", outputs, "--kinesis-endpoint", kinesalite.Endpoint, "--dynamodb-endpoint", dynalite.Endpoint, "--sqs-endpoint", _sqs.Endpoint, .. extra],
            environment: environment);

    private Dictionary<string, string> WebhookEnvironment(Uri url) => new() { [WebhookVariable] = url.ToString() };

    /// <summary>The table's line for a check (its name, padded, then the result word and the detail).</summary>
    private static string Line(PipelineProcess.Result result, string check) =>
        Assert.Single(result.Stdout.Split('\n'), l => l.StartsWith(check + " ", StringComparison.Ordinal) && l[check.Length..].TrimStart() is ['P' or 'W' or 'F' or 'S', ..]);

    private static string ResultOf(PipelineProcess.Result result, string check) => Line(result, check)[check.Length..].TrimStart()[..4];

    [SkippableFact]
    public async Task A_healthy_deployment_passes_every_check_posts_nothing_to_slack_and_exits_0()
    {
        var d = await DeployAsync();

        var result = await DoctorAsync(OutputsFile(d), ["--slack-webhook", "env:" + WebhookVariable], WebhookEnvironment(_slack.WebhookUri("security-digests")));

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        foreach (var check in new[] { "kinesis stream", "accounts table", "ledger table", "carry table", "slack secret", "slack reachable", "outbox queue", "failed batches", "bus dead letters" })
            Assert.True(ResultOf(result, check) == "PASS", $"{check}:\n{result.Stdout}");
        Assert.Contains("ACTIVE, 1 open shard", Line(result, "kinesis stream"), StringComparison.Ordinal);
        Assert.Contains("webhook is live", Line(result, "slack reachable"), StringComparison.Ordinal);
        // dynalite reports TTL off, always: a warning with the command that turns it on, not a failure.
        Assert.Equal("WARN", ResultOf(result, "ledger TTL"));
        Assert.Contains("update-time-to-live", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("SKIP", ResultOf(result, "function errors"));
        Assert.Contains("aws logs tail /aws/lambda/org-digests-fn", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("9 passed, 2 warnings, 0 failed, 1 not checked", result.Stdout, StringComparison.Ordinal);
        Assert.Empty(_slack.Accepted); // the probe is refused by Slack: nothing posted
        Assert.Equal(1, _slack.RequestCount);
        Assert.DoesNotContain("/webhook/", result.Stdout + result.Stderr, StringComparison.Ordinal); // the URL is the secret
    }

    [SkippableFact]
    public async Task Each_broken_piece_fails_its_own_line_with_what_to_do_and_the_exit_code_is_7()
    {
        var d = await DeployAsync(ledgerKey: "id") with { Stream = "no-such-stream", Carry = "no-such-carry-table" };
        using (var sqs = new AmazonSQSClient(new BasicAWSCredentials("x", "x"), new AmazonSQSConfig { ServiceURL = _sqs.Endpoint, AuthenticationRegion = "us-east-1" }))
        {
            await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = d.Outbox, MessageBody = "{\"parked\":1}" });
            await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = d.Outbox, MessageBody = "{\"parked\":2}" });
            await sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = d.Failed, MessageBody = "{\"batch\":1}" });
        }
        // A revoked webhook: Slack answers 404 no_service for a URL it does not know.
        var dead = new Uri(_slack.BaseUri, "services/T000/B000/revoked");

        var result = await DoctorAsync(OutputsFile(d), ["--slack-webhook", "env:" + WebhookVariable], WebhookEnvironment(dead));

        Assert.Equal(7, result.ExitCode);
        Assert.Equal("FAIL", ResultOf(result, "kinesis stream"));
        Assert.Contains("no such stream", Line(result, "kinesis stream"), StringComparison.Ordinal);
        Assert.Equal("PASS", ResultOf(result, "accounts table"));
        Assert.Equal("FAIL", ResultOf(result, "ledger table"));
        Assert.Contains("key is id (HASH), the function expects digestId", Line(result, "ledger table"), StringComparison.Ordinal);
        Assert.Equal("FAIL", ResultOf(result, "carry table"));
        Assert.Contains("no such table", Line(result, "carry table"), StringComparison.Ordinal);
        Assert.Equal("PASS", ResultOf(result, "slack secret"));
        Assert.Equal("FAIL", ResultOf(result, "slack reachable"));
        Assert.Contains("webhook is dead: 404 no_service", Line(result, "slack reachable"), StringComparison.Ordinal);
        Assert.Equal("FAIL", ResultOf(result, "outbox queue"));
        Assert.Contains("2 message(s) waiting", Line(result, "outbox queue"), StringComparison.Ordinal);
        Assert.Equal("FAIL", ResultOf(result, "failed batches"));
        Assert.Equal("PASS", ResultOf(result, "bus dead letters"));
        Assert.Contains("→ create a new incoming webhook", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, _sqs.Messages("outbox").Count); // read, not received: the queue is as it was
        Assert.All(_sqs.Messages("outbox"), m => Assert.Equal(0, m.ReceiveCount));
    }

    [SkippableFact]
    public async Task An_unreadable_secret_fails_its_line_and_slack_is_not_tried()
    {
        var d = await DeployAsync();

        var result = await DoctorAsync(OutputsFile(d), ["--slack-webhook", "env:DOCTOR_TEST_UNSET_VARIABLE"]);

        Assert.Equal(7, result.ExitCode);
        Assert.Equal("FAIL", ResultOf(result, "slack secret"));
        Assert.Contains("DOCTOR_TEST_UNSET_VARIABLE", Line(result, "slack secret"), StringComparison.Ordinal);
        Assert.Equal("SKIP", ResultOf(result, "slack reachable"));
        Assert.Equal(0, _slack.RequestCount);
    }

    [SkippableFact]
    public async Task A_bot_token_is_checked_with_auth_test_and_a_wrong_one_fails()
    {
        var d = await DeployAsync();
        string[] args = ["--slack-token", "env:" + TokenVariable, "--slack-api-url", _slack.ApiBaseUri.ToString()];

        var good = await DoctorAsync(OutputsFile(d), args, new Dictionary<string, string> { [TokenVariable] = _slack.BotToken });
        var bad = await DoctorAsync(OutputsFile(d), args, new Dictionary<string, string> { [TokenVariable] = "xoxb-1111-2222-wr0ngT0ken" });

        Assert.True(good.ExitCode == 0, good.Stdout + good.Stderr);
        Assert.Contains("bot token is valid: workspace Loopback", Line(good, "slack reachable"), StringComparison.Ordinal);
        Assert.Equal(7, bad.ExitCode);
        Assert.Contains("bot token refused: invalid_auth", Line(bad, "slack reachable"), StringComparison.Ordinal);
        Assert.Empty(_slack.Accepted);
        Assert.DoesNotContain("wr0ngT0ken", bad.Stdout + bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_nothing_to_check_it_says_how_to_give_the_stack_outputs_and_exits_2()
    {
        var result = await PipelineProcess.RunAsync(["doctor"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("aws cloudformation describe-stacks", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Stack_outputs_are_read_from_describe_stacks_or_from_the_outputs_list_alone()
    {
        const string list = """[{"OutputKey":"StreamName","OutputValue":"org-events"},{"OutputKey":"LedgerTableName","OutputValue":"ledger"}]""";
        var whole = DeploymentTargets.ParseStackOutputs("""{"Stacks":[{"StackName":"x","Outputs":""" + list + "}]}");
        var alone = DeploymentTargets.ParseStackOutputs(list);

        Assert.Equal(whole, alone);
        var targets = DeploymentTargets.FromStackOutputs(whole);
        Assert.Equal(("org-events", "ledger", (string?)null), (targets.Stream, targets.LedgerTable, targets.CarryTable));
        Assert.Throws<FormatException>(() => DeploymentTargets.ParseStackOutputs("""{"Stacks":[]}"""));
        Assert.Throws<FormatException>(() => DeploymentTargets.ParseStackOutputs("not json"));
    }
}
