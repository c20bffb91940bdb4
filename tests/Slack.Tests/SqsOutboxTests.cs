using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;

namespace Pipeline.Slack.Tests;

/// <summary>
/// The SQS outbox through the real AWSSDK.SQS client, against our own minimal SQS peer on loopback
/// (<see cref="LoopbackSqsServer"/>: SendMessage/ReceiveMessage/DeleteMessage of the JSON protocol, with
/// visibility timeouts and receipt handles on a clock the test moves).
/// </summary>
public sealed class SqsOutboxTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 14, 0, 0, TimeSpan.Zero));
    private readonly LoopbackSqsServer _sqs;
    private readonly AmazonSQSClient _client;

    public SqsOutboxTests()
    {
        _sqs = new LoopbackSqsServer(_clock);
        _client = Client(_sqs.Endpoint);
    }

    internal static AmazonSQSClient Client(string endpoint, int retries = 0) => new(
        new BasicAWSCredentials("test", "test"),
        new AmazonSQSConfig { ServiceURL = endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = retries, Timeout = TimeSpan.FromSeconds(5) });

    private SqsDigestOutbox Outbox(TimeSpan? visibility = null) =>
        new(_client, new SqsOutboxOptions { QueueUrl = _sqs.QueueUrl(), VisibilityTimeout = visibility ?? TimeSpan.FromMinutes(15) });

    private static OutboxEntry Entry(string id, int payloadBytes = 100) => new(
        id, "webhook", new DateTimeOffset(2026, 11, 25, 14, 2, 11, TimeSpan.Zero), "HTTP 500",
        Encoding.UTF8.GetBytes($$"""{"text":"{{new string('x', payloadBytes)}} <!channel> é 🔴","blocks":[]}"""),
        Encoding.UTF8.GetBytes("""{"text":"plain"}"""));

    [Fact]
    public async Task The_sdk_speaks_the_json_protocol_the_peer_implements()
    {
        await Outbox().SaveAsync(Entry("d1"), default);
        await foreach (var item in Outbox().ReadAllAsync(null, default)) await Outbox().DeleteAsync(item.Location, default);

        Assert.Equal(["AmazonSQS.SendMessage", "AmazonSQS.ReceiveMessage", "AmazonSQS.DeleteMessage", "AmazonSQS.ReceiveMessage"], _sqs.Targets);
        Assert.Equal("application/x-amz-json-1.0", _sqs.LastContentType);
    }

    [Fact]
    public async Task Saved_entries_come_back_byte_for_byte_and_are_gone_once_deleted()
    {
        var outbox = Outbox();
        var entries = new[] { Entry("d1"), Entry("d2"), Entry("d3") };
        foreach (var e in entries) Assert.StartsWith("SQS message ", await outbox.SaveAsync(e, default), StringComparison.Ordinal);

        var read = new List<OutboxItem>();
        await foreach (var item in outbox.ReadAllAsync(null, default)) read.Add(item);

        Assert.Equal(["d1", "d2", "d3"], read.Select(i => i.Entry.DigestId));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(entries[i].Payload.ToArray(), read[i].Entry.Payload.ToArray());
            Assert.Equal(entries[i].PlainPayload.ToArray(), read[i].Entry.PlainPayload.ToArray());
            Assert.Equal(entries[i].FailedAt, read[i].Entry.FailedAt);
            Assert.Equal(entries[i].Reason, read[i].Entry.Reason);
        }
        foreach (var item in read) await outbox.DeleteAsync(item.Location, default);
        Assert.Empty(_sqs.Messages());
    }

    [Fact]
    public async Task A_message_body_is_the_same_json_as_an_outbox_file()
    {
        var dir = Path.Combine(Path.GetTempPath(), "outbox-shape-" + Guid.NewGuid().ToString("N"));
        try
        {
            var entry = Entry("d1");
            var file = await new FolderOutbox(dir).SaveAsync(entry, default);
            await Outbox().SaveAsync(entry, default);

            using var fromFile = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(file));
            using var fromQueue = System.Text.Json.JsonDocument.Parse(Assert.Single(_sqs.Messages()).Body);
            Assert.True(System.Text.Json.JsonElement.DeepEquals(fromFile.RootElement, fromQueue.RootElement));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_received_entry_is_hidden_from_a_second_reader_until_its_visibility_timeout_ends()
    {
        await Outbox().SaveAsync(Entry("d1"), default);
        var first = await ReadAll(Outbox(TimeSpan.FromMinutes(15)));
        Assert.Single(first);

        // Another shard's function reads while the first still holds it: nothing to see.
        Assert.Empty(await ReadAll(Outbox()));

        // The first never deleted it (its resend failed, or it died): it comes back after the timeout, once more received.
        _clock.Advance(TimeSpan.FromMinutes(15));
        var again = Assert.Single(await ReadAll(Outbox()));
        Assert.Equal("d1", again.Entry.DigestId);
        Assert.Equal(2, Assert.Single(_sqs.Messages()).ReceiveCount);

        // The stale handle of the first receive no longer deletes it; the latest does.
        await Outbox().DeleteAsync(first[0].Location, default);
        Assert.Single(_sqs.Messages());
        await Outbox().DeleteAsync(again.Location, default);
        Assert.Empty(_sqs.Messages());
    }

    [Fact]
    public async Task A_reader_that_stops_early_has_taken_only_what_it_was_handed()
    {
        var outbox = Outbox();
        for (int i = 0; i < 5; i++) await outbox.SaveAsync(Entry($"d{i}"), default);

        await foreach (var item in outbox.ReadAllAsync(null, default)) break;

        var messages = _sqs.Messages();
        Assert.Equal(1, messages.Count(m => !m.Visible));
        Assert.Equal(4, messages.Count(m => m.Visible && m.ReceiveCount == 0));
    }

    [Fact]
    public async Task An_entry_over_the_sqs_limit_is_refused_with_a_clear_message_and_nothing_is_sent()
    {
        var e = await Assert.ThrowsAsync<OutboxEntryTooLargeException>(() => Outbox().SaveAsync(Entry("big", payloadBytes: 300_000), default));

        Assert.Contains("big", e.Message, StringComparison.Ordinal);
        Assert.Contains("262,144", e.Message, StringComparison.Ordinal);
        Assert.Empty(_sqs.Targets);
    }

    [Fact]
    public async Task An_unreadable_message_is_reported_and_left_in_the_queue()
    {
        await _client.SendMessageAsync(_sqs.QueueUrl(), "not an outbox entry");
        await Outbox().SaveAsync(Entry("d1"), default);
        var problems = new List<string>();

        var read = new List<OutboxItem>();
        await foreach (var item in Outbox().ReadAllAsync((where, why) => problems.Add(where + ": " + why), default)) read.Add(item);

        Assert.Equal("d1", Assert.Single(read).Entry.DigestId);
        Assert.Single(problems);
        Assert.Equal(2, _sqs.Messages().Count);
    }

    [Fact]
    public async Task A_message_with_a_lone_surrogate_is_reported_as_unreadable_and_the_read_goes_on()
    {
        var bad = Encoding.UTF8.GetString(OutboxEntryJson.ToUtf8(Entry("placeholder"))).Replace("\"placeholder\"", "\"\\ud800\"", StringComparison.Ordinal);
        Assert.Contains("\\ud800", bad, StringComparison.Ordinal);
        await _client.SendMessageAsync(_sqs.QueueUrl(), bad);
        await Outbox().SaveAsync(Entry("d1"), default);
        var problems = new List<string>();

        var read = new List<OutboxItem>();
        await foreach (var item in Outbox().ReadAllAsync((where, why) => problems.Add(where + ": " + why), default)) read.Add(item);

        Assert.Equal("d1", Assert.Single(read).Entry.DigestId);
        Assert.Contains("not valid Unicode", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sqs_unavailable_makes_save_throw_so_the_caller_knows_the_digest_is_not_parked()
    {
        _sqs.Unavailable = true;
        await Assert.ThrowsAsync<AmazonSQSException>(() => Outbox().SaveAsync(Entry("d1"), default));
    }

    [Fact]
    public async Task Slack_outage_parks_digests_in_sqs_and_a_bounded_resend_delivers_and_deletes_them()
    {
        using var f = new SlackFixture();
        var sender = await SlackDelivery.CreateSenderAsync(f.WebhookOptions(maxAttempts: 1), f.Random.NextDouble, f.Http, f.Secrets, f.Time, f.Write);
        var outbox = Outbox();
        var sink = new SlackDigestSink(sender, outbox, time: f.Time, log: f.Write);
        f.Server.Enqueue(new SlackFault.ServerError(), times: 3);
        for (int i = 0; i < 3; i++)
            Assert.Equal(SlackDeliveryStatus.Outboxed, (await sink.PostAsync(SlackFixture.DigestFor("111122223333", i), default)).Status);
        Assert.Equal(3, _sqs.Messages().Count);
        Assert.DoesNotContain(_sqs.Messages(), m => m.Body.Contains(SlackFixture.WebhookSecretPath, StringComparison.Ordinal));

        var resender = new OutboxResender(sender, outbox, f.Write, f.Time);
        f.Server.Enqueue(new SlackFault.ChannelNotFound());
        var stopped = await resender.ResendAsync(new ResendLimits(10, TimeSpan.FromSeconds(20), StopAtFirstFailure: true), default);
        Assert.Equal((0, 1, true), (stopped.Sent, stopped.Failed, stopped.StoppedEarly));
        Assert.Equal(1, _sqs.Messages().Count(m => m.ReceiveCount > 0)); // the other two were not even taken

        var two = await resender.ResendAsync(new ResendLimits(2, TimeSpan.FromSeconds(20), StopAtFirstFailure: true), default);
        Assert.Equal((2, 0, true), (two.Sent, two.Failed, two.StoppedEarly));
        _clock.Advance(TimeSpan.FromMinutes(15));
        var rest = await resender.ResendAsync(new ResendLimits(10, TimeSpan.FromSeconds(20), StopAtFirstFailure: true), default);
        Assert.Equal((1, 0, false), (rest.Sent, rest.Failed, rest.StoppedEarly));

        Assert.Empty(_sqs.Messages());
        Assert.Equal(3, f.Server.Accepted.Count);
        Assert.Equal(3, f.Server.Accepted.Select(m => m.Body).Distinct().Count());
        Assert.DoesNotContain(f.Log, l => l.Contains(SlackFixture.WebhookSecretPath, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Two_resenders_on_one_queue_post_every_parked_digest_exactly_once()
    {
        using var f = new SlackFixture();
        for (int i = 0; i < 10; i++) await Outbox().SaveAsync(Entry($"d{i}", payloadBytes: 100 + i), default);
        // The visibility timeout is the claim: a message one resender received is hidden from the other.
        async Task<ResendSummary> Resend() => await new OutboxResender(
            await f.SenderAsync(f.WebhookOptions() with { AttemptTimeout = TimeSpan.FromMinutes(2) }, f.Secrets), Outbox(), f.Write, f.Time).ResendAllAsync(default);

        var summaries = await Task.WhenAll(Task.Run(Resend), Task.Run(Resend));

        Assert.Equal(10, summaries.Sum(s => s.Sent));
        Assert.Empty(_sqs.Messages());
        Assert.Equal(10, f.Server.Accepted.Count);
        Assert.Equal(10, f.Server.Accepted.Select(m => m.Body).Distinct().Count());
    }

    private static async Task<List<OutboxItem>> ReadAll(SqsDigestOutbox outbox)
    {
        var items = new List<OutboxItem>();
        await foreach (var item in outbox.ReadAllAsync(null, default)) items.Add(item);
        return items;
    }

    public void Dispose()
    {
        _client.Dispose();
        _sqs.Dispose();
    }
}
