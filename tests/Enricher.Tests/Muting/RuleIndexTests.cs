using System.Text.Json;
using Pipeline.Enricher.Muting;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Muting;

/// <summary>The index may only skip rules that cannot match: indexed and full evaluation always agree.</summary>
public sealed class RuleIndexTests
{
    private const string MixedRules = """
        {"rules":[
          {"name":"tagging", "pattern":{"detail":{"eventName":["CreateTags","DeleteTags"]}}},
          {"name":"either-name", "pattern":{"$or":[{"detail":{"eventName":["GetObject"]}},{"detail":{"eventName":["PutObject"]}}]}},
          {"name":"name-or-source", "pattern":{"$or":[{"detail":{"eventName":["ListBuckets"]}},{"source":["aws.kms"]}]}},
          {"name":"resource", "pattern":{"resources":["arn:aws:s3:::logs"]}},
          {"name":"reads", "pattern":{"detail":{"eventName":[{"prefix":"Describe"}]}}},
          {"name":"ip-exact", "pattern":{"detail":{"sourceIPAddress":["10.0.0.1"]}}}
        ]}
        """;

    [Fact]
    public void Rules_needing_an_exact_string_in_every_branch_are_indexed_and_the_others_always_evaluated()
    {
        var rules = MuteRuleSet.Parse(MixedRules, "mute.json");

        // name-or-source has no field common to both branches; reads uses prefix; ip-exact compares addresses.
        Assert.Equal(3, rules.UnindexedRuleCount);
    }

    [Theory]
    [InlineData("""{"detail":{"eventName":"DeleteTags"}}""", new[] { "tagging" })]
    [InlineData("""{"detail":{"eventName":"PutObject"}}""", new[] { "either-name" })]
    [InlineData("""{"source":"aws.kms","detail":{"eventName":"Decrypt"}}""", new[] { "name-or-source" })]
    [InlineData("""{"resources":["arn:aws:s3:::other","arn:aws:s3:::logs"]}""", new[] { "resource" })]
    [InlineData("""{"detail":{"eventName":["Nope","CreateTags"]}}""", new[] { "tagging" })]
    [InlineData("""{"detail":{"eventName":"DescribeVpcs","sourceIPAddress":"10.0.0.1"}}""", new[] { "reads", "ip-exact" })]
    [InlineData("""{"detail":{"eventName":"RunInstances"}}""", new string[0])]
    public void Indexed_matching_finds_the_same_rules_as_evaluating_every_rule(string evt, string[] expected)
    {
        var rules = MuteRuleSet.Parse(MixedRules, "mute.json");
        using var doc = JsonDocument.Parse(evt);

        Assert.Equal(expected, rules.Matches(doc.RootElement));
        Assert.Equal(expected, rules.MatchesWithoutIndex(doc.RootElement));
    }

    [SkippableFact]
    public void On_the_shared_corpus_indexed_and_full_evaluation_agree_for_every_event()
    {
        var folder = SharedCorpus.RequireDirectory("corpus");
        var events = Directory.GetFiles(folder, "*.jsonl")
            .SelectMany(File.ReadLines)
            .Where(l => l.Trim().Length > 0)
            .Select(l => JsonDocument.Parse(l))
            .ToList();
        try
        {
            var names = events.SelectMany(e => StringsAt(e.RootElement, "detail", "eventName").Concat(StringsAt(e.RootElement, "eventName")))
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            Skip.If(names.Count < 10, "the corpus has too few CloudTrail event names");

            // One rule per event name (indexed), plus unindexed rules with other operators.
            var rules = names.Select((n, i) => $$$"""{"name":"name-{{{i}}}","pattern":{"$or":[{"detail":{"eventName":["{{{n}}}"]}},{"eventName":["{{{n}}}"]}]}}""")
                .Append("""{"name":"reads","pattern":{"detail":{"eventName":[{"prefix":"Describe"},{"prefix":"List"},{"prefix":"Get"}],"readOnly":[true]}}}""")
                .Append("""{"name":"roles","pattern":{"detail":{"userIdentity":{"arn":[{"wildcard":"arn:aws:sts::*:assumed-role/*"}]}}}}""")
                .Append("""{"name":"private-ip","pattern":{"sourceIPAddress":[{"cidr":"10.0.0.0/8"}]}}""")
                .Append("""{"name":"no-error","pattern":{"source":[{"prefix":"aws."}],"detail":{"errorCode":[{"exists":false}]}}}""");
            var set = MuteRuleSet.Parse($$$"""{"rules":[{{{string.Join(",", rules)}}}]}""", "generated");

            var matched = 0;
            foreach (var e in events)
            {
                var indexed = set.Matches(e.RootElement);
                Assert.Equal(set.MatchesWithoutIndex(e.RootElement), indexed);
                Assert.Equal(indexed.FirstOrDefault(), set.FirstMatch(e.RootElement));
                matched += indexed.Count > 0 ? 1 : 0;
            }
            Assert.True(matched > events.Count / 2, $"only {matched} of {events.Count} events matched a rule: the comparison proves little");
        }
        finally
        {
            events.ForEach(e => e.Dispose());
        }
    }

    private static IEnumerable<string> StringsAt(JsonElement root, params string[] path)
    {
        var node = root;
        foreach (var name in path)
        {
            if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(name, out node))
                yield break;
        }
        if (node.ValueKind == JsonValueKind.String)
            yield return node.GetString()!;
    }
}
