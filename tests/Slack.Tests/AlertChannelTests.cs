using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Enricher.Model;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;
using Pipeline.Slack.Tests.Rendering;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests;

/// <summary>
/// Routing by severity: with a bot token, a digest with risky events goes to its account's channel and also to the
/// alert channel; each channel's failure is parked on its own. Against the loopback Slack server.
/// </summary>
public sealed class AlertChannelTests
{
    private const string Alerts = "#security-alerts";

    private static SlackDeliveryOptions WithAlerts(SlackFixture f, int maxAttempts = 5) => f.BotOptions(maxAttempts) with { AlertChannel = Alerts };

    /// <summary>A digest with nothing risky in it (the fixture's <see cref="SlackFixture.DigestFor"/> has three risky events).</summary>
    private static Digest QuietFor(string account, int n, string? channel = null) =>
        SampleDigests.Quiet(account, id: $"quiet-{account}-{n:D3}") with
        {
            AccountInfo = new AccountInfo(account, "acct-" + account) { SlackChannel = channel },
        };

    private static List<string> IdsIn(IEnumerable<AcceptedSlackMessage> messages, IEnumerable<Digest> digests) =>
        messages.Select(m => digests.Single(d => m.Contains("`" + d.DigestId + "`")).DigestId).ToList();

    [Fact]
    public async Task The_alert_channel_receives_exactly_the_risky_digests_and_every_account_channel_still_gets_its_own()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(WithAlerts(f));
        Digest[] digests =
        [
            SlackFixture.DigestFor("111111111111", 0, "#team-a"),
            QuietFor("111111111111", 1, "#team-a"),
            QuietFor("222222222222", 0),
            SlackFixture.DigestFor("222222222222", 1),
            SlackFixture.DigestFor("333333333333", 0, "#team-c"),
        ];

        var results = new List<SlackDeliveryResult>();
        foreach (var d in digests) results.Add(await sink.PostAsync(d, default));

