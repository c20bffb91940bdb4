using System.Reactive.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Cli.Hosting;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Tests.Faults;

/// <summary>
/// Hostile and broken records through the real `pipeline digest` process and in-process: every record is
/// accounted for, and attacker text is inert in every output (terminal text, JSON, Slack payloads).
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("faults-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Account = "555555555555";

    private static readonly string[] HostileNames =
    [
        "<!channel>", "<!here>", "<https://evil.example|click here>", "alice & <bob>", "\u001b[2J\u001b[31mroot\u001b[0m",
        "eve\nrejected events.jsonl:1: fake line", "mallory\r\u001b[Kcleared", "Алиса", "管理者", "🔥admin🔥", "\u202eevil", "`code` *bold*",
    ];

    /// <summary>A file of good, hostile and broken records, and how many of them must be rejected.</summary>
    private static (byte[] File, int Good, int Rejected) HostileFile()
    {
        var lines = new List<byte[]>();
        int good = 0, rejected = 0;
        var t = Events.T0;
        foreach (var name in HostileNames)
        {
            var identity = new JsonObject { ["type"] = "IAMUser", ["userName"] = name, ["arn"] = $"arn:aws:iam::{Account}:user/x", ["accountId"] = Account };
            var evt = Events.ApiCall(account: Account, time: t = t.AddSeconds(5), eventName: "AttachUserPolicy", identity: identity, errorCode: name,
                requestParameters: new JsonObject { ["userName"] = name, ["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess" });
            evt["detail"]!["errorMessage"] = name;
            evt["detail"]!["userAgent"] = name;
            evt["detail"]!["sourceIPAddress"] = name;
            lines.Add(evt.Utf8());
            good++;
        }
        // A 1 MB event and one over 1 MB (Kinesis' record limit is 1 MiB; files have none): both are read.
        foreach (var size in new[] { 1_000_000, 1_100_000 })
        {
            var big = Events.ApiCall(account: Account, time: t = t.AddSeconds(5), eventName: "PutBucketPolicy");
            big["detail"]!["requestParameters"] = new JsonObject { ["bucketName"] = "b", ["policy"] = new string('x', size) };
            lines.Add(big.Utf8());
            good++;
        }
        // Broken: truncated, not JSON, deeper than the parser's limit (twice), invalid UTF-8 in the structure, bad account.
        var whole = Events.ApiCall(account: Account, time: t = t.AddSeconds(5)).Line();
        lines.Add(Encoding.UTF8.GetBytes(whole[..(whole.Length / 2)]));
        lines.Add("not json at all \u001b[31m<!channel>"u8.ToArray());
        lines.Add(Encoding.UTF8.GetBytes(new string('[', 300) + new string(']', 300)));
        lines.Add(Encoding.UTF8.GetBytes("{\"detail\":" + new string('[', 100_000)));
        lines.Add([.. "{\"version\":"u8, 0xff, 0xfe, .. "}"u8]);
        lines.Add(Events.ApiCall(account: "55555555555\u001b", time: t).Utf8());
        rejected += 6;
        // Invalid UTF-8 inside a string value: repaired and digested.
        lines.Add(Events.ApiCall(account: Account, time: t = t.AddSeconds(5), eventName: "DeleteTrail", session: "@@").Utf8());
        var last = lines[^1];
        int at = last.AsSpan().IndexOf("@@"u8);
        last[at] = 0xc0;
        last[at + 1] = 0xaf;
        good++;

        var file = lines.SelectMany(l => l.Concat("\n"u8.ToArray())).ToArray();
        return (file, good, rejected);
    }

    private async Task<(PipelineProcess.Result Result, string Path)> RunProcessAsync(byte[] file, params string[] args)
    {
        var path = Path.Combine(_dir, "hostile.jsonl");
        await File.WriteAllBytesAsync(path, file);
        var result = await PipelineProcess.RunAsync(["digest", "--input", path, "--no-progress", .. args]);
        return (result, path);
    }

    [Fact]
    public async Task Hostile_and_broken_records_are_all_accounted_for_in_the_json_output()
    {
        var (file, good, rejected) = HostileFile();
        var (result, _) = await RunProcessAsync(file, "--format", "json");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Commands.DigestCommandTests.AssertBalanced(lines);
        var summary = lines[^1];
        Assert.Equal(good + rejected, summary.GetProperty("received").GetInt32());
        Assert.Equal(rejected, summary.GetProperty("rejected").GetInt32());
        Assert.Equal(good, summary.GetProperty("digested").GetInt32());
        DigestRunChecks.AssertNoControlCharacters(result.Stderr);
        Assert.Equal(rejected, result.Stderr.Split('\n').Count(l => l.StartsWith("rejected ", StringComparison.Ordinal)));
        // Names survive as data: the JSON carries them exactly (escaped by the JSON writer, decoded here).
        var principals = lines.Where(l => l.GetProperty("type").GetString() == "digest").SelectMany(d => d.GetProperty("principals").EnumerateObject().Select(p => p.Name)).ToHashSet();
        Assert.Contains("user/Алиса", principals);
        Assert.Contains("user/🔥admin🔥", principals);
        Assert.Contains("user/<!channel>", principals);
    }

    [Fact]
    public async Task Hostile_text_reaches_the_terminal_as_inert_text()
    {
        var (file, good, rejected) = HostileFile();
        var (result, _) = await RunProcessAsync(file);
        Assert.Equal(0, result.ExitCode);
        DigestRunChecks.AssertNoControlCharacters(result.Stdout);
        DigestRunChecks.AssertNoControlCharacters(result.Stderr);
        Assert.Contains($"received {good + rejected} = rejected {rejected} + ", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\nrejected events.jsonl:1: fake line", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.Contains("user/Алиса", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("管理者", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostile_text_in_slack_payloads_cannot_mention_link_or_break_limits()
    {
        var (file, good, rejected) = HostileFile();
        var (result, _) = await RunProcessAsync(file, "--format", "slack");
        Assert.Equal(0, result.ExitCode);
        var payloads = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(payloads);
        foreach (var payload in payloads)
        {
            var bytes = Encoding.UTF8.GetBytes(payload);
            Assert.Empty(SlackPayloadValidator.LimitProblems(bytes));
            Assert.Empty(SlackPayloadValidator.InjectionProblems(bytes));
            foreach (var (_, _, text) in SlackPayloadValidator.Texts(JsonDocument.Parse(payload).RootElement, "$"))
                Assert.DoesNotContain('\u001b', text);
        }
        Assert.Contains("&lt;!channel&gt;", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"received {good + rejected} = rejected {rejected} + ", result.Stderr, StringComparison.Ordinal);
        DigestRunChecks.AssertNoControlCharacters(result.Stderr);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("slack")]
    [InlineData("text")]
    public void Hostile_and_broken_records_balance_in_process(string format)
    {
        var (file, good, rejected) = HostileFile();
        var run = DigestRunChecks.RunHost(file, Enum.Parse<OutputFormat>(format, ignoreCase: true));
        Assert.Equal(good + rejected, run.Summary.Received);
        Assert.Equal(rejected, run.Summary.Rejected);
    }

    [Fact]
    public void Rejection_reports_escape_control_characters_quoted_from_the_record()
    {
        // Was: "rejected …: account id '…' is not 12 digits" printed the record's ANSI escapes to stderr as they were.
        var file = Events.ApiCall(account: "\u001b[2J\u001b]0;pwned\u0007").Utf8();
        var run = DigestRunChecks.RunHost([.. file, (byte)'\n'], OutputFormat.Json);
        Assert.Contains("\\u001b[2J", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_reasons_escape_control_characters_quoted_from_the_record()
    {
        // Was: a quote inside the bad value defeated the reason grouping and the rest, escapes included, reached the summary line.
        var file = Events.ApiCall(account: "1'\u001b[2J").Utf8();
        var run = DigestRunChecks.RunHost([.. file, (byte)'\n'], OutputFormat.Text);
        Assert.Contains("rejected: 1× account id", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flood_of_copies_is_counted_as_duplicates_and_the_dedupe_memory_stays_at_the_originals()
    {
        var originals = Enumerable.Range(0, 5).Select(i => Events.ApiCall(account: Account, time: Events.T0.AddSeconds(i), eventName: "RunInstances").Utf8()).ToArray();
        const int copies = 100_000;
        var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions(), FileAccountDirectory.Empty);
        int peak = 0;
        var counts = new Dictionary<Type, int>();
        for (int i = 0; i < copies; i++)
        {
            var outcome = enricher.Classify(new RawRecord(originals[i % originals.Length], new RecordOrigin("flood", i + 1)));
            counts[outcome.GetType()] = counts.GetValueOrDefault(outcome.GetType()) + 1;
            peak = Math.Max(peak, enricher.Deduplicator.Count);
        }
        Assert.Equal(originals.Length, counts[typeof(EnrichmentOutcome.Accepted)]);
        Assert.Equal(copies - originals.Length, counts[typeof(EnrichmentOutcome.Duplicate)]);
        Assert.Equal(originals.Length, peak);
    }

    [Fact]
    public async Task A_flood_of_copies_through_the_process_digests_only_the_originals()
    {
        var originals = Enumerable.Range(0, 5).Select(i => Events.ApiCall(account: Account, time: Events.T0.AddSeconds(i), eventName: "RunInstances").Line()).ToArray();
        const int copies = 100_000;
        var sb = new StringBuilder();
        for (int i = 0; i < copies; i++) sb.Append(originals[i % originals.Length]).Append('\n');
        var (result, _) = await RunProcessAsync(Encoding.UTF8.GetBytes(sb.ToString()), "--format", "json");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Commands.DigestCommandTests.AssertBalanced(lines);
        Assert.Equal(copies, lines[^1].GetProperty("received").GetInt32());
        Assert.Equal(copies - originals.Length, lines[^1].GetProperty("duplicates").GetInt32());
        Assert.Equal(originals.Length, lines[^1].GetProperty("digested").GetInt32());
    }
}
