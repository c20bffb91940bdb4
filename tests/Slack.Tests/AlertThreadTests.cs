using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Tests.Rendering;
using Pipeline.Slack.Threads;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests;

/// <summary>
/// With a bot token, an alert's message is remembered by the ts chat.postMessage answered, and its burst's digest is
/// posted later as a broadcast reply in that thread, each channel under its own copy of the alert. Against the
/// loopback Slack server (which answers each message a unique ts).
/// </summary>
public sealed class AlertThreadTests
{
    private const string Account = "111111111111";
    private const string Alerts = "#security-alerts";

    private static AccountInfo Info(string? channel) => new(Account, "acct-" + Account) { SlackChannel = channel };

    private static Alert AlertFor(string alertId, string digestId, string? channel = "#team-a") => new()
    {
        AlertId = alertId,
        Account = Account,
        AccountInfo = Info(channel),
        Event = new RiskyEvent("StopLogging", "root", SampleDigests.T0.AddMinutes(1), "CloudTrail logging stopped", RiskSeverity.Critical, "org-trail", "203.0.113.5", null, "us-east-1"),
        DigestId = digestId,
        RaisedAt = SampleDigests.T0.AddMinutes(1),
    };

    private static Digest DigestWith(string digestId, string? channel = "#team-a", params string[] alertIds) =>
        SampleDigests.Busy(Account, id: digestId) with { AccountInfo = Info(channel), AlertIds = alertIds };

    /// <summary>The one digest message in <paramref name="channel"/> with id <paramref name="digestId"/> (an alert names its digest too).</summary>
    private static AcceptedSlackMessage DigestIn(SlackFixture f, string channel, string digestId) =>
        Assert.Single(f.Server.AcceptedIn(channel), m => m.Contains($"closed by quiet gap · digest `{digestId}`"));

    private static AcceptedSlackMessage AlertIn(SlackFixture f, string channel) =>
        Assert.Single(f.Server.AcceptedIn(channel), m => m.Contains("the burst's digest follows"));

    [Fact]
    public async Task The_digest_is_posted_in_its_alerts_thread_and_broadcast_to_the_channel()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(f.BotOptions(), new InMemoryAlertThreads());

        Assert.Equal(SlackDeliveryStatus.Delivered, (await sink.PostAsync(AlertFor("alert-1", "digest-1"), default)).Status);
        Assert.Equal(SlackDeliveryStatus.Delivered, (await sink.PostAsync(DigestWith("digest-1", alertIds: "alert-1"), default)).Status);

