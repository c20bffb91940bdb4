using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Commands;

public sealed class MuteCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mute-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Rules = """
        {"rules":[
          {"name":"ci-tags","pattern":{"detail":{"eventName":["CreateTags"],"userIdentity":{"arn":[{"wildcard":"arn:aws:sts::*:assumed-role/ci/*"}]}}}},
          {"name":"office","pattern":{"detail":{"sourceIPAddress":[{"cidr":"192.0.2.0/24"}]}}},
          {"name":"never","pattern":{"source":["aws.nothing"]}}
        ]}
        """;

    private async Task<(string rules, string events)> WriteFilesAsync()
    {
        var rules = Path.Combine(_dir, "mute.json");
        var events = Path.Combine(_dir, "events.jsonl");
        await File.WriteAllTextAsync(rules, Rules);
        var ciTag = Events.ApiCall(eventName: "CreateTags", roleName: "ci");             // both ci-tags and office (192.0.2.10)
        var other = Events.ApiCall(eventName: "RunInstances", roleName: "admin");
        other["detail"]!["sourceIPAddress"] = "203.0.113.9";                              // none
        await File.WriteAllTextAsync(events, Events.JsonLines([ciTag, other]) + "not json\n");
        return (rules, events);
    }

    [Fact]
    public async Task Json_lists_every_matching_rule_per_event_and_a_summary()
    {
        var (rules, events) = await WriteFilesAsync();
        var result = await PipelineProcess.RunAsync(["mute", "test", "--mute", rules, "--input", events, "--format", "json"]);
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(4, lines.Count);
        Assert.Equal(["ci-tags", "office"], lines[0].GetProperty("matches").EnumerateArray().Select(m => m.GetString()));
        Assert.Empty(lines[1].GetProperty("matches").EnumerateArray());
        Assert.Equal(3, lines[2].GetProperty("line").GetInt32());
        Assert.Equal(events, lines[2].GetProperty("file").GetString()); // with several inputs, the line alone finds nothing
        Assert.Contains("not valid JSON", lines[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        var summary = lines[3];
        Assert.Equal(2, summary.GetProperty("events").GetInt32());
        Assert.Equal(1, summary.GetProperty("matched").GetProperty("ci-tags").GetInt32());
        Assert.Equal(["never"], summary.GetProperty("unmatchedRules").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task Text_warns_about_rules_that_match_nothing()
    {
        var (rules, events) = await WriteFilesAsync();
        var result = await PipelineProcess.RunAsync(["mute", "test", "--mute", rules, "--input", events]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("ci-tags, office", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("rule \"never\" matched no event", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mute")]
    [InlineData("tune")]
    public async Task A_format_the_command_does_not_print_is_a_usage_error(string command)
    {
        // Was: `-f slack` ran and printed the text table; the help listed html and slack and described digests.
        var (rules, events) = await WriteFilesAsync();
        string[] args = command == "mute" ? ["mute", "test", "--mute", rules, "--input", events, "-f", "slack"] : ["tune", "--input", events, "-f", "slack"];
        var result = await PipelineProcess.RunAsync(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--format is text or json here (got 'slack')", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
        var help = await PipelineProcess.RunAsync(command == "mute" ? ["mute", "test", "--help"] : ["tune", "--help"]);
        Assert.Contains("--format <text|json>", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_rule_fails_at_start_naming_the_rule_and_the_problem()
    {
        var rules = Path.Combine(_dir, "bad.json");
        await File.WriteAllTextAsync(rules, """{"rules":[{"name":"greedy","pattern":{"detail":{"userName":[{"wildcard":"adm**"}]}}}]}""");
        var events = Path.Combine(_dir, "e.jsonl");
        await File.WriteAllTextAsync(events, Events.JsonLines([Events.ApiCall()]));
        foreach (var args in new[] { new[] { "mute", "test", "--mute", rules, "-i", events }, ["digest", "--mute", rules, "-i", events] })
        {
            var result = await PipelineProcess.RunAsync(args);
            Assert.Equal(3, result.ExitCode);
            Assert.Contains("greedy", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("wildcard", result.Stderr, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Digest_with_mute_rules_counts_muted_events_per_rule_and_still_balances()
    {
        var (rules, events) = await WriteFilesAsync();
        var result = await PipelineProcess.RunAsync(["digest", "--mute", rules, "--input", events, "-f", "json"]);
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        DigestCommandTests.AssertBalanced(lines);
        var summary = lines[^1];
        Assert.Equal(1, summary.GetProperty("muted").GetInt32());
        Assert.Equal(1, summary.GetProperty("mutedByRule").GetProperty("ci-tags").GetInt32());
        Assert.Equal(1, lines[0].GetProperty("muted").GetProperty("ci-tags").GetInt32()); // the account's digest says so too
    }

    [Fact]
    public async Task Demo_mutes_the_terraform_tagging_noise()
    {
        var result = await PipelineProcess.RunAsync(["demo", "-f", "json"]);
        var summary = JsonNode.Parse(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!;
        Assert.Equal(42, summary["mutedByRule"]!["terraform-ci-tagging"]!.GetValue<int>());
    }
}
