using System.Text.Json.Nodes;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Faults;

/// <summary>
/// Hostile text on the paths beside the digest (`put`'s rejections, `mute test`, the summary's rule counts, the accounts
/// file's warnings), through the real `pipeline` process: it reaches the terminal shown by its numbers, as the digest's
/// own text does (<see cref="HostileInputTests"/>). A review found each of these printing escapes as they were.
/// </summary>
public sealed class HostileTextOnSidePathsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("side-paths-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Sets a terminal's title, clears its screen, and reverses what follows.</summary>
    private const string Hostile = "\u001b]0;PWNED\u0007\u001b[2J\u202e";

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Put_shows_the_record_text_its_rejection_quotes_as_inert_text()
    {
        var input = Write("bad.jsonl", Events.JsonLines([Events.ApiCall(account: "12" + Hostile)]));

        // Nothing readable to send, so the endpoint (a closed port) is never called.
        var result = await PipelineProcess.RunAsync(["put", "--stream", "s", "--input", input, "--endpoint", "http://127.0.0.1:9"]);

        Assert.True(result.ExitCode == 5, result.Stderr);
        DigestRunChecks.AssertInert(result.Stderr);
        Assert.Contains("account id '12\\u001b]0;PWNED\\u0007\\u001b[2J\\u202e' is not 12 digits", result.Stderr, StringComparison.Ordinal);
    }

    private static readonly string Rules = new JsonObject
    {
        ["rules"] = new JsonArray(
            new JsonObject { ["name"] = "tags" + Hostile, ["pattern"] = JsonNode.Parse("""{"detail":{"eventName":["CreateTags"]}}""") },
            new JsonObject { ["name"] = "never" + Hostile, ["pattern"] = JsonNode.Parse("""{"source":["aws.nothing"]}""") }),
    }.ToJsonString();

    [Fact]
    public async Task Mute_test_shows_rule_names_and_file_names_as_inert_text()
    {
        var rules = Write("mute.json", Rules);
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "in")).FullName;
        File.WriteAllText(Path.Combine(folder, "ev" + Hostile + ".jsonl"), Events.JsonLines([Events.ApiCall(eventName: "CreateTags")]));

        var result = await PipelineProcess.RunAsync(["mute", "test", "--mute", rules, "--input", folder]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        DigestRunChecks.AssertInert(result.Stdout);
        DigestRunChecks.AssertInert(result.Stderr);
        Assert.Contains("ev\\u001b]0;PWNED", result.Stdout, StringComparison.Ordinal);                       // the file, in the table
        Assert.Contains("tags\\u001b]0;PWNED\\u0007\\u001b[2J\\u202e: 1", result.Stdout, StringComparison.Ordinal); // the counts
        Assert.Contains("rule \"never\\u001b]0;PWNED", result.Stderr, StringComparison.Ordinal);           // the warning
    }

    [Fact]
    public async Task The_summary_counts_per_mute_rule_show_its_name_as_inert_text()
    {
        var rules = Write("mute.json", Rules);
        var input = Write("events.jsonl", Events.JsonLines([Events.ApiCall(eventName: "CreateTags"), Events.ApiCall(eventName: "RunInstances")]));

        var result = await PipelineProcess.RunAsync(["digest", "--input", input, "--mute", rules, "--no-progress"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        DigestRunChecks.AssertInert(result.Stdout);
        DigestRunChecks.AssertInert(result.Stderr);
        Assert.Contains("muted by rule: tags\\u001b]0;PWNED\\u0007\\u001b[2J\\u202e 1", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("gzipped")]
    [InlineData("all rows bad")]
    public async Task An_accounts_file_with_no_account_in_it_stops_the_run_with_one_line(string kind)
    {
        // Was: exit 0 and digests with bare ids; a gzipped file printed its binary as "row skipped" warnings.
        var demo = File.ReadAllBytes(Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "accounts.json"));
        byte[] content = kind switch
        {
            "empty" => [],
            "gzipped" => Gzip(demo),
            _ => System.Text.Encoding.UTF8.GetBytes("id,name\n1234,short\nnot-an-id,x\n"),
        };
        var accounts = Path.Combine(_dir, "accounts.file");
        File.WriteAllBytes(accounts, content);
        var input = Write("events.jsonl", Events.JsonLines([Events.ApiCall()]));

        var result = await PipelineProcess.RunAsync(["digest", "--input", input, "--accounts", accounts, "--no-progress"]);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"accounts file '{accounts}' has no account in it", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        DigestRunChecks.AssertInert(result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    private static byte[] Gzip(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) gz.Write(content);
        return buffer.ToArray();
    }

    [Fact]
    public async Task A_skipped_row_of_the_accounts_file_is_reported_as_inert_text()
    {
        var accounts = Write("accounts.csv", "id,name\n111122223333,prod\n12345" + Hostile + ",bad\n");
        var input = Write("events.jsonl", Events.JsonLines([Events.ApiCall()]));

        var result = await PipelineProcess.RunAsync(["digest", "--input", input, "--accounts", accounts, "--no-progress"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        DigestRunChecks.AssertInert(result.Stderr);
        Assert.Contains("accounts file row skipped: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("12345\\u001b]0;PWNED", result.Stderr, StringComparison.Ordinal);
    }
}