        Assert.Equal(2, f.Server.Accepted.Count);
        var alert = f.Server.Accepted[0];
        var digest = f.Server.Accepted[1];
        Assert.True(alert.Contains("StopLogging"));
        Assert.True(alert.Contains("the burst's digest follows"));
        Assert.Equal(digest, DigestIn(f, "#team-a", "digest-1"));
        Assert.Equal(("#team-a", "#team-a"), (alert.Channel, digest.Channel));
        Assert.NotNull(alert.Ts);
        Assert.Null(alert.ThreadTs); // the alert starts the thread
        Assert.Equal(alert.Ts, digest.ThreadTs);
        Assert.True(digest.ReplyBroadcast);
        Assert.Empty(f.Server.Rejections);
    }

    [Fact]
    public async Task Each_channel_threads_the_digest_under_its_own_copy_of_the_alert()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(f.BotOptions() with { AlertChannel = Alerts }, new InMemoryAlertThreads());

        await sink.PostAsync(AlertFor("alert-1", "digest-1"), default);
        await sink.PostAsync(DigestWith("digest-1", alertIds: "alert-1"), default);

        var alertInTeam = AlertIn(f, "#team-a");
        var alertInAlerts = AlertIn(f, Alerts);
        Assert.NotEqual(alertInTeam.Ts, alertInAlerts.Ts);
        var digestInTeam = DigestIn(f, "#team-a", "digest-1");
        var digestInAlerts = DigestIn(f, Alerts, "digest-1");
        Assert.Equal(alertInTeam.Ts, digestInTeam.ThreadTs);
        Assert.Equal(alertInAlerts.Ts, digestInAlerts.ThreadTs);
        Assert.True(digestInTeam.ReplyBroadcast && digestInAlerts.ReplyBroadcast);
    }

    [Fact]
    public async Task A_digest_without_a_remembered_alert_is_not_threaded_and_the_first_remembered_alert_wins()
    {
        using var f = new SlackFixture();
        var threads = new InMemoryAlertThreads();
        var sink = await f.SinkAsync(f.BotOptions(), threads);

        await sink.PostAsync(AlertFor("alert-2", "digest-2"), default);
        await sink.PostAsync(AlertFor("alert-3", "digest-2"), default);
        await sink.PostAsync(DigestWith("digest-0"), default);                       // no alerts at all
        await sink.PostAsync(DigestWith("digest-1", alertIds: "alert-unknown"), default); // its alert was never posted here
        // alert-1 was never posted; alert-2 is the first of its alerts this channel has a message for.
        await sink.PostAsync(DigestWith("digest-2", alertIds: ["alert-1", "alert-2", "alert-3"]), default);

        Assert.Null(DigestIn(f, "#team-a", "digest-0").ThreadTs);
        Assert.False(DigestIn(f, "#team-a", "digest-0").ReplyBroadcast);
        Assert.Null(DigestIn(f, "#team-a", "digest-1").ThreadTs);
        Assert.Equal(f.Server.Accepted[0].Ts, DigestIn(f, "#team-a", "digest-2").ThreadTs);
        Assert.Equal(f.Server.Accepted[0].Ts, await threads.FindAsync("alert-2", "#team-a", default));
        Assert.Equal(f.Server.Accepted[1].Ts, await threads.FindAsync("alert-3", "#team-a", default));
        Assert.Null(await threads.FindAsync("alert-2", Alerts, default)); // remembered per channel
    }

    [Fact]
    public async Task A_webhook_threads_nothing_and_remembers_nothing()
    {
        using var f = new SlackFixture();
        var threads = new InMemoryAlertThreads();
        var sink = await f.SinkAsync(f.WebhookOptions(), threads);

        await sink.PostAsync(AlertFor("alert-1", "digest-1"), default);
        await sink.PostAsync(DigestWith("digest-1", alertIds: "alert-1"), default);

        Assert.Equal(2, f.Server.Accepted.Count);
        Assert.All(f.Server.Accepted, m => Assert.Null(m.Ts));
        Assert.All(f.Server.Accepted, m => Assert.Null(m.ThreadTs));
        Assert.All(f.Server.Accepted, m => Assert.False(m.ReplyBroadcast));
        Assert.Null(await threads.FindAsync("alert-1", "webhook", default));
        Assert.True(f.Server.Accepted[1].Contains("alerted at once")); // the digest still says so in its text
    }

    [Fact]
    public async Task A_parked_digest_keeps_its_thread_and_its_resend_lands_in_it()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(f.BotOptions(maxAttempts: 1), new InMemoryAlertThreads());
        await sink.PostAsync(AlertFor("alert-1", "digest-1"), default);
        var alertTs = f.Server.Accepted[0].Ts;
        f.Server.Enqueue(new SlackFault.ServerError(), "#team-a");

        var result = await sink.PostAsync(DigestWith("digest-1", alertIds: "alert-1"), default);
        var parked = await sink.ParkAsync(DigestWith("digest-9", alertIds: "alert-1"), "not tried", default);

        Assert.Equal(SlackDeliveryStatus.Outboxed, result.Status);
        Assert.Equal(SlackDeliveryStatus.Outboxed, parked.Status);
        var entries = new List<OutboxEntry>();
        await foreach (var item in f.Outbox.ReadAllAsync(null, default)) entries.Add(item.Entry);
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e =>
        {
            Assert.Contains($"\"thread_ts\":\"{alertTs}\"", System.Text.Encoding.UTF8.GetString(e.Payload.Span), StringComparison.Ordinal);
            Assert.Contains($"\"thread_ts\":\"{alertTs}\"", System.Text.Encoding.UTF8.GetString(e.PlainPayload.Span), StringComparison.Ordinal);
        });

        Assert.Equal(new ResendSummary(2, 0, 0), await (await f.ResenderAsync(f.BotOptions())).ResendAllAsync(default));
        foreach (var id in new[] { "digest-1", "digest-9" })
        {
            var resent = DigestIn(f, "#team-a", id);
            Assert.Equal(alertTs, resent.ThreadTs);
            Assert.True(resent.ReplyBroadcast);
        }
    }

    [Fact]
    public async Task A_thread_store_that_fails_costs_only_the_thread()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(f.BotOptions(), new UnreachableAlertThreads());

        Assert.Equal(SlackDeliveryStatus.Delivered, (await sink.PostAsync(AlertFor("alert-1", "digest-1"), default)).Status);
        Assert.Equal(SlackDeliveryStatus.Delivered, (await sink.PostAsync(DigestWith("digest-1", alertIds: "alert-1"), default)).Status);

        Assert.Equal(2, f.Server.Accepted.Count); // the alert once, the digest at the channel's top level
        Assert.Null(f.Server.Accepted[1].ThreadTs);
        Assert.Contains(f.Log, l => l.Contains("could not be remembered", StringComparison.Ordinal));
        Assert.Contains(f.Log, l => l.Contains("posted without a thread", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_in_memory_store_forgets_its_oldest_alerts_past_its_capacity()
    {
        var threads = new InMemoryAlertThreads(capacity: 2);
        await threads.RememberAsync("a1", "#c", "1.1", default);
        await threads.RememberAsync("a2", "#c", "1.2", default);
        await threads.RememberAsync("a3", "#c", "1.3", default);

        Assert.Null(await threads.FindAsync("a1", "#c", default));
        Assert.Equal("1.2", await threads.FindAsync("a2", "#c", default));
        Assert.Equal("1.3", await threads.FindAsync("a3", "#c", default));
    }

    /// <summary>A store whose backend is down (as a DynamoDB outage would be): every call fails.</summary>
    private sealed class UnreachableAlertThreads : IAlertThreads
    {
        public Task RememberAsync(string alertId, string channel, string ts, CancellationToken cancellationToken) =>
            Task.FromException(new IOException("store unreachable"));

        public Task<string?> FindAsync(string alertId, string channel, CancellationToken cancellationToken) =>
            Task.FromException<string?>(new IOException("store unreachable"));
    }
}