        // The result is the account channel's.
        Assert.Equal(["#team-a", "#team-a", "#security", "#security", "#team-c"], results.Select(r => r.Channel));
        Assert.All(results, r => Assert.Equal(SlackDeliveryStatus.Delivered, r.Status));
        var risky = digests.Where(d => d.RiskyCount > 0).Select(d => d.DigestId).ToList();
        Assert.Equal(3, risky.Count);
        Assert.Equal(risky, IdsIn(f.Server.AcceptedIn(Alerts), digests));
        Assert.Equal([digests[0].DigestId, digests[1].DigestId], IdsIn(f.Server.AcceptedIn("#team-a"), digests));
        Assert.Equal([digests[2].DigestId, digests[3].DigestId], IdsIn(f.Server.AcceptedIn("#security"), digests));
        Assert.Equal([digests[4].DigestId], IdsIn(f.Server.AcceptedIn("#team-c"), digests));
        Assert.Equal(digests.Length + risky.Count, f.Server.Accepted.Count);
        Assert.All(f.Server.AcceptedIn(Alerts), m => Assert.True(m.HasBlocks));
        Assert.Empty(f.Server.Rejections);
        Assert.Empty(f.OutboxFiles());
    }

    [Fact]
    public async Task Channels_for_a_digest_name_the_account_channel_first_and_the_alert_channel_once()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(WithAlerts(f));

        Assert.Equal(["#team-a", Alerts], sink.ChannelsFor(SlackFixture.DigestFor("111111111111", 0, "#team-a")));
        Assert.Equal(["#team-a"], sink.ChannelsFor(QuietFor("111111111111", 0, "#team-a")));
        // An account whose own channel is the alert channel gets one message, not two.
        Assert.Equal([Alerts], sink.ChannelsFor(SlackFixture.DigestFor("444444444444", 0, Alerts)));

        var results = await sink.DeliverAllAsync([SlackFixture.DigestFor("444444444444", 0, Alerts)], default);
        Assert.Equal(Alerts, Assert.Single(results).Channel);
        Assert.Single(f.Server.Accepted);
    }

    [Fact]
    public async Task Without_an_alert_channel_a_risky_digest_goes_to_its_account_channel_only()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(f.BotOptions());

        await sink.PostAsync(SlackFixture.DigestFor("111111111111", 0, "#team-a"), default);

        Assert.Equal("#team-a", Assert.Single(f.Server.Accepted).Channel);
    }

    [Fact]
    public async Task A_failing_alert_channel_is_parked_on_its_own_and_the_result_is_the_account_channels()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(WithAlerts(f));
        f.Server.Enqueue(new SlackFault.ChannelNotFound(), Alerts);
        var digest = SlackFixture.DigestFor("111111111111", 0, "#team-a");

        var result = await sink.PostAsync(digest, default);

        Assert.Equal((SlackDeliveryStatus.Delivered, "#team-a"), (result.Status, result.Channel));
        Assert.Single(f.Server.AcceptedIn("#team-a"));
        Assert.Empty(f.Server.AcceptedIn(Alerts));
        var entry = await ReadSingleEntryAsync(f);
        Assert.Equal((digest.DigestId, Alerts), (entry.DigestId, entry.Channel));
        Assert.Contains(f.Log, l => l.Contains("NOT delivered", StringComparison.Ordinal) && l.Contains(Alerts, StringComparison.Ordinal));

        // The parked copy goes back to the alert channel only.
        var summary = await (await f.ResenderAsync(WithAlerts(f))).ResendAllAsync(default);
        Assert.Equal(new ResendSummary(1, 0, 0), summary);
        Assert.Single(f.Server.AcceptedIn("#team-a"));
        Assert.Equal([digest.DigestId], IdsIn(f.Server.AcceptedIn(Alerts), [digest]));
    }

    [Fact]
    public async Task A_failing_account_channel_is_parked_while_the_alert_channel_still_gets_its_copy()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(WithAlerts(f, maxAttempts: 1));
        f.Server.Enqueue(new SlackFault.ServerError(), "#team-a");
        var digest = SlackFixture.DigestFor("111111111111", 0, "#team-a");

        var result = await sink.PostAsync(digest, default);

        Assert.Equal((SlackDeliveryStatus.Outboxed, "#team-a"), (result.Status, result.Channel));
        Assert.Single(f.Server.AcceptedIn(Alerts));
        var entry = await ReadSingleEntryAsync(f);
        Assert.Equal("#team-a", entry.Channel);
    }

    [Fact]
    public async Task Parking_a_risky_digest_keeps_one_entry_per_channel_and_resending_reaches_both()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(WithAlerts(f));
        var digest = SlackFixture.DigestFor("111111111111", 0, "#team-a");

        var result = await sink.ParkAsync(digest, "not tried", default);

        Assert.Equal((SlackDeliveryStatus.Outboxed, "#team-a"), (result.Status, result.Channel));
        Assert.Equal(0, f.Server.RequestCount);
        Assert.Equal(["#team-a", Alerts], (await ReadEntriesAsync(f)).Select(e => e.Channel));

        await ResendAndAssertEachChannelGotOneCopyAsync(f);
    }

    [Fact]
    public async Task Ctrl_c_while_the_alert_channels_copy_is_in_flight_parks_only_that_copy_and_a_resend_posts_each_channel_once()
    {
        using var f = new SlackFixture();
        var sink = new SlackDigestSink(await f.SenderAsync(WithAlerts(f), f.Secrets), f.Outbox, time: f.Time, log: f.Write, parkWhenCancelled: true);
        var held = new SlackFault.Held(); // the alert channel's post never gets an answer
        f.Server.Enqueue(held, Alerts);
        var digest = SlackFixture.DigestFor("111111111111", 0, "#team-a");
        using var stop = new CancellationTokenSource();

        var delivering = sink.DeliverAsync(digest, stop.Token);
        await held.Arrived.Task.WaitAsync(TimeSpan.FromMinutes(1));
        await stop.CancelAsync(); // Ctrl-C after the account channel's copy was delivered
        var outcome = await delivering;

        Assert.Equal(DeliveryStatus.Delivered, outcome.Status); // the result is the account channel's
        Assert.Single(f.Server.AcceptedIn("#team-a"));
        var entry = await ReadSingleEntryAsync(f); // the alert channel's copy only
        Assert.Equal(Alerts, entry.Channel);
        Assert.Contains("Slack may have it already", entry.Reason, StringComparison.Ordinal);

        await ResendAndAssertEachChannelGotOneCopyAsync(f);
    }

    [Fact]
    public async Task Ctrl_c_while_the_open_circuit_parks_a_risky_digest_keeps_one_entry_per_channel()
    {
        using var f = new SlackFixture();
        var circuit = new SlackCircuit(f.Time, TimeSpan.FromMinutes(1));
        await circuit.Pipeline.ExecuteAsync(_ => ValueTask.FromResult(new SendResult(false, false, 5, null, "HTTP 500") { SlackUnavailable = true }));
        Assert.True(circuit.IsOpen);
        using var stop = new CancellationTokenSource();
        var outbox = new StopAfterFirstSave(f.Outbox, stop); // Ctrl-C lands once the account channel's copy is parked
        var sink = new SlackDigestSink(await f.SenderAsync(WithAlerts(f), f.Secrets), outbox, time: f.Time, log: f.Write, circuit: circuit, parkWhenCancelled: true);

        var outcome = await sink.DeliverAsync(SlackFixture.DigestFor("111111111111", 0, "#team-a"), stop.Token);

        Assert.Equal(DeliveryStatus.Parked, outcome.Status);
        Assert.True(stop.IsCancellationRequested);
        Assert.Equal(["#team-a", Alerts], (await ReadEntriesAsync(f)).Select(e => e.Channel));
        Assert.Equal(0, f.Server.RequestCount);
        Assert.DoesNotContain(f.OutboxFiles(), p => p.EndsWith(".tmp", StringComparison.Ordinal));
    }

    /// <summary>An outbox that stops the run (as Ctrl-C would) right after its first entry is saved.</summary>
    private sealed class StopAfterFirstSave(IDigestOutbox inner, CancellationTokenSource stop) : IDigestOutbox
    {
        public async Task<string> SaveAsync(OutboxEntry entry, CancellationToken cancellationToken)
        {
            var location = await inner.SaveAsync(entry, cancellationToken);
            if (!stop.IsCancellationRequested) await stop.CancelAsync();
            return location;
        }

        public IAsyncEnumerable<OutboxItem> ReadAllAsync(Action<string, string>? unreadable, CancellationToken cancellationToken) => inner.ReadAllAsync(unreadable, cancellationToken);

        public Task DeleteAsync(string location, CancellationToken cancellationToken) => inner.DeleteAsync(location, cancellationToken);
    }

    [Fact]
    public void An_alert_channel_with_a_webhook_is_refused_at_start_up()
    {
        using var f = new SlackFixture();
        var e = Assert.Throws<SlackConfigurationException>(() => (f.WebhookOptions() with { AlertChannel = Alerts }).Validate());
        Assert.Contains("AlertChannel needs a bot token", e.Message, StringComparison.Ordinal);

        var blank = Assert.Throws<SlackConfigurationException>(() => (f.BotOptions() with { AlertChannel = " " }).Validate());
        Assert.Contains("AlertChannel is blank", blank.Message, StringComparison.Ordinal);
    }

    private static async Task<OutboxEntry> ReadSingleEntryAsync(SlackFixture f) => Assert.Single(await ReadEntriesAsync(f));

    private static async Task<List<OutboxEntry>> ReadEntriesAsync(SlackFixture f)
    {
        var entries = new List<OutboxEntry>();
        await foreach (var item in f.Outbox.ReadAllAsync(null, default)) entries.Add(item.Entry);
        return entries;
    }

    /// <summary>Resends the outbox; then the account channel and the alert channel each hold exactly one copy, and the outbox is empty.</summary>
    private static async Task ResendAndAssertEachChannelGotOneCopyAsync(SlackFixture f)
    {
        await (await f.ResenderAsync(WithAlerts(f))).ResendAllAsync(default);
        Assert.Single(f.Server.AcceptedIn("#team-a"));
        Assert.Single(f.Server.AcceptedIn(Alerts));
        Assert.Empty(f.OutboxFiles());
    }
}
