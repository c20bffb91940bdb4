using System.Reactive.Linq;
using System.Text.Json;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Fuzzing;

/// <summary>The checks the fuzz tests (and their named reproducers) run on one input.</summary>
internal static class FuzzTargets
{
    /// <summary>Rules that use every operator, so mutated events meet every matcher.</summary>
    public const string BroadRules = """
    {"rules":[
      {"name":"tagging","pattern":{"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["CreateTags",{"prefix":"Tag"}],"errorCode":[{"exists":false}]}}},
      {"name":"office","pattern":{"detail":{"sourceIPAddress":[{"cidr":"192.0.2.0/24"},{"cidr":"2001:db8::/32"},"198.51.100.23"]}}},
      {"name":"reads","pattern":{"detail":{"readOnly":[true],"userIdentity":{"arn":[{"wildcard":"arn:aws:sts::*:assumed-role/*/ci*"}]}}}},
      {"name":"severity","pattern":{"detail":{"severity":[{"numeric":[">",0,"<=",4]}]}}},
      {"name":"not-us","pattern":{"region":[{"anything-but":{"prefix":"us-"}}],"source":[{"suffix":{"equals-ignore-case":".EC2"}}]}},
      {"name":"either","pattern":{"$or":[{"account":["111111111111"]},{"detail":{"userIdentity":{"type":[{"equals-ignore-case":"root"}]}}}]}},
      {"name":"tags","pattern":{"detail":{"requestParameters":{"tagSet":{"items":{"key":["Owner"],"value":[{"anything-but":["x","y"]}]}}}}}},
      {"name":"nulls","pattern":{"detail":{"responseElements":[null],"eventVersion":[{"exists":true}]}}}
    ]}
    """;

    private static readonly Lazy<MuteRuleSet> Demo = new(() => MuteRuleSet.Load(FuzzSeeds.DemoFile("mute-rules.json")));
    private static readonly Lazy<MuteRuleSet> Broad = new(() => MuteRuleSet.Parse(BroadRules, "broad"));
    private static readonly Lazy<FileAccountDirectory> Accounts = new(() => FileAccountDirectory.Load(FuzzSeeds.DemoFile("accounts.json")));

    public static IMuteRules DemoRules => Demo.Value;
    public static MuteRuleSet BroadRuleSet => Broad.Value;

    public static Pipeline.Enricher.Enrichment.Enricher NewEnricher(IMuteRules? mutes = null) => new(new EnricherOptions(), Accounts.Value, mutes ?? Broad.Value);

    /// <summary>Reads <paramref name="input"/> as a file and runs every record through the Enricher: one outcome per record, in order.</summary>
    public static void ReadAndEnrich(byte[] input) => Enrich(RecordReader.ReadStream(new MemoryStream(input), "fuzz").ToList(), input);

    public static void Enrich(List<RawRecord> records, byte[]? plainInput)
    {
        if (plainInput is not null) AssertEveryLineRead(plainInput, records);
        var outcomes = NewEnricher().EnrichAsync(records, default).AsTask().GetAwaiter().GetResult();
        Assert.Equal(records.Count, outcomes.Count);
        for (int i = 0; i < records.Count; i++)
        {
            Assert.Equal(records[i].Origin, outcomes[i].Origin);
            if (outcomes[i] is EnrichmentOutcome.Rejected r) Assert.False(string.IsNullOrWhiteSpace(r.Reason));
        }
    }

    /// <summary>
    /// Nothing read disappears: in JSON Lines every non-blank line becomes at least one record (an empty
    /// container, <c>[]</c> or <c>{"Records":[]}</c>, is the one line that legitimately yields none); a file read
    /// as one document yields records that all point at its first line; a stream that opens with a container
    /// (<c>[</c>, <c>{"Records":[</c>) is read value by value, and each of its records points at a line a value starts on.
    /// </summary>
    public static void AssertEveryLineRead(byte[] input, List<RawRecord> records)
    {
        var lines = SplitLines(input);
        var nonBlank = lines.Select((l, i) => (Line: l, Number: i + 1L)).Where(x => !IsBlank(x.Line)).ToList();
        if (nonBlank.Count == 0) { Assert.Empty(records); return; }
        if (records.Count == 0)
        {
            Assert.True(IsEmptyContainer(input) || nonBlank.All(x => IsEmptyContainer(x.Line)), "input with content yielded no record and is not an empty container");
            return;
        }
        var origins = records.Select(r => r.Origin.Line).ToHashSet();
        if (JsonValueStreamReader.StartsContainer(input.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? input.AsSpan(3) : input))
        {
            Assert.Subset(nonBlank.Select(x => x.Number).ToHashSet(), origins);
            return;
        }
        bool oneDocument = origins.Count == 1 && origins.Single() == nonBlank[0].Number && nonBlank.Count > 1 && IsOneJsonValue(input);
        if (oneDocument) return;
        foreach (var (line, number) in nonBlank)
            Assert.True(origins.Contains(number) || IsEmptyContainer(line), $"line {number} yielded no record");
    }

    private static List<byte[]> SplitLines(byte[] input)
    {
        var lines = new List<byte[]>();
        int start = 0;
        for (int i = 0; i <= input.Length; i++)
        {
            if (i < input.Length && input[i] != (byte)'\n') continue;
            int end = i > start && input[i - 1] == (byte)'\r' ? i - 1 : i;
            if (i < input.Length || start < input.Length) lines.Add(input[start..end]);
            start = i + 1;
        }
        return lines;
    }

    private static bool IsBlank(byte[] line) => line.AsSpan().Trim(" \t\r\n"u8).IsEmpty;

    private static bool IsOneJsonValue(byte[] input)
    {
        try
        {
            using var doc = JsonDocument.Parse(input, new JsonDocumentOptions { MaxDepth = 256 });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsEmptyContainer(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Array) return root.GetArrayLength() == 0;
            return root.ValueKind == JsonValueKind.Object && root.EnumerateObject().FirstOrDefault() is { Name: "Records" } &&
                   root.GetProperty("Records") is { ValueKind: JsonValueKind.Array } records && records.GetArrayLength() == 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
