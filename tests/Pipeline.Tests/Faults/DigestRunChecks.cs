using System.Text.Json;
using System.Text;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Cli.Hosting;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport.Fuzzing;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Tests.Faults;

/// <summary>Runs the file host in-process and checks what every run must show, whatever its input.</summary>
internal static class DigestRunChecks
{
    private static readonly Lazy<FileAccountDirectory> Accounts = new(() => FileAccountDirectory.Load(FuzzSeeds.DemoFile("accounts.json")));
    private static readonly Lazy<MuteRuleSet> Mutes = new(() => MuteRuleSet.Load(FuzzSeeds.DemoFile("mute-rules.json")));

    public sealed record Run(RunSummary Summary, string Stdout, string Stderr);

    public static Run RunHost(byte[] input, OutputFormat format)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var options = new FileDigestOptions { Core = new DigestCoreOptions(), Format = format };
        var host = new FileDigestHost(options, Accounts.Value, Mutes.Value, stdout, stderr);
        var summary = host.RunAsync(RecordReader.ReadStream(new MemoryStream(input), "fuzz.jsonl"), CancellationToken.None).GetAwaiter().GetResult();
        var run = new Run(summary, stdout.ToString(), stderr.ToString());
        AssertAccountedFor(run, format);
        return run;
    }

    /// <summary>received = rejected + duplicates + muted + digested, digested = Σ eventCount, and the output is safe for where it goes.</summary>
    public static void AssertAccountedFor(Run run, OutputFormat format)
    {
        var s = run.Summary;
        Assert.True(s.Balanced, $"received {s.Received} ≠ rejected {s.Rejected} + duplicates {s.Duplicates} + muted {s.Muted} + digested {s.Digested}");
        switch (format)
        {
            case OutputFormat.Json:
                var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
                var digests = lines.Where(l => l.GetProperty("type").GetString() == "digest").ToList();
                Assert.Equal(s.Digests, digests.Count);
                Assert.Equal(s.Digested, digests.Sum(d => d.GetProperty("eventCount").GetInt64()));
                Assert.Equal(s.Received, lines[^1].GetProperty("received").GetInt64());
                break;
            case OutputFormat.Slack:
                var payloads = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(s.Messages, payloads.Length); // alerts, roll-ups and the digests no roll-up fully explains
                foreach (var payload in payloads)
                {
                    var bytes = Encoding.UTF8.GetBytes(payload);
                    Assert.Empty(SlackPayloadValidator.LimitProblems(bytes));
                    Assert.Empty(SlackPayloadValidator.InjectionProblems(bytes));
                }
                break;
            default:
                AssertNoControlCharacters(run.Stdout);
                break;
        }
        AssertNoControlCharacters(run.Stderr);
    }

    /// <summary>
    /// Stricter than <see cref="AssertNoControlCharacters"/>, for outputs that carry no progress bar: no carriage return
    /// either, and no invisible formatting (a bidi override makes a line read backwards) or line separator.
    /// </summary>
    public static void AssertInert(string output)
    {
        foreach (var c in output)
        {
            bool control = char.IsControl(c) && c is not '\n' and not '\t';
            bool hidden = char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator;
            Assert.False(control || hidden, $"U+{(int)c:X4} in output: {output}");
        }
    }

    /// <summary>Nothing an event carries can move the cursor, clear the screen or forge a line: only newlines (and tabs) pass.</summary>
    public static void AssertNoControlCharacters(string output)
    {
        foreach (var c in output)
            Assert.False(char.IsControl(c) && c is not '\n' and not '\t' and not '\r', $"control character U+{(int)c:X4} in output");
    }
}
