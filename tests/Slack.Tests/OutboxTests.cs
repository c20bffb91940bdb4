using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
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

        Assert.Equal(new ResendSummary(3, 0, 0), summary);
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

        Assert.Equal(new ResendSummary(0, 1, 0), summary);
        Assert.Equal(file, Assert.Single(f.OutboxFiles()));

        summary = await (await f.ResenderAsync(f.WebhookOptions())).ResendAllAsync(default);
        Assert.Equal(1, summary.Sent);
        Assert.Empty(f.OutboxFiles());
        Assert.Single(f.Server.Accepted);
    }

    [Fact]
    public async Task Resend_with_a_circuit_stops_at_the_first_entry_slack_fails_and_leaves_the_rest_untouched()
    {
        using var f = new SlackFixture();
        await ParkAsync(f, 3);
        var files = f.OutboxFiles();
        f.Server.Enqueue(new SlackFault.ServerError(), times: 100);
        var circuit = new SlackCircuit(f.Time, TimeSpan.FromMinutes(1));
        var resender = new OutboxResender(await f.SenderAsync(f.WebhookOptions(maxAttempts: 3), f.Secrets), new FolderOutbox(f.OutboxDirectory, log: f.Write), f.Write, f.Time, circuit);
        int before = f.Server.RequestCount;

        var summary = await resender.ResendAllAsync(default);

        Assert.Equal((0, 1, 0, true, true), (summary.Sent, summary.Failed, summary.Unreadable, summary.StoppedEarly, summary.SlackUnavailable));
        Assert.Equal(3, f.Server.RequestCount - before); // the first entry's attempts, and nothing after
        Assert.Equal(files, f.OutboxFiles()); // all kept under their own names, none claimed
        Assert.True(circuit.IsOpen);
        Assert.Contains(f.Log, l => l.Contains("the rest are left in the outbox", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resend_with_a_circuit_goes_on_past_an_entry_slack_refuses_for_its_channel()
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 3);
        f.Server.Enqueue(new SlackFault.ChannelNotFound());
        var circuit = new SlackCircuit(f.Time, TimeSpan.FromMinutes(1));
        var resender = new OutboxResender(await f.SenderAsync(f.WebhookOptions(), f.Secrets), new FolderOutbox(f.OutboxDirectory, log: f.Write), f.Write, f.Time, circuit);

        var summary = await resender.ResendAllAsync(default);

        Assert.Equal(new ResendSummary(2, 1, 0), summary);
        Assert.False(circuit.IsOpen);
        Assert.Single(f.OutboxFiles());
        Assert.Equal(2, f.Server.Accepted.Count);
    }

    // ---- Claims: resenders sharing one folder ----

    [Fact]
    public async Task Two_resenders_on_one_folder_post_every_parked_digest_exactly_once()
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 20);
        // The first post is held: its resender is stuck on one entry while the other runs through the folder.
        var release = new TaskCompletionSource();
        var held = new SlackFault.Held(release.Task);
        f.Server.Enqueue(held);

        var a = Task.Run(async () => await (await ResenderAsync(f)).ResendAllAsync(default));
        var b = Task.Run(async () => await (await ResenderAsync(f)).ResendAllAsync(default));
        await held.Arrived.Task;
        var first = await Task.WhenAny(a, b);
        release.SetResult();
        var summaries = await Task.WhenAll(a, b);

        Assert.Equal(19, (await first).Sent); // the free one sent all but the held one's entry, which it never saw
        Assert.Equal([1, 19], summaries.Select(s => s.Sent).Order());
        AssertPostedOnce(f, ids);
        Assert.Empty(f.OutboxFiles());
    }

    [Fact]
    public async Task A_claim_left_by_a_process_that_died_is_released_by_the_next_send()
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 1);
        using (var gone = Process.Start("true")!) // a real process, and by now not running
        {
            await gone.WaitForExitAsync();
            var entry = Assert.Single(f.OutboxFiles());
            File.Move(entry, FolderOutbox.ClaimPath(entry, gone.Id, f.Time.GetUtcNow(), FolderOutbox.ThisHost));
        }

        var summary = await (await ResenderAsync(f)).ResendAllAsync(default);

        Assert.Equal(1, summary.Sent);
        AssertPostedOnce(f, ids);
        Assert.Empty(f.OutboxFiles());
        Assert.Contains(f.Log, l => l.Contains("is no longer running", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_claim_of_a_running_process_is_left_alone_until_it_is_older_than_the_stale_age()
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 1);
        var clock = new FakeTimeProvider(f.Time.GetUtcNow());
        var entry = Assert.Single(f.OutboxFiles());
        var claim = FolderOutbox.ClaimPath(entry, Environment.ProcessId, clock.GetUtcNow(), FolderOutbox.ThisHost);
        File.Move(entry, claim);

        clock.Advance(FolderOutbox.DefaultStaleClaimAge - TimeSpan.FromMinutes(1));
        Assert.Equal(0, (await (await ResenderAsync(f, clock)).ResendAllAsync(default)).Sent);
        Assert.Equal([claim], f.OutboxFiles());
        Assert.Empty(f.Server.Accepted);

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, (await (await ResenderAsync(f, clock)).ResendAllAsync(default)).Sent);
        AssertPostedOnce(f, ids);
        Assert.Empty(f.OutboxFiles());
    }

    // ---- Temporary files: a save that never finished ----

    [Fact]
    public async Task A_cancelled_save_leaves_no_temporary_file_behind()
    {
        using var f = new SlackFixture();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var entry = new OutboxEntry("d1", "webhook", f.Time.GetUtcNow(), "HTTP 500", "{\"text\":\"x\"}"u8.ToArray(), "{\"text\":\"x\"}"u8.ToArray());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new FolderOutbox(f.OutboxDirectory).SaveAsync(entry, cancelled.Token));

        Assert.Empty(f.OutboxFiles());
    }

    [Fact]
    public async Task A_temporary_file_older_than_the_stale_age_is_deleted_by_the_next_send_and_a_younger_one_is_left_alone()
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 1);
        var clock = new FakeTimeProvider(f.Time.GetUtcNow());
        string old = Path.Combine(f.OutboxDirectory, "20261125T140211.0000000Z-000009-old.json.tmp");
        string young = Path.Combine(f.OutboxDirectory, "20261125T140211.0000000Z-000010-young.json.tmp");
        await File.WriteAllTextAsync(old, "{\"version\":1,\"dig");
        await File.WriteAllTextAsync(young, "{\"version\":1,\"dig");
        File.SetLastWriteTimeUtc(old, (clock.GetUtcNow() - FolderOutbox.DefaultStaleClaimAge).UtcDateTime);
        File.SetLastWriteTimeUtc(young, (clock.GetUtcNow() - FolderOutbox.DefaultStaleClaimAge + TimeSpan.FromMinutes(1)).UtcDateTime);

        Assert.Equal(new ResendSummary(1, 0, 0), await (await ResenderAsync(f, clock)).ResendAllAsync(default));

        AssertPostedOnce(f, ids);
        Assert.Equal([young], f.OutboxFiles()); // neither was read as an entry; only the stale one is gone
        Assert.Contains(f.Log, l => l.Contains(Path.GetFileName(old), StringComparison.Ordinal) && l.Contains("temporary file", StringComparison.Ordinal));
    }

    // ---- Validation: an entry is checked before it is sent ----

    private const string Valid = """{"version":1,"digestId":"d-bad","channel":"webhook","failedAt":"2026-11-25T14:02:11+00:00","reason":"HTTP 500","payload":{"text":"hello","blocks":[]},"plainPayload":{"text":"hello"}}""";

    public static TheoryData<string, string> InvalidEntries => new()
    {
        { "string payload", Valid.Replace("""{"text":"hello","blocks":[]}""", "\"{\\\"text\\\":\\\"<!channel> posted as is\\\"}\"", StringComparison.Ordinal) },
        { "truncated JSON", Valid[..(Valid.Length / 2)] },
        { "missing channel", Valid.Replace("\"channel\":\"webhook\",", "", StringComparison.Ordinal) },
        { "huge entry", Valid.Replace("\"hello\",\"blocks\"", $"\"{new string('x', 300_000)}\",\"blocks\"", StringComparison.Ordinal) },
        { "live mentions asked for", Valid.Replace("\"blocks\":[]", "\"blocks\":[],\"parse\":\"full\"", StringComparison.Ordinal) },
        { "payload for another channel", Valid.Replace("{\"text\":\"hello\",", "{\"channel\":\"#ceo\",\"text\":\"hello\",", StringComparison.Ordinal) },
        { "a JSON array", "[1,2,3]" },
        // Valid JSON that JsonDocument accepts, but a lone surrogate is not text: reading it as a string throws.
        { "lone surrogate in the digest id", Valid.Replace("\"d-bad\"", "\"\\ud800\"", StringComparison.Ordinal) },
        { "lone surrogate in the channel", Valid.Replace("\"channel\":\"webhook\"", "\"channel\":\"web\\udc00hook\"", StringComparison.Ordinal) },
        { "lone surrogate in the reason", Valid.Replace("HTTP 500", "HTTP \\ud800 500", StringComparison.Ordinal) },
        { "lone surrogate in the text", Valid.Replace("{\"text\":\"hello\",", "{\"text\":\"hel\\ud800lo\",", StringComparison.Ordinal) },
        { "lone surrogate in a payload field name", Valid.Replace("\"blocks\":[]", "\"blocks\":[],\"\\ud800\":true", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(InvalidEntries))]
    public async Task An_invalid_entry_is_not_posted_but_moved_to_rejected_and_the_valid_ones_are_still_sent(string kind, string json)
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 1);
        var bad = Path.Combine(f.OutboxDirectory, "00000000T000000.0000000Z-000001-bad.json");
        await File.WriteAllTextAsync(bad, json);

        var summary = await (await ResenderAsync(f)).ResendAllAsync(default);

        Assert.True(new ResendSummary(1, 0, 1) == summary, $"{kind}: {summary}");
        AssertPostedOnce(f, ids); // only the valid one
        Assert.Equal(json, await File.ReadAllTextAsync(Path.Combine(f.OutboxDirectory, FolderOutbox.RejectedFolder, Path.GetFileName(bad))));
        Assert.Empty(f.OutboxFiles());
        Assert.Contains(f.Log, l => l.Contains(Path.GetFileName(bad), StringComparison.Ordinal) && l.Contains("not valid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rejected_entry_is_set_aside_once_and_a_later_send_has_nothing_to_reject()
    {
        using var f = new SlackFixture();
        Directory.CreateDirectory(f.OutboxDirectory);
        await File.WriteAllTextAsync(Path.Combine(f.OutboxDirectory, "00000000T000000.0000000Z-000001-broken.json"), "{not json");

        Assert.Equal(new ResendSummary(0, 0, 1), await (await ResenderAsync(f)).ResendAllAsync(default));
        Assert.Equal(new ResendSummary(0, 0, 0), await (await ResenderAsync(f)).ResendAllAsync(default));
        Assert.Equal(1, new FolderOutbox(f.OutboxDirectory).CountRejected());
        Assert.Equal(0, f.Server.RequestCount);
    }

    [Fact]
    public async Task Untrusted_text_from_an_entry_reaches_the_log_with_its_control_characters_shown_by_number()
    {
        using var f = new SlackFixture();
        Directory.CreateDirectory(f.OutboxDirectory);
        await File.WriteAllTextAsync(Path.Combine(f.OutboxDirectory, "0-\u001b]0;owned\u0007\u202e.json"), "{not json");
        var valid = Valid.Replace("HTTP 500", "HTTP 500\\u001b[2J\\u2028fake line", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(f.OutboxDirectory, "1-valid.json"), valid);

        await (await ResenderAsync(f)).ResendAllAsync(default);

        Assert.Single(f.Server.Accepted);
        Assert.DoesNotContain(f.Log, l => l.Any(c => char.IsControl(c) || c is '\u202e' or '\u2028'));
        Assert.Contains(f.Log, l => l.Contains("\\u001b]0;owned", StringComparison.Ordinal));
        Assert.Contains(f.Log, l => l.Contains("HTTP 500\\u001b[2J\\u2028fake line", StringComparison.Ordinal));
    }

    // ---- Stopping (Ctrl-C) ----

    [Fact]
    public async Task Stopped_during_a_slow_post_the_digest_in_flight_is_finished_and_deleted_and_the_rest_kept()
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 3);
        var rest = f.OutboxFiles()[2];
        var release = new TaskCompletionSource();
        var held = new SlackFault.Held(release.Task);
        f.Server.Enqueue(new SlackFault.Accept());
        f.Server.Enqueue(held);
        var clock = new FakeTimeProvider(f.Time.GetUtcNow()); // the grace never runs out here: Slack answers within it
        using var stop = new CancellationTokenSource();

        var run = (await ResenderAsync(f, clock)).ResendAllAsync(stop.Token);
        await held.Arrived.Task;
        await stop.CancelAsync();
        release.SetResult();
        var summary = await run;

        Assert.True(summary.Interrupted);
        Assert.Equal((2, 0, 0), (summary.Sent, summary.Failed, summary.Unreadable));
        Assert.Equal([rest], f.OutboxFiles()); // untouched, under its own name
        Assert.Equal(new ResendSummary(1, 0, 0), await (await ResenderAsync(f)).ResendAllAsync(default));
        AssertPostedOnce(f, ids);
    }

    [Fact]
    public async Task Stopped_while_slack_does_not_answer_the_post_is_abandoned_after_the_grace_and_its_entry_kept()
    {
        using var f = new SlackFixture();
        var ids = await ParkAsync(f, 2);
        var files = f.OutboxFiles();
        var held = new SlackFault.Held(); // never answers
        f.Server.Enqueue(held);
        var clock = new FakeTimeProvider(f.Time.GetUtcNow());
        using var stop = new CancellationTokenSource();

        var run = (await ResenderAsync(f, clock)).ResendAllAsync(stop.Token);
        await held.Arrived.Task;
        await stop.CancelAsync();
        clock.Advance(PatientAttempt); // the grace: one attempt's time
        var summary = await run;

        Assert.True(summary.Interrupted);
        Assert.Equal((0, 0), (summary.Sent, summary.Failed));
        Assert.Equal(files, f.OutboxFiles()); // both kept, under their own names: nothing claimed is left behind
        Assert.Contains(f.Log, l => l.Contains("stopped before Slack answered", StringComparison.Ordinal));
        Assert.Empty(f.Server.Accepted);

        Assert.Equal(new ResendSummary(2, 0, 0), await (await ResenderAsync(f)).ResendAllAsync(default));
        AssertPostedOnce(f, ids);
    }

    /// <summary>Parks <paramref name="count"/> digests (Slack refusing each once) and returns their ids in order.</summary>
    private static async Task<List<string>> ParkAsync(SlackFixture f, int count)
    {
        var sink = await f.SinkAsync(f.WebhookOptions(maxAttempts: 1));
        var digests = Enumerable.Range(0, count).Select(i => SlackFixture.DigestFor("111122223333", i)).ToList();
        f.Server.Enqueue(new SlackFault.ChannelNotFound(), times: count);
        foreach (var d in digests) Assert.Equal(SlackDeliveryStatus.Outboxed, (await sink.PostAsync(d, default)).Status);
        Assert.Equal(count, f.OutboxFiles().Length);
        return digests.Select(d => d.DigestId).ToList();
    }

    /// <summary>An attempt timeout that cannot fire on loopback, however loaded the machine: a held post ends only when the test says.</summary>
    private static readonly TimeSpan PatientAttempt = TimeSpan.FromMinutes(2);

    /// <summary>A resender with its own sender and its own view of the folder, as a second process would have.</summary>
    private static async Task<OutboxResender> ResenderAsync(SlackFixture f, TimeProvider? clock = null) =>
        new(await f.SenderAsync(f.WebhookOptions() with { AttemptTimeout = PatientAttempt }, f.Secrets), new FolderOutbox(f.OutboxDirectory, clock, log: f.Write), f.Write, clock);

    private static void AssertPostedOnce(SlackFixture f, List<string> ids)
    {
        var accepted = f.Server.Accepted;
        Assert.Equal(ids.Count, accepted.Count);
        foreach (var id in ids) Assert.Single(accepted, m => m.Contains($"`{id}`"));
    }
}
