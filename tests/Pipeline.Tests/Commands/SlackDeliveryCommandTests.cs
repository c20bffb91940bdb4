using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Tests.Commands;

/// <summary>`pipeline demo|digest` posting to a real HTTP server on loopback that behaves like Slack, and `pipeline outbox send`.</summary>
public sealed class SlackDeliveryCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("slack-cli-").FullName;
    private readonly LoopbackSlackServer _slack = new();

    public void Dispose()
    {
        _slack.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private Dictionary<string, string> HookEnv(string channel = "#security") => new() { ["TEST_HOOK"] = _slack.WebhookUri(channel).ToString() };

    /// <summary>The secret part of a webhook URL, as in production (hooks.slack.com/services/T…/B…/secret).</summary>
    private const string WebhookSecret = "T0SECRET-B0SECRET-w3bh00kS3cr3t";

    private void AssertNoSecret(IEnumerable<string> texts)
    {
        foreach (var text in texts)
        {
            Assert.DoesNotContain(WebhookSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(_slack.WebhookUri(WebhookSecret).ToString(), text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Demo_posts_every_digest_once_in_order_within_slack_limits()
    {
        var outbox = Path.Combine(_dir, "outbox");
        var result = await DemoAsync(outbox);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = JsonLines(result.Stdout);
        var digestIds = PostedIds(lines);
        var accepted = _slack.AcceptedIn("#security");
        Assert.Equal(digestIds.Count, accepted.Count);
        for (int i = 0; i < digestIds.Count; i++) Assert.True(accepted[i].Contains(digestIds[i]), $"message {i} is not notice {digestIds[i]}");
        Assert.Empty(_slack.Rejections);
        Assert.Empty(_slack.InjectionProblems); // the demo's hostile user agent "<!channel> … <https://evil…|…>" arrives escaped
        Assert.Equal(digestIds.Count, lines[^1].GetProperty("delivered").GetInt32());
        Assert.Equal(digestIds.Count, lines[^1].GetProperty("messages").GetInt32());
        Assert.Equal(0, lines[^1].GetProperty("outboxed").GetInt32());
    }

    [Fact]
    public async Task With_a_bot_token_and_an_alert_channel_the_demo_posts_exactly_its_risky_digests_there_too()
    {
        var outbox = Path.Combine(_dir, "outbox");
        var result = await PipelineProcess.RunAsync(["demo", "-f", "json", "--slack-token", "env:TEST_TOKEN", "--slack-channel", "#security",
            "--alert-channel", "#alerts", "--slack-api-url", _slack.ApiBaseUri.ToString(), "--outbox", outbox],
            environment: new Dictionary<string, string> { ["TEST_TOKEN"] = _slack.BotToken });

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = JsonLines(result.Stdout);
        var posted = lines.Where(IsPosted).ToList();
        // Alerts, and digests and roll-ups with risky calls, are copied to the alert channel.
        bool Risky(JsonElement l) => l.GetProperty("type").GetString() == "alert" || l.GetProperty("riskyCount").GetInt32() > 0;
        var risky = posted.Where(Risky).Select(Id).ToList();
        Assert.NotEmpty(risky);
        Assert.True(risky.Count < posted.Count, "the demo should also have digests with nothing risky");
        var alerts = _slack.AcceptedIn("#alerts");
        Assert.Equal(risky.Count, alerts.Count);
        for (int i = 0; i < risky.Count; i++) Assert.True(alerts[i].Contains(risky[i]), $"alert-channel message {i} is not notice {risky[i]}");
        Assert.Equal(posted.Count + risky.Count, _slack.Accepted.Count); // every message once in its own channel, plus the copies
    }

    [Fact]
    public async Task An_alert_channel_with_a_webhook_is_a_usage_error()
    {
        var result = await PipelineProcess.RunAsync(["demo", "--slack-webhook", "env:TEST_HOOK", "--alert-channel", "#alerts"], environment: HookEnv());

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--alert-channel needs --slack-token", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, _slack.RequestCount);
    }

    [Fact]
    public async Task A_storm_of_429s_and_5xx_delays_the_digests_but_delivers_each_once_and_in_order()
    {
        _slack.Enqueue(new SlackFault.RateLimited(1), times: 2); // with the two 503s: 4 failures, the 5th and last attempt succeeds
        _slack.Enqueue(new SlackFault.ServerError(503), times: 2);
        var outbox = Path.Combine(_dir, "outbox");

        var result = await DemoAsync(outbox);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = BalancedLines(result.Stdout);
        var digestIds = PostedIds(lines);
        var accepted = _slack.AcceptedIn("#security");
        Assert.Equal(digestIds.Count, accepted.Count); // every message delivered, none twice, none in the outbox
        for (int i = 0; i < digestIds.Count; i++) Assert.True(accepted[i].Contains(digestIds[i]), $"message {i} is not notice {digestIds[i]}");
        Assert.False(Directory.Exists(outbox) && Directory.EnumerateFiles(outbox).Any());
        Assert.True(_slack.RequestCount >= digestIds.Count + 4); // the faults were really played
    }

    [Fact]
    public async Task A_retry_after_beyond_the_cap_parks_every_digest_after_one_request_and_the_run_finishes()
    {
        _slack.Enqueue(new SlackFault.RateLimited(100_000)); // once: without the cap and the circuit, the run would wait 28 h
        var outbox = Path.Combine(_dir, "outbox");

        var result = await DemoAsync(outbox);

        Assert.True(result.ExitCode == 4, result.Stderr);
        var lines = BalancedLines(result.Stdout);
        var posted = PostedIds(lines);
        Assert.Equal(1, _slack.RequestCount); // the first message's one attempt; the circuit parked the rest without trying
        Assert.Empty(_slack.Accepted);
        Assert.Equal(posted.Count, Directory.GetFiles(outbox).Length);
        Assert.Equal(posted.Count, lines[^1].GetProperty("outboxed").GetInt32());
        Assert.Contains("not tried: Slack failed less than 60 s ago", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_zero_slack_cooldown_every_digest_tries_slack_after_slack_failed()
    {
        // Slack failing (a Retry-After beyond the cap: parked after one attempt), which would otherwise open the circuit.
        _slack.Enqueue(new SlackFault.RateLimited(100_000));
        var outbox = Path.Combine(_dir, "outbox");

        var result = await DemoAsync(outbox, "--slack-cooldown", "0");

        Assert.True(result.ExitCode == 4, result.Stderr);
        var lines = JsonLines(result.Stdout);
        var posted = PostedIds(lines);
        Assert.Single(Directory.GetFiles(outbox));
        Assert.Equal(posted.Count - 1, _slack.Accepted.Count);
        Assert.Equal(posted.Count, _slack.RequestCount);
    }

    [Theory]
    [InlineData("2d")]
    [InlineData("soon")]
    public async Task A_slack_cooldown_that_is_not_a_duration_up_to_a_day_is_a_usage_error(string cooldown)
    {
        var result = await PipelineProcess.RunAsync(["demo", "--slack-webhook", "env:TEST_HOOK", "--slack-cooldown", cooldown], environment: HookEnv());

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--slack-cooldown", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, _slack.RequestCount);
    }

    /// <summary>
    /// Runs `digest` whose <paramref name="refusedPost"/>-th post (from 1) Slack refuses only after the outbox folder has
    /// become a file: an outbox that was fine at the start (it is checked then) and fails the moment it is needed.
    /// </summary>
    private async Task<PipelineProcess.Result> RunWithTheOutboxBrokenMidRunAsync(string input, int refusedPost)
    {
        var outbox = Path.Combine(_dir, "outbox");
        var release = new TaskCompletionSource();
        for (int i = 1; i < refusedPost; i++) _slack.Enqueue(new SlackFault.Accept());
        var held = new SlackFault.Held(release.Task) { Then = new SlackFault.ChannelNotFound() };
        _slack.Enqueue(held);
        var run = PipelineProcess.RunAsync(["digest", "-i", input, "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], environment: HookEnv(WebhookSecret));
        await held.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await File.WriteAllTextAsync(outbox, ""); // the outbox cannot be made now
        release.SetResult();
        return await run;
    }

    [Fact]
    public async Task An_outbox_that_cannot_be_a_folder_is_a_usage_error_before_anything_is_read()
    {
        // Was: the run read and printed until its first refused post, then stopped without a summary.
        var input = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(input, Events.JsonLines([Events.ApiCall(account: "111122223333")]));
        var notAFolder = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(notAFolder, "");

        var result = await PipelineProcess.RunAsync(["digest", "-i", input, "--slack-webhook", "env:TEST_HOOK", "--outbox", Path.Combine(notAFolder, "outbox")], environment: HookEnv(WebhookSecret));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"'{notAFolder}' is a file", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, _slack.RequestCount);
        Assert.Equal("", result.Stdout);

        var resend = await PipelineProcess.RunAsync(["outbox", "send", "--slack-webhook", "env:TEST_HOOK", "--outbox", notAFolder], environment: HookEnv(WebhookSecret));
        Assert.Equal(2, resend.ExitCode); // was: "does not exist: nothing to send", exit 0
        var empty = await PipelineProcess.RunAsync(["digest", "-i", input, "--slack-webhook", "env:TEST_HOOK", "--outbox", ""], environment: HookEnv(WebhookSecret));
        Assert.Equal(2, empty.ExitCode); // was: exit 9
        Assert.Contains("--outbox is empty", empty.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_digest_neither_delivered_nor_kept_stops_the_run_with_exit_4_and_says_what_to_fix()
    {
        var input = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(input, Events.JsonLines([Events.ApiCall(account: "111122223333")]));

        var result = await RunWithTheOutboxBrokenMidRunAsync(input, refusedPost: 1);

        Assert.Equal(4, result.ExitCode);
        Assert.Contains("could not be posted: neither delivered nor kept in the outbox", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("..", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--outbox", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal); // a message, not a stack trace
        AssertNoSecret([result.Stderr, result.Stdout]);
    }

    [Fact]
    public async Task A_channel_from_the_accounts_file_is_logged_as_inert_text_when_delivery_fails()
    {
        // The channel is the accounts file's text as it is (a Slack channel cannot hold these characters, so delivery to it
        // always fails, and each attempt is logged): the log line shows it by its numbers.
        const string hostile = "\u001b]0;PWNED\u0007\u001b[2J\u202e";
        var accounts = Path.Combine(_dir, "accounts.csv");
        await File.WriteAllTextAsync(accounts, $"id,name,environment,owner,channel\n111122223333,pay,prod,pay,#c{hostile}\n");
        var input = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(input, Events.JsonLines([Events.ApiCall(account: "111122223333")]));
        _slack.Enqueue(new SlackFault.ChannelNotFound(), times: 1);

        var result = await PipelineProcess.RunAsync(["digest", "-i", input, "--accounts", accounts, "--no-progress", "--slack-token", "env:TEST_TOKEN",
            "--slack-channel", "#security", "--slack-api-url", _slack.ApiBaseUri.ToString(), "--outbox", Path.Combine(_dir, "outbox")],
            environment: new Dictionary<string, string> { ["TEST_TOKEN"] = _slack.BotToken });

        Assert.True(result.ExitCode == 4, result.Stderr); // kept in the outbox
        Faults.DigestRunChecks.AssertInert(result.Stderr);
        Assert.Contains("to #c\\u001b]0;PWNED\\u0007\\u001b[2J\\u202e", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("was NOT delivered", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_stopped_by_an_undeliverable_digest_still_prints_it_and_the_digest_posted_before_it()
    {
        // `digest` prints through a buffered writer of its own: what it printed before the run stopped must reach
        // stdout, not stay in the buffer. The refused digest is printed too (every destination gets it before the run
        // stops): on stdout, at least, it is not lost.
        var input = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(input, Events.JsonLines([
            Events.ApiCall(account: "111122223333", time: Events.T0),
            Events.ApiCall(account: "444455556666", time: Events.T0.AddMinutes(1)),
        ]));
        var result = await RunWithTheOutboxBrokenMidRunAsync(input, refusedPost: 2); // the second digest: refused, and no outbox to keep it

        Assert.Equal(4, result.ExitCode);
        Assert.Equal(2, _slack.RequestCount);
        var printed = new[] { "111122223333", "444455556666" }.Count(account => result.Stdout.Contains("== " + account, StringComparison.Ordinal));
        Assert.Equal(2, printed);
        Assert.Contains("neither delivered nor kept in the outbox", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undeliverable_digests_go_to_the_outbox_exit_4_and_are_resent_later()
    {
        var outbox = await ParkTwoDigestsAsync();

        var resend = await PipelineProcess.RunAsync(["outbox", "send", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], environment: HookEnv(WebhookSecret));
        Assert.True(resend.ExitCode == 0, resend.Stderr);
        AssertNoSecret([resend.Stderr, resend.Stdout]);
        Assert.Contains("2 resent", resend.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, _slack.Accepted.Count);
        Assert.Empty(Directory.GetFiles(outbox));
    }

    [Fact]
    public async Task Outbox_send_while_slack_answers_500_tries_only_the_first_entry_leaves_the_rest_and_exits_4()
    {
        var outbox = await ParkTwoDigestsAsync();
        var files = Directory.GetFiles(outbox).Order(StringComparer.Ordinal).ToArray();
        int before = _slack.RequestCount;
        _slack.Enqueue(new SlackFault.ServerError(), times: 20);

        var resend = await PipelineProcess.RunAsync(["outbox", "send", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], environment: HookEnv(WebhookSecret));

        Assert.True(resend.ExitCode == 4, resend.Stderr);
        Assert.Contains("0 resent, 1 still failing", resend.Stdout, StringComparison.Ordinal);
        Assert.Contains("2 left in the outbox", resend.Stdout, StringComparison.Ordinal);
        Assert.Equal(5, _slack.RequestCount - before); // the first entry's five attempts; the second was never tried
        Assert.Empty(_slack.Accepted);
        Assert.Equal(files, Directory.GetFiles(outbox).Order(StringComparer.Ordinal).ToArray()); // both kept under their own names
        AssertNoSecret([resend.Stderr, resend.Stdout]);
    }

    [Fact]
    public async Task Outbox_send_stopped_by_ctrl_c_finishes_the_digest_in_flight_keeps_the_other_and_exits_130()
    {
        var outbox = await ParkTwoDigestsAsync();
        var release = new TaskCompletionSource();
        var first = new SlackFault.Held(release.Task);
        _slack.Enqueue(first);
        _slack.Enqueue(new SlackFault.Held()); // should the stop come late, the second post is held until the grace ends it
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in new[] { "outbox", "send", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox }) info.ArgumentList.Add(a);
        info.Environment["TEST_HOOK"] = _slack.WebhookUri(WebhookSecret).ToString();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        await first.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)])!) await interrupt.WaitForExitAsync();
        release.SetResult(); // Slack answers the post in flight after the Ctrl-C
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 130, await stderr);
        Assert.Contains("stopped (Ctrl-C): 1 resent", await stdout, StringComparison.Ordinal);
        Assert.Contains("1 left in the outbox", await stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", await stderr, StringComparison.Ordinal);
        Assert.Single(_slack.Accepted);
        Assert.Single(Directory.GetFiles(outbox)); // the other, under its own name, not claimed

        var rest = await PipelineProcess.RunAsync(["outbox", "send", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], environment: HookEnv(WebhookSecret));
        Assert.True(rest.ExitCode == 0, rest.Stderr);
        Assert.Equal(2, _slack.Accepted.Select(m => m.Body).Distinct().Count());
        Assert.Equal(2, _slack.Accepted.Count);
    }

    [Fact]
    public async Task Outbox_send_sets_an_invalid_entry_aside_unsent_names_it_and_exits_3()
    {
        var outbox = Path.Combine(_dir, "outbox");
        Directory.CreateDirectory(outbox);
        await File.WriteAllTextAsync(Path.Combine(outbox, "0-bad.json"), """{"version":1,"digestId":"d","channel":"webhook","failedAt":"2026-11-25T14:02:11Z","reason":"x","payload":"<!channel> as is","plainPayload":{"text":"x"}}""");

        var result = await PipelineProcess.RunAsync(["outbox", "send", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], environment: HookEnv());

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("0-bad.json", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("\"payload\" is a JSON string", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("rejected", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, _slack.RequestCount);
        Assert.True(File.Exists(Path.Combine(outbox, "rejected", "0-bad.json")));
    }

    /// <summary>
    /// Two digests in the outbox after `digest` exited 4: Slack refused the first (a 4xx: not retried) and the circuit
    /// then parked the second without trying. Returns the folder. The webhook's path is its secret: it shows nowhere.
    /// </summary>
    private async Task<string> ParkTwoDigestsAsync()
    {
        var input = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(input, Events.JsonLines([Events.ApiCall(account: "111122223333"), Events.ApiCall(account: "444455556666")]));
        var outbox = Path.Combine(_dir, "outbox");
        // A refusal of the channel (not Slack failing): the circuit stays closed, so each digest is tried and refused.
        _slack.Enqueue(new SlackFault.ChannelNotFound(), times: 2);

        var first = await PipelineProcess.RunAsync(["digest", "-i", input, "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], environment: HookEnv(WebhookSecret));
        Assert.Equal(4, first.ExitCode);
        Assert.Contains("in the outbox", first.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("not tried", first.Stderr, StringComparison.Ordinal);
        Assert.Empty(_slack.Accepted);
        Assert.Equal(2, _slack.RequestCount);
        var files = Directory.GetFiles(outbox);
        Assert.Equal(2, files.Length);
        AssertNoSecret([first.Stderr, first.Stdout, .. files.Select(File.ReadAllText)]);
        return outbox;
    }

    [Fact]
    public async Task Ctrl_c_while_slack_is_slow_parks_the_digest_in_flight_and_the_rest_prints_a_balanced_summary_and_exits_130()
    {
        _slack.Enqueue(new SlackFault.Accept());
        _slack.Enqueue(new SlackFault.Hang()); // the second message never gets an answer: Ctrl-C lands while it is in flight
        var outbox = Path.Combine(_dir, "outbox");
        using var run = Hosting.Kinesis.LiveRun.Start(["demo", "-f", "json", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], HookEnv());

        await _slack.Hanging.WaitAsync(TimeSpan.FromMinutes(2));
        int exitCode = await run.InterruptAsync();

        Assert.True(exitCode == 130, run.Stderr);
        var lines = run.Lines.Select(l => l.Json).ToList();
        DigestCommandTests.AssertBalanced(lines);
        var posted = PostedIds(lines);
        Assert.True(posted.Count > 2, $"{posted.Count} messages");
        Assert.True(Assert.Single(_slack.Accepted).Contains(posted[0]));
        Assert.Equal(1, lines[^1].GetProperty("delivered").GetInt32());
        Assert.Equal(posted.Count - 1, lines[^1].GetProperty("outboxed").GetInt32());
        Assert.Equal(posted.Count - 1, Directory.GetFiles(outbox).Length); // the one in flight and every one after it
        Assert.Contains("stopped (Ctrl-C)", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("outbox send", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);

        // Nothing lost: the resend posts the rest, each once, in order after the one Slack took.
        var resend = await PipelineProcess.RunAsync(["outbox", "send", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox], environment: HookEnv());
        Assert.True(resend.ExitCode == 0, resend.Stderr);
        var accepted = _slack.Accepted;
        Assert.Equal(posted.Count, accepted.Count);
        for (int i = 0; i < posted.Count; i++) Assert.True(accepted[i].Contains(posted[i]), $"message {i} is not notice {posted[i]}");
    }

    [Fact]
    public async Task A_secret_on_the_command_line_is_refused_and_never_echoed()
    {
        var url = _slack.WebhookUri("#x").ToString().Replace("http://", "https://", StringComparison.Ordinal);
        var result = await PipelineProcess.RunAsync(["demo", "--slack-webhook", url]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("env:NAME", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(url, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_secret_variable_is_named_in_a_usage_error()
    {
        var result = await PipelineProcess.RunAsync(["demo", "--slack-webhook", "env:NO_SUCH_VARIABLE_SET"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("NO_SUCH_VARIABLE_SET", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Slack_format_prints_one_valid_payload_per_digest()
    {
        var result = await PipelineProcess.RunAsync(["demo", "-f", "slack"]);
        Assert.Equal(0, result.ExitCode);
        var payloads = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The demo's messages: its 11 digests less the 3 the StackSet roll-up fully explains, the roll-up, and 6 alerts.
        Assert.Equal(15, payloads.Length);
        Assert.Equal(6, payloads.Count(p => p.Contains("\"text\":\"CRITICAL: ", StringComparison.Ordinal)));
        foreach (var payload in payloads)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(payload);
            var problems = SlackPayloadValidator.LimitProblems(bytes).Concat(SlackPayloadValidator.InjectionProblems(bytes)).ToList();
            Assert.True(problems.Count == 0, string.Join("; ", problems));
        }
        Assert.Contains("received 128", result.Stderr, StringComparison.Ordinal); // the summary goes to stderr
    }

    /// <summary>`pipeline demo -f json` posting to the loopback webhook and parking in <paramref name="outbox"/>.</summary>
    private Task<PipelineProcess.Result> DemoAsync(string outbox, params string[] more) =>
        PipelineProcess.RunAsync(["demo", "-f", "json", "--slack-webhook", "env:TEST_HOOK", "--outbox", outbox, .. more], environment: HookEnv());

    /// <summary>The JSON lines of a run whose summary must balance (received = rejected + duplicates + muted + digested).</summary>
    private static List<JsonElement> BalancedLines(string stdout)
    {
        var lines = JsonLines(stdout);
        DigestCommandTests.AssertBalanced(lines);
        return lines;
    }

    private static List<JsonElement> JsonLines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>What a posted message is found by: a digest's and a roll-up's own id, an alert's digest id (its footer names the burst).</summary>
    private static string Id(JsonElement line) => line.GetProperty("type").GetString() switch
    {
        "rollup" => line.GetProperty("rollupId").GetString()!,
        _ => line.GetProperty("digestId").GetString()!,
    };

    private static bool IsPosted(JsonElement line) => line.GetProperty("type").GetString() switch
    {
        "summary" => false,
        "digest" => !line.TryGetProperty("posted", out var p) || p.GetBoolean(),
        _ => true,
    };

    /// <summary>The ids of the messages the run posted, in the order it posted them.</summary>
    private static List<string> PostedIds(List<JsonElement> lines) => [.. lines.Where(IsPosted).Select(Id)];
}
