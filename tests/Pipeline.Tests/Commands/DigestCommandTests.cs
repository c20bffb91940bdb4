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
        Assert.Contains(lines, l => l.TryGetProperty("accountName", out var n) && n.GetString() == "sandbox-dev" && l.GetProperty("riskyCount").GetInt32() >= 5);
        Assert.Contains("rejected samples/demo/org-events.jsonl:", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_text_shows_risky_events_of_the_credential_theft_sequence()
    {
        var result = await PipelineProcess.RunAsync(["demo"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("sandbox-dev (555555555555)", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CloudTrail logging stopped or removed", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("received 111 = rejected 2 + duplicates", result.Stdout, StringComparison.Ordinal);
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

    [Theory]
    [InlineData("--gap", "soon", "--gap 'soon' is not a duration")]
    [InlineData("--gap", "20m", "must not be longer than --max-window")]
    [InlineData("--max-window", "99999999999d", "is not a duration")]
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
    [InlineData("2m", "15m", "0s", "--dedupe-horizon '0s' is not a duration")]
    public async Task A_window_that_cannot_work_is_a_usage_error_naming_the_flags(string gap, string maxWindow, string horizon, string expected)
    {
        var result = await PipelineProcess.RunAsync(["digest", "-i", "-", "--gap", gap, "--max-window", maxWindow, "--dedupe-horizon", horizon], stdin: "");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }
}
