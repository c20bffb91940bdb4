using System.Text.Json;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Enricher.Accounts;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;
using Pipeline.Slack;
using Pipeline.TestSupport.Lambda;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;
using Pipeline.TestSupport;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The window handler with the function's real delivery: Slack (the loopback Slack server) through the Slack
/// sender, the outbox in SQS (our own minimal SQS peer on loopback, through AWSSDK.SQS), the drain, the ledger in
/// memory. Slack's waits (backoff, pacing) end at once on an instant clock; cooldowns, drain intervals and SQS
/// visibility run on a clock the test moves.
/// </summary>
public sealed class LambdaSlackDeliveryTests : IDisposable
{
    private const string WebhookPath = "T0SECRET-B0SECRET-lambdaW3bh00k";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
    private readonly LoopbackSlackServer _slack = new();
    private readonly LoopbackSqsServer _sqs;
    private readonly AmazonSQSClient _sqsClient;
    private readonly HttpClient _http = SlackDelivery.CreateHttpClient();
    private readonly StringWriter _logText = new();
    private readonly InMemoryDigestLedger _ledger;
    private readonly LambdaOptions _options;

    public LambdaSlackDeliveryTests()
    {
        _sqs = new LoopbackSqsServer(_time);
        _sqsClient = new AmazonSQSClient(new BasicAWSCredentials("x", "x"),
            new AmazonSQSConfig { ServiceURL = _sqs.Endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        _ledger = new InMemoryDigestLedger(_time, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));
        var env = new Dictionary<string, string>
        {
            ["LEDGER_TABLE"] = "ledger",
            ["CARRY_TABLE"] = "carries",
            ["SLACK_WEBHOOK_SECRET"] = "env:TEST_SLACK_WEBHOOK",
            ["TEST_SLACK_WEBHOOK"] = _slack.WebhookUri(WebhookPath).ToString(),
            ["OUTBOX_QUEUE_URL"] = _sqs.QueueUrl(),
            ["OUTBOX_DRAIN_INTERVAL"] = "0",
        };
        _options = LambdaOptions.FromEnvironment(n => env.GetValueOrDefault(n));
        Env = n => env.GetValueOrDefault(n);
    }

    private Func<string, string?> Env { get; }

    private async Task<KinesisWindowHandler> Handler()
    {
        var log = new LambdaLog(_logText, _time);
        var sender = await SlackDelivery.CreateSenderAsync(FunctionHost.SlackOptions(_options), new SeededRandom().NextDouble, _http, new SecretResolver(Env), new InstantTimeProvider(), line => log.Warn(line));
        var outbox = new SqsDigestOutbox(_sqsClient, new SqsOutboxOptions { QueueUrl = _options.OutboxQueueUrl });
        var (poster, drain) = FunctionHost.CreateDelivery(_options, sender, outbox, _time, log);
        return new KinesisWindowHandler(new KinesisWindowHandlerOptions().WithoutRollups(), FileAccountDirectory.Empty, _ledger, new InMemoryCarryStore(), poster, log, _time, drain: drain);
    }

    private static System.Text.Json.Nodes.JsonObject Call(string account, double minutes) =>
        Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes));

    /// <summary>Two accounts' bursts, and a third account's event that closes them (past the quiet gap).</summary>
    private static KinesisBatch ClosingTwo() =>
        new KinesisBatch().Add(Call("111111111111", 0)).Add(Call("222222222222", 0.5)).Add(Call("333333333333", 10));

    private List<JsonElement> LogLines(string message) =>
        [.. _logText.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(e => e.GetProperty("message").GetString()!.StartsWith(message, StringComparison.Ordinal))];

    private string DigestIdOf(AcceptedSlackMessage m) =>
        Assert.Single(_ledger.Posted, id => m.Contains("`" + id + "`"));

    [Fact]
    public async Task Digests_reach_slack_once_each_as_block_kit()
    {
        var handler = await Handler();

        var response = await handler.HandleAsync(ClosingTwo().ToEvent(), default);

        Assert.Empty(response.BatchItemFailures);
        var accepted = _slack.AcceptedIn(WebhookPath);
        Assert.Equal(2, accepted.Count);
        Assert.All(accepted, m => Assert.True(m.HasBlocks));
        Assert.Contains(accepted, m => m.Contains("111111111111"));
        Assert.Contains(accepted, m => m.Contains("222222222222"));
        Assert.Empty(_slack.Rejections);
        Assert.Empty(_sqs.Messages());
        Assert.Equal(2, _ledger.Posted.Count);
    }

    [Fact]
    public async Task Slack_down_parks_the_digests_in_sqs_the_invocation_succeeds_and_the_next_one_with_slack_back_resends_them()
    {
        var handler = await Handler();
        _slack.Enqueue(new SlackFault.ServerError(), times: 3); // every attempt of the first digest fails

        var down = await handler.HandleAsync(ClosingTwo().ToEvent(), default);

        Assert.Empty(down.BatchItemFailures);
        Assert.Empty(_slack.Accepted);
        Assert.Equal(3, _slack.RequestCount); // the second digest was parked without trying: Slack had just failed
        Assert.Equal(2, _sqs.Messages().Count);
        Assert.Equal(2, _ledger.Posted.Count); // parked counts as done: a retry would not repeat it
        Assert.Equal(2, LogLines("notice NOT delivered to Slack; parked in the outbox").Count);
        Assert.DoesNotContain(WebhookPath, _logText.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(_sqs.Messages(), m => m.Body.Contains(WebhookPath, StringComparison.Ordinal));

        // Within the cooldown nothing is drained (Slack just failed): a batch goes by with no resend.
        var soon = await handler.HandleAsync(new KinesisBatch().Add(Call("444444444444", 11)).ToEvent(), default);
        Assert.Empty(soon.BatchItemFailures);
        Assert.Equal(3, _slack.RequestCount);

        _time.Advance(_options.SlackCooldown);
        var back = await handler.HandleAsync(new KinesisBatch().Add(Call("444444444444", 11.5)).ToEvent(), default);

        Assert.Empty(back.BatchItemFailures);
        var accepted = _slack.AcceptedIn(WebhookPath);
        Assert.Equal(2, accepted.Count);
        Assert.Equal(2, accepted.Select(DigestIdOf).Distinct().Count());
        Assert.Empty(_sqs.Messages());
        var drained = Assert.Single(LogLines("outbox drained"));
        Assert.Equal(2, drained.GetProperty("resent").GetInt32());
        Assert.Equal(2, LogLines("digest ").Count(l => l.GetProperty("message").GetString()!.Contains(" resent to ", StringComparison.Ordinal)));
        Assert.Equal(2, LogLines("batch processed").Last().GetProperty("outboxResent").GetInt32());

        // Drained once: later invocations find nothing to resend and Slack sees nothing twice.
        await handler.HandleAsync(new KinesisBatch().Add(Call("444444444444", 12)).ToEvent(), default);
        Assert.Equal(2, _slack.Accepted.Count);
    }

    /// <summary>A batch that closes one digest, for <paramref name="account"/> (another account's event, past the quiet gap, closes it).</summary>
    private static KinesisBatch ClosingOne(string account, double minutes) =>
        new KinesisBatch().Add(Call(account, minutes)).Add(Call("999999999999", minutes + 10));

    [Fact]
    public async Task The_cooldown_runs_from_slacks_refusal_parks_and_skips_the_drain_meanwhile_and_slack_is_tried_again_when_it_ends()
    {
        var handler = await Handler();
        var cooldown = _options.SlackCooldown;

        // 10:00:00 Slack refuses a digest through its 3 attempts: parked, and Slack is taken as down.
        _slack.Enqueue(new SlackFault.ServerError(), times: 3);
        await handler.HandleAsync(ClosingOne("111111111111", 0).ToEvent(), default);
        Assert.Equal(3, _slack.RequestCount);
        Assert.Single(_sqs.Messages());

        // 10:00:40 within the cooldown: no drain, and the digest is parked without a request to Slack.
        _time.Advance(cooldown * 2 / 3);
        var soon = await handler.HandleAsync(ClosingOne("222222222222", 20).ToEvent(), default);
        Assert.Empty(soon.BatchItemFailures);
        Assert.Equal(3, _slack.RequestCount);
        Assert.Equal(2, _sqs.Messages().Count);
        var parked = LogLines("notice NOT delivered to Slack; parked in the outbox").Last();
        Assert.Equal(0, parked.GetProperty("attempts").GetInt32());
        Assert.StartsWith("not tried: Slack failed less than 60 s ago", parked.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(LogLines("outbox drained"));

        // 10:01:00 a cooldown after the refusal (the digest parked meanwhile did not extend it): the drain tries Slack
        // again and resends both, then the batch's digest goes straight to Slack.
        _time.Advance(cooldown / 3);
        var back = await handler.HandleAsync(ClosingOne("333333333333", 40).ToEvent(), default);
        Assert.Empty(back.BatchItemFailures);
        Assert.Equal(2, Assert.Single(LogLines("outbox drained")).GetProperty("resent").GetInt32());
        Assert.Equal(3, _slack.AcceptedIn(WebhookPath).Count);
        Assert.Equal(6, _slack.RequestCount);
        Assert.Empty(_sqs.Messages());

        // Slack refuses again: a new cooldown from now, the next digest parked at once.
        _slack.Enqueue(new SlackFault.ServerError(), times: 3);
        await handler.HandleAsync(ClosingOne("444444444444", 60).ToEvent(), default);
        await handler.HandleAsync(ClosingOne("555555555555", 80).ToEvent(), default);
        Assert.Equal(9, _slack.RequestCount);
        Assert.Equal(2, _sqs.Messages().Count);
    }

    [Fact]
    public async Task Slack_and_the_outbox_both_down_fails_the_batch_with_its_state_unchanged_and_the_retry_loses_nothing()
    {
        var handler = await Handler();
        var batch = ClosingTwo();
        _slack.Enqueue(new SlackFault.ChannelNotFound());
        _sqs.Unavailable = true;

        var failed = await handler.HandleAsync(batch.ToEvent(), default);

        Assert.Equal([batch.SequenceNumbers[0]], failed.BatchItemFailures);
        Assert.True(failed.State is null || failed.State.Count == 0); // the incoming (empty) state, unchanged
        Assert.Empty(_ledger.Posted);
        Assert.Contains("neither delivered nor parked", Assert.Single(LogLines("batch will be retried")).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_slack.Accepted);

        // Lambda retries the batch once SQS is back (and Slack works again after the cooldown): each digest posted once.
        _sqs.Unavailable = false;
        _time.Advance(_options.SlackCooldown);
        var retried = await handler.HandleAsync(batch.With(failed.State).ToEvent(), default);

        Assert.Empty(retried.BatchItemFailures);
        var accepted = _slack.AcceptedIn(WebhookPath);
        Assert.Equal(2, accepted.Count);
        Assert.Equal(2, accepted.Select(DigestIdOf).Distinct().Count());
        Assert.Empty(_sqs.Messages());
    }

    [Fact]
    public async Task A_drain_stops_at_the_first_digest_slack_refuses_and_leaves_the_rest_untouched()
    {
        var handler = await Handler();
        _slack.Enqueue(new SlackFault.RateLimited(100_000)); // Slack failing: parked after one attempt, the circuit parks the other
        await handler.HandleAsync(ClosingTwo().ToEvent(), default);
        Assert.Equal(2, _sqs.Messages().Count);

        _time.Advance(_options.SlackCooldown);
        _slack.Enqueue(new SlackFault.ChannelNotFound());
        await handler.HandleAsync(new KinesisBatch().Add(Call("444444444444", 11)).ToEvent(), default);

        var messages = _sqs.Messages();
        Assert.Equal(2, messages.Count);
        Assert.Equal(1, messages.Count(m => m.ReceiveCount == 1 && !m.Visible)); // tried, hidden until its visibility timeout
        Assert.Equal(1, messages.Count(m => m.ReceiveCount == 0));               // never taken
        Assert.Empty(_slack.Accepted);
        Assert.Equal(1, Assert.Single(LogLines("outbox drained")).GetProperty("stillFailing").GetInt32());
    }

    [Fact]
    public async Task An_invalid_mute_rule_file_stops_the_function_at_start_up_naming_the_rule()
    {
        var file = Path.Combine(Path.GetTempPath(), "mute-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(file, """{"rules":[{"name":"noisy-ci","pattern":{"detail":{"eventName":"CreateTags"}}}]}""");
        try
        {
            var env = new Dictionary<string, string>
            {
                ["LEDGER_TABLE"] = "ledger",
            ["CARRY_TABLE"] = "carries", ["SLACK_WEBHOOK_PARAMETER"] = "/p", ["OUTBOX_QUEUE_URL"] = _sqs.QueueUrl(), ["MUTE_RULES"] = file,
            };
            var options = LambdaOptions.FromEnvironment(n => env.GetValueOrDefault(n));

            var e = await Assert.ThrowsAsync<LambdaConfigException>(() =>
                FunctionHost.CreateHandlerAsync(options, new LambdaLog(_logText, _time), n => env.GetValueOrDefault(n), _time, new SeededRandom().NextDouble, default));

            Assert.Contains("MUTE_RULES", e.Message, StringComparison.Ordinal);
            Assert.Contains("noisy-ci", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _sqsClient.Dispose();
        _sqs.Dispose();
        _slack.Dispose();
    }
}
