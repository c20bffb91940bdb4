using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests;

/// <summary>A loopback Slack, an instant clock, a temporary outbox folder and a captured log, for one test.</summary>
internal sealed class SlackFixture : IDisposable
{
    /// <summary>The webhook "channel" is the secret part of the URL, as in production (hooks.slack.com/services/T…/B…/secret).</summary>
    public const string WebhookSecretPath = "T0SECRET-B0SECRET-w3bh00kS3cr3t";

    public LoopbackSlackServer Server { get; } = new("xoxb-11111-22222-T0kenS3cr3t");
    public InstantTimeProvider Time { get; } = new();
    public SeededRandom Random { get; } = new();
    public string OutboxDirectory { get; } = Path.Combine(Path.GetTempPath(), "slack-outbox-" + Guid.NewGuid().ToString("N"));
    public List<string> Log { get; } = [];
    public HttpClient Http { get; } = SlackDelivery.CreateHttpClient();

    /// <summary>
    /// The tests' attempt timeout: the longest the options allow, so it cannot fire on loopback however loaded the
    /// machine is. A shorter one would let a slow first request be retried after Slack had taken it, and counted twice.
    /// Only the tests of the timeout itself, against a Slack that never answers, set <see cref="HangTimeout"/>.
    /// </summary>
    public static readonly TimeSpan NoTimeout = TimeSpan.FromMinutes(2);

    /// <summary>For a Slack that never answers: every attempt times out, however fast or slow the machine.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromMilliseconds(200);

    public string WebhookUrl => Server.WebhookUri(WebhookSecretPath).ToString();
    public string Token => Server.BotToken;

    public SlackDeliveryOptions WebhookOptions(int maxAttempts = 5) => new()
    {
        Mode = SlackMode.Webhook,
        Secret = SecretReference.Parse("env:TEST_SLACK_WEBHOOK"),
        MaxAttempts = maxAttempts,
        AttemptTimeout = NoTimeout,
        AllowLoopbackHttp = true,
    };

    public SlackDeliveryOptions BotOptions(int maxAttempts = 5) => new()
    {
        Mode = SlackMode.BotToken,
        Secret = SecretReference.Parse("env:TEST_SLACK_TOKEN"),
        DefaultChannel = "#security",
        ApiBaseUrl = Server.ApiBaseUri,
        MaxAttempts = maxAttempts,
        AttemptTimeout = NoTimeout,
        AllowLoopbackHttp = true,
    };

    public SecretResolver Secrets => new(name => name switch
    {
        "TEST_SLACK_WEBHOOK" => WebhookUrl,
        "TEST_SLACK_TOKEN" => Token,
        _ => null,
    });

    public FolderOutbox Outbox => new(OutboxDirectory);

    public void Write(string line)
    {
        lock (Log) Log.Add(line);
    }

    public async Task<SlackDigestSink> SinkAsync(SlackDeliveryOptions options, Threads.IAlertThreads? threads = null) =>
        new(await SenderAsync(options, Secrets), Outbox, time: Time, log: Write, threads: threads);

    public async Task<OutboxResender> ResenderAsync(SlackDeliveryOptions options) =>
        new(await SenderAsync(options, Secrets), Outbox, Write);

    /// <summary>A sender to the loopback Slack, with this fixture's client, clock and log.</summary>
    public Task<SlackSender> SenderAsync(SlackDeliveryOptions options, SecretResolver secrets) =>
        SlackDelivery.CreateSenderAsync(options, Random.NextDouble, Http, secrets, Time, Write);

    public string[] OutboxFiles() => Directory.Exists(OutboxDirectory) ? Directory.GetFiles(OutboxDirectory).Order(StringComparer.Ordinal).ToArray() : [];

    public static Digest DigestFor(string account, int n, string? channel = null) =>
        Rendering.SampleDigests.Busy(account, id: $"digest-{account}-{n:D3}") with
        {
            AccountInfo = new AccountInfo(account, "acct-" + account) { SlackChannel = channel },
        };

    public void Dispose()
    {
        Http.Dispose();
        Server.Dispose();
        if (Directory.Exists(OutboxDirectory)) Directory.Delete(OutboxDirectory, recursive: true);
    }
}
