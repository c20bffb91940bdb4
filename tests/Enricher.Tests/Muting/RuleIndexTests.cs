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
    public void Rules_needing_a_lookup_string_in_every_branch_are_indexed_and_the_others_always_evaluated()
    {
        var rules = MuteRuleSet.Parse(MixedRules, "mute.json");

        // name-or-source has no field common to both branches; reads (prefix) and ip-exact (address) are indexed.
        Assert.Equal(1, rules.UnindexedRuleCount);
    }

    // Every rule here but the last five can be looked up; the event list hits each of them from several sides.
    private const string OperatorRules = """
        {"rules":[
          {"name":"prefix", "pattern":{"detail":{"eventName":[{"prefix":"Describe"}]}}},
          {"name":"prefix-or-exact", "pattern":{"detail":{"eventName":[{"prefix":"List"},"GetObject"]}}},
          {"name":"prefix-ic", "pattern":{"detail":{"eventName":[{"prefix":{"equals-ignore-case":"DELETE"}}]}}},
          {"name":"equals-ic", "pattern":{"detail":{"eventName":[{"equals-ignore-case":"putobject"}]}}},
          {"name":"prefix-ic-non-ascii", "pattern":{"detail":{"eventName":[{"prefix":{"equals-ignore-case":"ÄRGER"}}]}}},
          {"name":"suffix", "pattern":{"detail":{"requestParameters":{"key":[{"suffix":".png"}]}}}},
          {"name":"suffix-ic", "pattern":{"detail":{"requestParameters":{"key":[{"suffix":{"equals-ignore-case":".JPG"}}]}}}},
          {"name":"empty-prefix", "pattern":{"detail":{"userAgent":[{"prefix":""}]}}},
          {"name":"role-wildcard", "pattern":{"detail":{"userIdentity":{"arn":[{"wildcard":"arn:aws:iam::*:role/terraform-ci*"}]}}}},
          {"name":"leading-wildcard", "pattern":{"detail":{"userIdentity":{"arn":[{"wildcard":"arn:aws:sts::*"}]}}}},
          {"name":"trailing-wildcard", "pattern":{"detail":{"userIdentity":{"arn":[{"wildcard":"*:root"}]}}}},
          {"name":"escaped-wildcard", "pattern":{"detail":{"eventName":[{"wildcard":"Odd\\*Name*"}]}}},
          {"name":"starless-wildcard", "pattern":{"detail":{"eventName":[{"wildcard":"StopInstances"}]}}},
          {"name":"cidr4", "pattern":{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/8"}]}}},
          {"name":"cidr6", "pattern":{"detail":{"sourceIPAddress":[{"cidr":"2001:db8::/32"}]}}},
          {"name":"cidr-or-ip", "pattern":{"detail":{"sourceIPAddress":[{"cidr":"192.168.0.0/16"},"172.16.0.1"]}}},
          {"name":"or-same-path", "pattern":{"$or":[{"detail":{"eventName":[{"prefix":"Create"}]}},{"detail":{"eventName":[{"wildcard":"*Tags"}]}}]}},
          {"name":"with-absence", "pattern":{"detail":{"eventName":[{"prefix":"Run"}],"errorCode":[{"exists":false}]}}},
          {"name":"array-values", "pattern":{"resources":[{"prefix":"arn:aws:s3:::logs"}]}},
          {"name":"or-other-paths", "pattern":{"$or":[{"detail":{"eventName":[{"prefix":"Get"}]}},{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/8"}]}}]}},
          {"name":"anything-but-prefix", "pattern":{"detail":{"eventName":[{"anything-but":{"prefix":"Describe"}}]}}},
          {"name":"star-only", "pattern":{"detail":{"eventName":[{"wildcard":"*"}]}}},
          {"name":"short-middle", "pattern":{"detail":{"eventName":[{"wildcard":"*Obj*"}]}}},
          {"name":"prefix-or-number", "pattern":{"detail":{"eventName":[{"prefix":"Describe"},5]}}}
        ]}
        """;

    private static readonly string[] OperatorEventTexts =
    [
        """{"detail":{"eventName":"DescribeVpcs"}}""",
        """{"detail":{"eventName":"Describe"}}""",
        """{"detail":{"eventName":"Describ"}}""",
        """{"detail":{"eventName":"ListBuckets","sourceIPAddress":"10.1.2.3"}}""",
        """{"detail":{"eventName":"GetObject","sourceIPAddress":"11.0.0.1"}}""",
        """{"detail":{"eventName":"deleteBucket"}}""",
        """{"detail":{"eventName":"DeLeTe"}}""",
        """{"detail":{"eventName":"PUTOBJECT"}}""",
        """{"detail":{"eventName":"ärgerlich"}}""",
        """{"detail":{"eventName":"PutObjectAcl"}}""",
        """{"detail":{"eventName":5}}""",
        """{"detail":{"eventName":"Odd*Name-1"}}""",
        """{"detail":{"eventName":"OddXName-1"}}""",
        """{"detail":{"eventName":"StopInstances"}}""",
        """{"detail":{"eventName":"CreateTags"}}""",
        """{"detail":{"eventName":"RemoveTags"}}""",
        """{"detail":{"eventName":"RunInstances"}}""",
        """{"detail":{"eventName":"RunInstances","errorCode":"AccessDenied"}}""",
        """{"detail":{"eventName":["Nope","DescribeRegions"]}}""",
        """{"detail":[{"eventName":"Nope"},{"eventName":"ListKeys"}]}""",
        """{"detail":{"requestParameters":{"key":"a/b/cat.png"}}}""",
        """{"detail":{"requestParameters":{"key":"a/b/cat.PNG"}}}""",
        """{"detail":{"requestParameters":{"key":"dog.jPg"}}}""",
        """{"detail":{"requestParameters":{"key":["x","y.jpg"]}}}""",
        """{"detail":{"userAgent":""}}""",
        """{"detail":{"userAgent":null}}""",
        """{"detail":{"userIdentity":{"arn":"arn:aws:iam::123456789012:role/terraform-ci-prod"}}}""",
        """{"detail":{"userIdentity":{"arn":"arn:aws:iam::123456789012:role/terraform-c"}}}""",
        """{"detail":{"userIdentity":{"arn":"arn:aws:sts::123456789012:assumed-role/x/y"}}}""",
        """{"detail":{"userIdentity":{"arn":"arn:aws:iam::123456789012:root"}}}""",
        """{"detail":{"sourceIPAddress":"10.255.255.255"}}""",
        """{"detail":{"sourceIPAddress":"::ffff:10.0.0.7"}}""",
        """{"detail":{"sourceIPAddress":"2001:DB8::1"}}""",
        """{"detail":{"sourceIPAddress":"2001:db9::1"}}""",
        """{"detail":{"sourceIPAddress":"192.168.44.1"}}""",
        """{"detail":{"sourceIPAddress":"172.16.0.1"}}""",
        """{"detail":{"sourceIPAddress":"::ffff:172.16.0.1"}}""",
        """{"detail":{"sourceIPAddress":"010.0.0.1"}}""",
        """{"detail":{"sourceIPAddress":["ec2.amazonaws.com","10.0.0.1"]}}""",
        """{"detail":{"sourceIPAddress":"AWS Internal"}}""",
        """{"resources":["arn:aws:s3:::other","arn:aws:s3:::logs-2026"]}""",
        """{"resources":[{"ARN":"arn:aws:s3:::logs"}]}""",
        """{}""",
    ];

    public static TheoryData<string> OperatorEvents()
    {
        var data = new TheoryData<string>();
        foreach (var e in OperatorEventTexts)
            data.Add(e);
        return data;
    }

    [Fact]
    public void Prefix_suffix_wildcard_and_address_rules_are_indexed_unless_a_branch_escapes_the_lookup()
    {
        var rules = MuteRuleSet.Parse(OperatorRules, "mute.json");

        // or-other-paths, anything-but-prefix, star-only, short-middle and prefix-or-number.
        Assert.Equal(5, rules.UnindexedRuleCount);
    }

    [Theory]
    [MemberData(nameof(OperatorEvents))]
    public void Indexed_matching_of_prefix_suffix_wildcard_and_address_rules_agrees_with_evaluating_every_rule(string evt)
    {
        var rules = MuteRuleSet.Parse(OperatorRules, "mute.json");
        using var doc = JsonDocument.Parse(evt);

        var indexed = rules.Matches(doc.RootElement);
        Assert.Equal(rules.MatchesWithoutIndex(doc.RootElement), indexed);
        Assert.Equal(indexed.FirstOrDefault(), rules.FirstMatch(doc.RootElement));
    }

    [Fact]
    public void Every_indexed_operator_rule_is_matched_by_some_event_so_the_comparison_is_not_vacuous()
    {
        var rules = MuteRuleSet.Parse(OperatorRules, "mute.json");

        var matched = OperatorEventTexts
            .SelectMany(e =>
            {
                using var doc = JsonDocument.Parse(e);
                return rules.Matches(doc.RootElement);
            })
            .ToHashSet(StringComparer.Ordinal);

        var neverMatched = rules.RuleNames.Except(matched, StringComparer.Ordinal).ToList();
        Assert.Empty(neverMatched);
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
                .Append("""{"name":"no-error","pattern":{"source":[{"prefix":"aws."}],"detail":{"errorCode":[{"exists":false}]}}}""")
                .Append("""{"name":"ci-role","pattern":{"detail":{"userIdentity":{"sessionContext":{"sessionIssuer":{"arn":[{"wildcard":"arn:aws:iam::*:role/*-ci*"}]}}}}}}""")
                .Append("""{"name":"any-private-ip","pattern":{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/8"},{"cidr":"172.16.0.0/12"},{"cidr":"192.168.0.0/16"}]}}}""")
                .Append("""{"name":"console","pattern":{"detail":{"eventName":[{"prefix":{"equals-ignore-case":"consolelogin"}}]}}}""")
                .Append("""{"name":"service-suffix","pattern":{"detail":{"eventSource":[{"suffix":".amazonaws.com"}]}}}""")
                .Append("""{"name":"finding","pattern":{"detail-type":[{"wildcard":"*Finding*"}]}}""");
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
