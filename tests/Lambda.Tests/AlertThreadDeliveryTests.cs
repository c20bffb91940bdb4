using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Delivery;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;
using Pipeline.Slack;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The function's delivery in bot-token mode (<see cref="FunctionHost.CreateDelivery"/> with the DynamoDB ledger as its
/// alert threads, dynalite on loopback): an alert posted through the ledger by one invocation, its burst's digest by
/// another, which finds the alert's messages on the alert's ledger item and posts in their threads.
/// </summary>
public sealed class AlertThreadDeliveryTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IDisposable
{
    private const string Alerts = "#security-alerts";
    private readonly FakeTimeProvider _time = new(Events.T0);
    private readonly LoopbackSlackServer _slack = new("xoxb-11111-22222-thr3adT0ken");
    private readonly HttpClient _http = SlackDelivery.CreateHttpClient();
    private readonly StringWriter _logText = new();
    private readonly LoopbackSqsServer _sqs = new(TimeProvider.System);
    private AmazonSQSClient? _sqsClient;
    private AmazonDynamoDBClient? _dynamo;

    public void Dispose()
    {
        _http.Dispose();
        _slack.Dispose();
        _sqsClient?.Dispose();
        _sqs.Dispose();
        _dynamo?.Dispose();
    }

    /// <summary>One invocation's ledgered delivery, as the function builds it.</summary>
    private async Task<LedgeredDelivery> InvocationAsync(string table)
    {
        var env = new Dictionary<string, string>
        {
            ["LEDGER_TABLE"] = table,
            ["CARRY_TABLE"] = "carries",
            ["SLACK_MODE"] = "bot-token",
            ["SLACK_BOT_TOKEN_SECRET"] = "env:TEST_SLACK_TOKEN",
            ["TEST_SLACK_TOKEN"] = _slack.BotToken,
            ["SLACK_API_URL"] = _slack.ApiBaseUri.ToString(),
            ["SLACK_DEFAULT_CHANNEL"] = "#aws-activity",
            ["SLACK_ALERT_CHANNEL"] = Alerts,
            ["SLACK_MIN_INTERVAL"] = "0",
            ["OUTBOX_QUEUE_URL"] = _sqs.QueueUrl(),
            ["OUTBOX_DRAIN_INTERVAL"] = "off",
        };
        var options = LambdaOptions.FromEnvironment(n => env.GetValueOrDefault(n));
        var log = new LambdaLog(_logText, _time);
        var ledger = new DynamoDbDigestLedger(_dynamo!, table, _time, options.LedgerClaimLease, options.LedgerTtl);
        var sender = await SlackDelivery.CreateSenderAsync(FunctionHost.SlackOptions(options), new SeededRandom().NextDouble, _http,
            new SecretResolver(n => env.GetValueOrDefault(n)), new InstantTimeProvider(), line => log.Warn(line));
        var outbox = new SqsDigestOutbox(_sqsClient!, new SqsOutboxOptions { QueueUrl = options.OutboxQueueUrl });
        var (sink, _) = FunctionHost.CreateDelivery(options, sender, outbox, _time, log, threads: ledger);
        return new LedgeredDelivery(ledger, sink, log);
    }

    [SkippableFact]
    public async Task A_digest_posted_by_a_later_invocation_goes_in_its_alerts_thread_in_each_channel()
    {
        _dynamo = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        _sqsClient = new AmazonSQSClient(new BasicAWSCredentials("x", "x"),
            new AmazonSQSConfig { ServiceURL = _sqs.Endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        var table = await DynamoDbDigestLedgerTests.CreateTableAsync(_dynamo);
        var info = new AccountInfo("111111111111", "team-a-prod") { SlackChannel = "#team-a" };
        var alert = new Alert
        {
            AlertId = "alert-1",
            Account = "111111111111",
            AccountInfo = info,
            Event = new RiskyEvent("StopLogging", "root", Events.T0, "CloudTrail logging stopped", RiskSeverity.Critical, "org-trail", "203.0.113.5", null, "us-east-1"),
            DigestId = "digest-1",
            RaisedAt = Events.T0,
        };
        var digest = new Digest
        {
            DigestId = "digest-1", Account = "111111111111", AccountInfo = info,
            FirstEventTime = Events.T0, LastEventTime = Events.T0.AddMinutes(1), EventCount = 2, ErrorCount = 0, ReadOnlyCount = 0,
            EventNames = [new("StopLogging", 1), new("CreateTags", 1)], Principals = [new("root", 2)], Regions = [new("us-east-1", 2)],
            Sources = [new("cloudtrail.amazonaws.com", 2)], DetailTypes = [new("AWS API Call via CloudTrail", 2)],
            ErrorCodes = [], SourceIps = [], Risky = [alert.Event], RiskyCount = 1, Failures = [], Muted = [], Duplicates = 0,
            ClosedBy = BurstCloseReason.QuietGap, AlertIds = ["alert-1"],
        };

        Assert.True(await (await InvocationAsync(table)).DeliverAsync(alert, "shardId-000000000000", default));
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(await (await InvocationAsync(table)).DeliverAsync(digest, "shardId-000000000000", default));

        foreach (var channel in new[] { "#team-a", Alerts })
        {
            var messages = _slack.AcceptedIn(channel);
            Assert.Equal(2, messages.Count);
            Assert.True(messages[0].Contains("the burst's digest follows"));
            Assert.Equal(messages[0].Ts, messages[1].ThreadTs);
            Assert.True(messages[1].ReplyBroadcast);
        }
        Assert.NotEqual(_slack.AcceptedIn("#team-a")[1].ThreadTs, _slack.AcceptedIn(Alerts)[1].ThreadTs);
        Assert.Empty(_sqs.Messages());
    }
}
