using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Enricher.Accounts.DynamoDb;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;
using Pipeline.Slack;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The function in bot-token mode, built by <see cref="FunctionHost.CreateHandlerAsync"/> from its environment, with
/// the accounts table, the ledger and the carry table in DynamoDB (dynalite on loopback), Slack's Web API on the
/// loopback Slack server and the outbox in the SQS peer: each account's digest goes to the channel its item in the
/// accounts table names (also after its burst was carried to the sweeper), the others to SLACK_DEFAULT_CHANNEL, and
/// digests with risky events also to SLACK_ALERT_CHANNEL.
/// </summary>
public sealed class BotTokenRoutingTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IDisposable
{
    private const string Default = "#aws-activity";
    private const string Alerts = "#security-alerts";
    private const string TeamA = "111111111111", NoChannel = "222222222222", TeamC = "333333333333", Unlisted = "444444444444", TeamE = "555555555555";

    private readonly FakeTimeProvider _time = new(Events.T0);
    private readonly LoopbackSlackServer _slack = new("xoxb-11111-22222-r0ut1ngT0ken");
    private readonly HttpClient _http = SlackDelivery.CreateHttpClient();
    private readonly StringWriter _logText = new();
    private LoopbackSqsServer? _sqs;
    private AmazonSQSClient? _sqsClient;
    private AmazonDynamoDBClient? _dynamo;

    public void Dispose()
    {
        _http.Dispose();
        _slack.Dispose();
        _sqsClient?.Dispose();
        _sqs?.Dispose();
        _dynamo?.Dispose();
    }

