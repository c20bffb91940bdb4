using System.Text.Json;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Commands;

/// <summary>The `pipeline` program end to end, as a separate process: arguments, streams and exit codes as a user sees them.</summary>
public sealed class DigestCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("digest-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<JsonElement> JsonLines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    internal static void AssertBalanced(List<JsonElement> lines)
    {
        var summary = lines[^1];
        Assert.Equal("summary", summary.GetProperty("type").GetString());
        long Get(string name) => summary.GetProperty(name).GetInt64();
        Assert.Equal(Get("received"), Get("rejected") + Get("duplicates") + Get("muted") + Get("digested"));
        var digests = lines.Where(l => l.GetProperty("type").GetString() == "digest").ToList();
        Assert.Equal(Get("digests"), digests.Count);
        Assert.Equal(Get("digested"), digests.Sum(d => d.GetProperty("eventCount").GetInt64()));
    }

    [Fact]
    public async Task Demo_prints_digests_whose_counts_add_up()
    {
        var result = await PipelineProcess.RunAsync(["demo", "--format", "json"]);
        Assert.Equal(0, result.ExitCode);
        var lines = JsonLines(result.Stdout);
        AssertBalanced(lines);
        var summary = lines[^1];
        Assert.Equal(2, summary.GetProperty("rejected").GetInt32());
        Assert.True(summary.GetProperty("duplicates").GetInt32() >= 3);
        Assert.Contains(lines, l => l.GetProperty("type").GetString() == "digest" && l.TryGetProperty("accountName", out var n) && n.GetString() == "sandbox-dev" && l.GetProperty("riskyCount").GetInt32() >= 5);
        Assert.Contains("rejected samples/demo/org-events.jsonl:", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_json_has_the_stacksets_roll_up_its_folded_digests_alerts_and_the_message_count()
    {
        var result = await PipelineProcess.RunAsync(["demo", "--format", "json"]);
        Assert.Equal(0, result.ExitCode);
        var lines = JsonLines(result.Stdout);
        string Type(JsonElement l) => l.GetProperty("type").GetString()!;

        var rollup = Assert.Single(lines, l => Type(l) == "rollup");
        Assert.Equal("role/stacksets-exec-5c1d9e2f3a4b", rollup.GetProperty("actor").GetString());
        Assert.Equal(4, rollup.GetProperty("accountCount").GetInt32());
        var refused = Assert.Single(rollup.GetProperty("errors").EnumerateArray());
        Assert.Equal(("PutRolePolicy", "AccessDenied"), (refused.GetProperty("eventName").GetString(), refused.GetProperty("errorCode").GetString()));
        var id = rollup.GetProperty("rollupId").GetString();

        var folded = lines.Where(l => Type(l) == "digest" && l.TryGetProperty("rollupId", out var r) && r.GetString() == id).ToList();
        Assert.Equal(4, folded.Count);
        // The account where a person worked meanwhile keeps a posted digest of her calls; the others are not posted.
        var posted = Assert.Single(folded, d => d.GetProperty("posted").GetBoolean());
        Assert.Equal("prod-payments", posted.GetProperty("accountName").GetString());

        var alerts = lines.Where(l => Type(l) == "alert").ToList();
        Assert.Contains(alerts, a => a.GetProperty("eventName").GetString() == "StopLogging" && a.GetProperty("severity").GetString() == "critical");
        var summary = lines[^1];
        long digestsPosted = lines.Count(l => Type(l) == "digest" && (!l.TryGetProperty("posted", out var p) || p.GetBoolean()));
        long silences = lines.Count(l => Type(l) == "silence");
        Assert.Equal(summary.GetProperty("silences").GetInt64(), silences);
        Assert.Equal(digestsPosted + 1 + alerts.Count + silences, summary.GetProperty("messages").GetInt64());
        Assert.Equal(alerts.Count, summary.GetProperty("alerts").GetInt64());
    }

    [Fact]
    public async Task Roll_ups_and_alerts_can_be_turned_off()
    {
        var result = await PipelineProcess.RunAsync(["demo", "--format", "json", "--rollup-min-accounts", "0", "--alert-severity", "off"]);
        Assert.Equal(0, result.ExitCode);
        var lines = JsonLines(result.Stdout);
        Assert.DoesNotContain(lines, l => l.GetProperty("type").GetString() is "rollup" or "alert");
        // What is left is a message per digest, and any of the silence check's.
        Assert.Equal(lines.Count(l => l.GetProperty("type").GetString() is "digest" or "silence"), lines[^1].GetProperty("messages").GetInt64());
    }

    [Theory]
    [InlineData("--alert-severity", "loud", "--alert-severity 'loud' is not one of: critical, high, off.")]
    [InlineData("--rollup-min-accounts", "1", "--rollup-min-accounts must be 0 (off) or 2–100000")]
    [InlineData("--rollup-window", "2h", "--rollup-window must be between 1s and 1h")]
    public async Task Bad_roll_up_and_alert_settings_are_usage_errors_naming_the_flag(string flag, string value, string message)
    {
        var result = await PipelineProcess.RunAsync(["demo", flag, value]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_text_shows_risky_events_of_the_credential_theft_sequence()
    {
        var result = await PipelineProcess.RunAsync(["demo"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("sandbox-dev (555555555555)", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CloudTrail logging stopped or removed", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("received 128 = rejected 2 + duplicates", result.Stdout, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Digest_over_the_whole_corpus_prints_digests_whose_counts_add_up()
    {
        var corpus = SharedCorpus.RequireDirectory();
        var result = await PipelineProcess.RunAsync(["digest", "--input", corpus, "--format", "json", "--no-progress"]);
        Assert.Equal(0, result.ExitCode);
        var lines = JsonLines(result.Stdout);
        AssertBalanced(lines);
        Assert.True(lines[^1].GetProperty("received").GetInt64() >= 1182);
    }

    [Fact]
    public async Task Stdin_is_read_with_a_dash()
    {
        var input = Events.JsonLines([Events.ApiCall(), Events.ApiCall(account: "444455556666")]);
        var result = await PipelineProcess.RunAsync(["digest", "-i", "-", "-f", "json"], stdin: input);
        Assert.Equal(0, result.ExitCode);
        var lines = JsonLines(result.Stdout);
        AssertBalanced(lines);
        Assert.Equal(2, lines[^1].GetProperty("digests").GetInt32());
    }

    [Fact]
    public async Task Missing_input_is_a_one_line_error_with_exit_code_3()
    {
        var result = await PipelineProcess.RunAsync(["digest", "--input", Path.Combine(_dir, "missing.jsonl")]);
        Assert.Equal(3, result.ExitCode);
        Assert.StartsWith("error: input '", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task An_unreadable_input_stops_the_run_with_exit_3_before_any_digest()
    {
        File.WriteAllText(Path.Combine(_dir, "a.jsonl"), Events.JsonLines([Events.ApiCall()]));
        var gone = Path.Combine(_dir, "zz-gone.jsonl");
        File.CreateSymbolicLink(gone, Path.Combine(_dir, "nowhere")); // truly unreadable, even for root
        var result = await PipelineProcess.RunAsync(["digest", "-i", _dir, "-f", "json", "--no-progress"]);
        Assert.Equal(3, result.ExitCode);
        Assert.Empty(result.Stdout); // nothing was read, so nothing was printed or posted
        var error = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"error: cannot read '{gone}': ", error, StringComparison.Ordinal);
        Assert.EndsWith("; nothing was read", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fifo_in_an_input_folder_is_skipped_with_a_note_and_the_rest_is_digested()
    {
        File.WriteAllText(Path.Combine(_dir, "a.jsonl"), Events.JsonLines([Events.ApiCall()]));
        InputFilesTests.MakeFifo(Path.Combine(_dir, "b.jsonl"));
        var result = await PipelineProcess.RunAsync(["digest", "-i", _dir, "-f", "json", "--no-progress"], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(0, result.ExitCode);
        AssertBalanced(JsonLines(result.Stdout));
        Assert.Contains($"note: skipped '{Path.Combine(_dir, "b.jsonl")}': not a regular file", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closed_stdin_is_an_error_with_exit_3_not_a_hang()
    {
        var result = await RunWithoutRedirectedStdinAsync("/bin/sh", ["-c", "exec dotnet \"$@\" <&-", "sh", PipelineDll, "digest", "-i", "-", "--no-progress"]);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("error: '-i -' reads stdin, which is closed: pipe the events in or give a file; nothing was read", result.Stderr.Trim());
    }

    [SkippableFact]
    public async Task A_terminal_as_stdin_is_an_error_with_exit_3_not_a_hang()
    {
        Skip.IfNot(File.Exists("/usr/bin/script"), "needs util-linux's script to give the program a terminal");
        // script runs the program on a new terminal and passes its exit code on (-e); what it prints comes on script's stdout.
        var result = await RunWithoutRedirectedStdinAsync("/usr/bin/script", ["-qec", $"dotnet '{PipelineDll}' digest -i - --no-progress", "/dev/null"]);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("error: '-i -' reads stdin, which is a terminal", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_c_while_stdin_stays_open_and_quiet_ends_the_input_there_digests_every_event_and_exits_130()
    {
        // A producer that stays quiet keeps the read blocked: the stop must not wait for its next line.
        // Records reach the core in batches (of the account-naming batch size): two bursts of a full batch each, an hour
        // apart, so that the first burst's digest is printed while the second is still open.
        const int perBurst = 500;
        using var run = Hosting.Kinesis.LiveRun.Start(["digest", "-i", "-", "-f", "json", "--no-progress"], stdin: true);
        for (int i = 0; i < 2 * perBurst; i++)
            await run.WriteLineAsync(Events.ApiCall(account: "111122223333", time: Events.T0.AddHours(i / perBurst).AddSeconds(i % perBurst)).Line());
        Assert.True(await run.WaitUntilAsync(() => run.Digests.Count == 1, TimeSpan.FromMinutes(2)), run.Stderr);

        int exitCode = await run.InterruptAsync();

        Assert.True(exitCode == 130, run.Stderr);
        var lines = run.Lines.Select(l => l.Json).ToList();
        AssertBalanced(lines);
        var received = lines[^1].GetProperty("received").GetInt32();
        Assert.InRange(received, perBurst + 1, 2 * perBurst);
        Assert.Equal(received, lines[^1].GetProperty("digested").GetInt32()); // what was read is digested: the open burst closed at the stop
        Assert.Equal(2, run.Digests.Count);
    }

    [SkippableFact]
    public async Task A_read_error_mid_run_is_a_one_line_error_with_exit_3()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "/proc/self/mem opens, then fails to read (EIO) on Linux only");
        var result = await PipelineProcess.RunAsync(["digest", "-i", "/proc/self/mem", "--no-progress"]);
        Assert.Equal(3, result.ExitCode);
        var error = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.StartsWith("error: cannot read '/proc/self/mem' after 0 bytes: ", error, StringComparison.Ordinal);
    }

    private static string PipelineDll => Path.Combine(AppContext.BaseDirectory, "pipeline.dll");

    /// <summary>Runs a program whose stdin is not ours to give (closed, or a terminal), with a time limit.</summary>
    private static async Task<PipelineProcess.Result> RunWithoutRedirectedStdinAsync(string program, string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} hung");
        }
        return new PipelineProcess.Result(process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("--gap", "soon", "--gap 'soon' is not a duration")]
    [InlineData("--gap", "20m", "must not be longer than --max-window")]
    [InlineData("--max-window", "99999999999d", "is not a duration")]
    [InlineData("--max-window", "3651d", "--max-window must be at most 3650d")] // was: a crash on an event of the year 8999
    [InlineData("--gap", "-1s", "--gap '-1s' is negative")]                     // was: "is not a duration"
    [InlineData("--gap", "0m", "--gap must be longer than 0 (got '0m')")]
    [InlineData("--gap", "0", "--gap must be longer than 0 (got '0')")]
    [InlineData("--lateness", "-5m", "--lateness '-5m' is negative: give a duration of 0 or more")]
    [InlineData("--silence-after", "10s", "--silence-after must be 0 (off) or between 1m and 14d")]
    [InlineData("--silence-after", "later", "--silence-after 'later' is not a duration")]
    public async Task Unusable_settings_exit_2_and_say_what_to_change(string option, string value, string expected)
    {
        var file = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(file, Events.JsonLines([Events.ApiCall()]));
        var result = await PipelineProcess.RunAsync(["digest", "--input", file, option, value]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--help", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_demo_whose_window_cannot_work_prints_nothing_before_its_error()
    {
        // Was: "Replaying … (gap 20m, max window 15m)." on stdout, then the error.
        var result = await PipelineProcess.RunAsync(["demo", "--gap", "20m"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--gap (20m) must not be longer than --max-window (15m)", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0s")]
    [InlineData("0m")] // was: "is not a duration"
    [InlineData("0h")]
    public async Task A_zero_lateness_may_be_written_with_or_without_any_unit(string zero)
    {
        var file = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(file, Events.JsonLines([Events.ApiCall()]));
        var result = await PipelineProcess.RunAsync(["digest", "--input", file, "--lateness", zero, "-f", "json"]);
        Assert.True(result.ExitCode == 0, result.Stderr);
    }

    [Theory]
    [InlineData(new[] { "mute", "test", "--bogus" }, "Run 'pipeline mute test --help' for the options.")]
    [InlineData(new[] { "outbox", "send" }, "Run 'pipeline outbox send --help' for the options.")]
    [InlineData(new[] { "digest", "--gap", "soon" }, "Run 'pipeline digest --help' for the options.")]
    [InlineData(new[] { "--bogus" }, "Run 'pipeline --help' for the options.")]
    public async Task A_usage_error_names_the_whole_command_whose_help_to_read(string[] args, string hint)
    {
        // Was: a subcommand's own name alone, `pipeline test --help`, which is no command.
        var result = await PipelineProcess.RunAsync(args, stdin: "");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(hint, result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Eight hours of a busy account; a second account sends for one hour in a region named by a forged event, then stops.</summary>
    private async Task<string> SilenceDayAsync()
    {
        var events = new List<System.Text.Json.Nodes.JsonObject>();
        for (int m = 0; m < 480; m += 10)
        {
            events.Add(Events.ApiCall(account: "111111111111", time: Events.T0.AddMinutes(m), eventId: $"busy-{m}"));
            if (m <= 60) events.Add(Events.ApiCall(account: "222222222222", time: Events.T0.AddMinutes(m).AddSeconds(5), region: "eu-west-1\u001b[2J*<!here>*", eventId: $"quiet-{m}"));
        }
        var file = Path.Combine(_dir, "silence.jsonl");
        await File.WriteAllTextAsync(file, Events.JsonLines(events));
        return file;
    }

    [Fact]
    public async Task An_account_region_that_stops_is_reported_once_in_json_and_text_and_the_counts_are_untouched()
    {
        var file = await SilenceDayAsync();
        var json = await PipelineProcess.RunAsync(["digest", "--input", file, "-f", "json", "--silence-after", "1h"]);
        Assert.Equal(0, json.ExitCode);
        var lines = JsonLines(json.Stdout);
        AssertBalanced(lines);
        var silence = Assert.Single(lines, l => l.GetProperty("type").GetString() == "silence");
        Assert.Equal(("silent", "222222222222", "eu-west-1\u001b[2J*<!here>*", "2026-11-24T10:00:05Z", 7L),
            (silence.GetProperty("state").GetString(), silence.GetProperty("account").GetString(), silence.GetProperty("region").GetString(),
             silence.GetProperty("lastEventTime").GetString(), silence.GetProperty("eventCount").GetInt64()));
        Assert.True(silence.GetProperty("silentForSeconds").GetInt64() > 3600);
        Assert.Equal(1, lines[^1].GetProperty("silences").GetInt64());

        var text = await PipelineProcess.RunAsync(["digest", "--input", file, "--silence-after", "1h"]);
        Assert.Equal(0, text.ExitCode);
        var line = Assert.Single(text.Stdout.Split('\n'), l => l.StartsWith("??? SILENT", StringComparison.Ordinal));
        Assert.Contains("222222222222", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', text.Stdout); // the forged region cannot drive the terminal

        var slack = await PipelineProcess.RunAsync(["digest", "--input", file, "-f", "slack", "--silence-after", "1h"]);
        var payload = Assert.Single(slack.Stdout.Split('\n'), l => l.Contains(":mute: Silent", StringComparison.Ordinal));
        Assert.DoesNotContain("<!here>", payload, StringComparison.Ordinal); // no mention smuggled into Slack
    }

    [Fact]
    public async Task The_silence_check_is_off_at_zero_and_quiet_under_its_threshold()
    {
        var file = await SilenceDayAsync();
        foreach (var after in new[] { "0", "8h" })
        {
            var result = await PipelineProcess.RunAsync(["digest", "--input", file, "-f", "json", "--silence-after", after]);
            Assert.Equal(0, result.ExitCode);
            Assert.DoesNotContain(JsonLines(result.Stdout), l => l.GetProperty("type").GetString() == "silence");
        }
    }

    [Fact]
    public async Task Unknown_option_exits_2()
    {
        var result = await PipelineProcess.RunAsync(["digest", "--input", "x", "--frobnicate"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--frobnicate", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fail_on_reject_turns_rejected_records_into_exit_code_5()
    {
        var file = Path.Combine(_dir, "bad.jsonl");
        await File.WriteAllTextAsync(file, Events.JsonLines([Events.ApiCall()]) + "{broken\n");
        var lenient = await PipelineProcess.RunAsync(["digest", "--input", file, "-f", "json"]);
        var strict = await PipelineProcess.RunAsync(["digest", "--input", file, "-f", "json", "--fail-on-reject"]);
        Assert.Equal(0, lenient.ExitCode);
        Assert.Equal(5, strict.ExitCode);
        Assert.Contains("bad.jsonl:2: not valid JSON", strict.Stderr, StringComparison.Ordinal);
        AssertBalanced(JsonLines(strict.Stdout));
    }

    [Theory]
    [InlineData("digest")]
    [InlineData("demo")]
    [InlineData("tune")]
    public async Task Every_command_has_help(string command)
    {
        var result = await PipelineProcess.RunAsync([command, "--help"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--gap", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5m", "2m", "1h", "--gap (5m) must not be longer than --max-window (2m)")]
    [InlineData("2m", "15m", "0s", "--dedupe-horizon must be longer than 0 (got '0s')")]
    public async Task A_window_that_cannot_work_is_a_usage_error_naming_the_flags(string gap, string maxWindow, string horizon, string expected)
    {
        var result = await PipelineProcess.RunAsync(["digest", "-i", "-", "--gap", gap, "--max-window", maxWindow, "--dedupe-horizon", horizon], stdin: "");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }
}
