using Pipeline.Slack.Delivery;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests;

public sealed class OutboxTests
{
    [Fact]
    public async Task Resend_delivers_outboxed_digests_in_order_and_deletes_them()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(f.BotOptions(maxAttempts: 1));
        var digests = Enumerable.Range(0, 3).Select(i => SlackFixture.DigestFor("111122223333", i, "#team")).ToList();
        f.Server.Enqueue(new SlackFault.ServerError(), times: 3);
        var results = await sink.DeliverAllAsync(digests, default);
        Assert.All(results, r => Assert.Equal(SlackDeliveryStatus.Outboxed, r.Status));
        Assert.Equal(3, f.OutboxFiles().Length);
        Assert.Empty(f.Server.Accepted);

        var resender = await f.ResenderAsync(f.BotOptions());
        var summary = await resender.ResendAllAsync(default);

        Assert.Equal(new Outbox.ResendSummary(3, 0, 0), summary);
        Assert.Empty(f.OutboxFiles());
        var accepted = f.Server.AcceptedIn("#team");
        Assert.Equal(3, accepted.Count);
        for (int i = 0; i < 3; i++) Assert.True(accepted[i].Contains($"`{digests[i].DigestId}`"));
    }

    [Fact]
    public async Task Resend_that_fails_again_keeps_the_entry_for_next_time()
    {
        using var f = new SlackFixture();
        var sink = await f.SinkAsync(f.WebhookOptions(maxAttempts: 1));
        f.Server.Enqueue(new SlackFault.ServerError());
        await sink.PostAsync(SlackFixture.DigestFor("111122223333", 0), default);
        var file = Assert.Single(f.OutboxFiles());

        f.Server.Enqueue(new SlackFault.ChannelNotFound());
        var summary = await (await f.ResenderAsync(f.WebhookOptions())).ResendAllAsync(default);

        Assert.Equal(new Outbox.ResendSummary(0, 1, 0), summary);
        Assert.Equal(file, Assert.Single(f.OutboxFiles()));

        summary = await (await f.ResenderAsync(f.WebhookOptions())).ResendAllAsync(default);
        Assert.Equal(1, summary.Sent);
        Assert.Empty(f.OutboxFiles());
        Assert.Single(f.Server.Accepted);
    }

    [Fact]
    public async Task Unreadable_outbox_file_is_reported_and_left_in_place()
    {
        using var f = new SlackFixture();
        Directory.CreateDirectory(f.OutboxDirectory);
        var broken = Path.Combine(f.OutboxDirectory, "00000000T000000.0000000Z-000001-broken.json");
        await File.WriteAllTextAsync(broken, "{not json");

        var summary = await (await f.ResenderAsync(f.WebhookOptions())).ResendAllAsync(default);

        Assert.Equal(new Outbox.ResendSummary(0, 0, 1), summary);
        Assert.True(File.Exists(broken));
        Assert.Contains(f.Log, l => l.Contains("unreadable", StringComparison.Ordinal));
    }
}