    private static System.Text.Json.Nodes.JsonObject Call(string account, double minutes, string eventName = "CreateTags", string source = "ec2.amazonaws.com") =>
        Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes), eventName: eventName, eventSource: source);

    private static System.Text.Json.Nodes.JsonObject StopLogging(string account, double minutes) =>
        Call(account, minutes, "StopLogging", "cloudtrail.amazonaws.com");

    private async Task<(Windows.KinesisWindowHandler Handler, CarrySweeper Sweeper)> FunctionAsync()
    {
        _dynamo = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        var accounts = await DynamoDbDigestLedgerTests.CreateKeyedTableAsync(_dynamo, "accounts", AccountTable.KeyAttribute);
        // Items as docs/accounts.md describes them (attribute slackChannel), written as any importer would.
        foreach (var (id, name, channel) in new[] { (TeamA, "team-a-prod", "#team-a"), (NoChannel, "sandbox", null), (TeamC, "team-c-prod", "#team-c"), (TeamE, "team-e-dev", "#team-e") })
        {
            var item = new Dictionary<string, AttributeValue> { ["accountId"] = new() { S = id }, ["name"] = new() { S = name } };
            if (channel is not null) item["slackChannel"] = new() { S = channel };
            await _dynamo.PutItemAsync(accounts, item);
        }
        _sqs = new LoopbackSqsServer(_time);
        _sqsClient = new AmazonSQSClient(new BasicAWSCredentials("x", "x"),
            new AmazonSQSConfig { ServiceURL = _sqs.Endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        var env = new Dictionary<string, string>
        {
            ["LEDGER_TABLE"] = await DynamoDbDigestLedgerTests.CreateTableAsync(_dynamo),
            ["CARRY_TABLE"] = await Carry.DynamoDbCarryStoreTests.CreateTableAsync(_dynamo),
            ["ACCOUNTS_TABLE"] = accounts,
            ["SLACK_MODE"] = "bot-token",
            ["SLACK_BOT_TOKEN_SECRET"] = "env:TEST_SLACK_TOKEN",
            ["TEST_SLACK_TOKEN"] = _slack.BotToken,
            ["SLACK_API_URL"] = _slack.ApiBaseUri.ToString(),
            ["SLACK_DEFAULT_CHANNEL"] = Default,
            ["SLACK_ALERT_CHANNEL"] = Alerts,
            // Digest routing alone: the calls here come from one role (roll-ups would hold them) and StopLogging would
            // also be alerted at once; both have their own tests.
            ["ROLLUP_MIN_ACCOUNTS"] = "0",
            ["ALERT_SEVERITY"] = "off",
            ["SLACK_MIN_INTERVAL"] = "0", // the clock is the test's: no pacing waits
            ["OUTBOX_QUEUE_URL"] = _sqs.QueueUrl(),
            ["OUTBOX_DRAIN_INTERVAL"] = "off",
        };
        var options = LambdaOptions.FromEnvironment(n => env.GetValueOrDefault(n));
        return await FunctionHost.CreateHandlerAsync(options, new LambdaLog(_logText, _time), n => env.GetValueOrDefault(n), _time,
            new SeededRandom().NextDouble, default, _sqsClient, _http, _dynamo);
    }

    /// <summary>The account a message is for: the one account id it names (its header, its principals).</summary>
    private static string AccountOf(AcceptedSlackMessage m) =>
        Assert.Single(new[] { TeamA, NoChannel, TeamC, Unlisted, TeamE }, m.Contains);

    [SkippableFact]
    public async Task Each_account_lands_in_its_own_channel_the_rest_in_the_default_and_risky_digests_also_in_the_alert_channel()
    {
        var (handler, sweeper) = await FunctionAsync();

        // A, B, C and D are quiet from 0.5m on; E's event at 10m closes them. C and D did something risky. E's burst is
        // still open at the window's end: carried, and posted by the sweeper.
        var batch = new KinesisBatch()
            .Add(Call(TeamA, 0)).Add(Call(NoChannel, 0.1)).Add(StopLogging(TeamC, 0.2)).Add(Call(TeamC, 0.3)).Add(StopLogging(Unlisted, 0.5))
            .Add(Call(TeamE, 10));
        var first = await handler.HandleAsync(batch.ToEvent(), default);
        Assert.Empty(first.BatchItemFailures);
        var final = await handler.HandleAsync(new KinesisBatch { Final = true, State = first.State }.ToEvent(), default);
        Assert.Empty(final.BatchItemFailures);
        Assert.DoesNotContain(_slack.Accepted, m => AccountOf(m) == TeamE); // carried, not cut at the window's end

        _time.SetUtcNow(Events.T0.AddMinutes(30));
        var swept = await sweeper.SweepAsync("sweep-1", flushAll: false, default);
        Assert.Equal(1, swept.DigestsPosted);

        Assert.Equal([TeamA], _slack.AcceptedIn("#team-a").Select(AccountOf));
        Assert.Equal([TeamC], _slack.AcceptedIn("#team-c").Select(AccountOf));
        Assert.Equal([TeamE], _slack.AcceptedIn("#team-e").Select(AccountOf)); // its channel came back with its carry
        Assert.Equal([NoChannel, Unlisted], _slack.AcceptedIn(Default).Select(AccountOf).Order());
        Assert.Equal([TeamC, Unlisted], _slack.AcceptedIn(Alerts).Select(AccountOf).Order());
        Assert.Equal(7, _slack.Accepted.Count);
        Assert.All(_slack.Accepted, m => Assert.True(m.HasBlocks));
        Assert.Empty(_slack.Rejections);
        Assert.Empty(_sqs!.Messages());
        Assert.DoesNotContain(_slack.BotToken, _logText.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_refused_alert_copy_is_parked_in_the_outbox_with_its_channel_and_the_account_channel_still_gets_the_digest()
    {
        var (handler, _) = await FunctionAsync();
        _slack.Enqueue(new SlackFault.ChannelNotFound(), Alerts);

        var response = await handler.HandleAsync(new KinesisBatch().Add(StopLogging(TeamC, 0)).Add(Call(TeamE, 10)).ToEvent(), default);

        Assert.Empty(response.BatchItemFailures);
        Assert.Equal([TeamC], _slack.AcceptedIn("#team-c").Select(AccountOf));
        Assert.Empty(_slack.AcceptedIn(Alerts));
        var parked = Assert.Single(_sqs!.Messages());
        Assert.Contains($"\"channel\":\"{Alerts}\"", parked.Body, StringComparison.Ordinal);
    }
}
