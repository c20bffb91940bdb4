using System.Text.Json;
using Pipeline.Enricher.Muting;

namespace Pipeline.Enricher.Tests.Muting;

public sealed class MuteRuleFileTests
{
    private const string TwoRules = """
        {
          // Comments and trailing commas are allowed in the file.
          "rules": [
            { "name": "terraform-tagging", "description": "CI tags everything it creates",
              "pattern": { "detail": { "eventName": ["CreateTags"] } } },
            { "name": "all-ec2", "pattern": { "source": ["aws.ec2"] } },
          ]
        }
        """;

    private const string TagEvent = """{"source":"aws.ec2","detail":{"eventName":"CreateTags"}}""";

    [Fact]
    public void Rule_names_are_kept_in_file_order()
    {
        var rules = MuteRuleSet.Parse(TwoRules, "mute.json");

        Assert.Equal(["terraform-tagging", "all-ec2"], rules.RuleNames);
    }

    [Fact]
    public void First_match_is_the_earliest_matching_rule_in_the_file()
    {
        var rules = MuteRuleSet.Parse(TwoRules, "mute.json");
        using var evt = JsonDocument.Parse(TagEvent);

        Assert.Equal("terraform-tagging", rules.FirstMatch(evt.RootElement));
    }

    [Fact]
    public void Matches_lists_every_matching_rule_in_file_order()
    {
        var rules = MuteRuleSet.Parse(TwoRules, "mute.json");
        using var tag = JsonDocument.Parse(TagEvent);
        using var other = JsonDocument.Parse("""{"source":"aws.ec2","detail":{"eventName":"RunInstances"}}""");
        using var s3 = JsonDocument.Parse("""{"source":"aws.s3","detail":{"eventName":"PutObject"}}""");

        Assert.Equal(["terraform-tagging", "all-ec2"], rules.Matches(tag.RootElement));
        Assert.Equal(["all-ec2"], rules.Matches(other.RootElement));
        Assert.Empty(rules.Matches(s3.RootElement));
        Assert.Null(rules.FirstMatch(s3.RootElement));
    }

    [Fact]
    public void Empty_rule_list_mutes_nothing()
    {
        var rules = MuteRuleSet.Parse("""{"rules":[]}""", "mute.json");
        using var evt = JsonDocument.Parse(TagEvent);

        Assert.Null(rules.FirstMatch(evt.RootElement));
        Assert.Empty(MuteRuleSet.Empty.RuleNames);
    }

    [Fact]
    public void Load_reads_a_file_and_parse_accepts_utf8_with_a_byte_order_mark()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mute-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, TwoRules, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        try
        {
            Assert.Equal(2, MuteRuleSet.Load(path).RuleNames.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_of_a_missing_file_names_the_file()
    {
        var e = Assert.Throws<MuteRuleException>(() => MuteRuleSet.Load("/nonexistent/mute.json"));

        Assert.Contains("/nonexistent/mute.json", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"rules":[{"name":"a","pattern":{"source":["x"]}},{"name":"a","pattern":{"source":["y"]}}]}""", "rule \"a\" (#2): duplicate name, already used by rule #1")]
    [InlineData("""{"rules":[{"pattern":{"source":["x"]}}]}""", "rule #1: missing \"name\"")]
    [InlineData("""{"rules":[{"name":"","pattern":{"source":["x"]}}]}""", "rule #1: \"name\" must be a non-empty string")]
    [InlineData("""{"rules":[{"name":"a"}]}""", "rule \"a\" (#1): missing \"pattern\"")]
    [InlineData("""{"rules":[{"name":"a","patern":{}}]}""", "rule #1: unknown key \"patern\"")]
    [InlineData("""{"rule":[]}""", "unknown top-level key \"rule\"")]
    [InlineData("""{"rules":{}}""", "\"rules\" must be an array")]
    [InlineData("""[]""", "the file must be a JSON object")]
    [InlineData("""{"rules":[""", "not valid JSON")]
    public void Invalid_rule_file_is_rejected_with_a_message_naming_the_problem(string file, string expected)
    {
        var e = Assert.Throws<MuteRuleException>(() => MuteRuleSet.Parse(file, "mute.json"));

        Assert.StartsWith("mute.json: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"detail":{"eventName":[{"prefx":"Describe"}]}}""", "pattern.detail.eventName: Unrecognized match type prefx")]
    [InlineData("""{"detail":{"arn":[{"wildcard":"arn:**:role"}]}}""", "pattern.detail.arn: Consecutive wildcard characters at pos 4")]
    [InlineData("""{"detail":{"arn":[{"wildcard":"a\\b"}]}}""", "Invalid escape character at pos 1")]
    [InlineData("""{"detail":{"arn":[{"anything-but":{"wildcard":"a**"}}]}}""", "Consecutive wildcard characters")]
    [InlineData("""{"detail":{"n":[{"numeric":[">","five"]}]}}""", "pattern.detail.n: Value of > must be numeric")]
    [InlineData("""{"detail":{"n":[{"numeric":["~",5]}]}}""", "Unrecognized numeric range operator: ~")]
    [InlineData("""{"detail":{"n":[{"numeric":[">",5,">",6]}]}}""", "Bad numeric range operator: >")]
    [InlineData("""{"detail":{"n":[{"numeric":["<",5,">",1]}]}}""", "Too many elements in numeric expression")]
    [InlineData("""{"detail":{"n":[{"numeric":[">",5,"<",5]}]}}""", "Bottom must be less than top")]
    [InlineData("""{"detail":{"n":[{"numeric":["=",12345678901234567890]}]}}""", "Cannot compare number")]
    [InlineData("""{"detail":{"n":[{"numeric":5}]}}""", "Value of numeric must be an array.")]
    [InlineData("""{"detail":{"n":[]}}""", "pattern.detail.n: Empty arrays are not allowed")]
    [InlineData("""{"detail":{}}""", "pattern.detail: Empty objects are not allowed")]
    [InlineData("""{}""", "pattern: Empty objects are not allowed")]
    [InlineData("""{"source":"aws.ec2"}""", "pattern.source: \"source\" must be an object or an array")]
    [InlineData("""{"source":[["aws.ec2"]]}""", "Match value must be String, number, true, false, or null")]
    [InlineData("""{"source":[{"prefix":"a","suffix":"b"}]}""", "Only one key allowed in match expression")]
    [InlineData("""{"source":[{}]}""", "Match expression name not found")]
    [InlineData("""{"source":[{"prefix":5}]}""", "prefix match pattern must be a string")]
    [InlineData("""{"source":[{"prefix":{"wildcard":"x"}}]}""", "Unsupported prefix pattern: wildcard")]
    [InlineData("""{"source":[{"exists":"yes"}]}""", "exists match pattern must be either true or false.")]
    [InlineData("""{"source":[{"anything-but":["a",1]}]}""", "mixed type is not supported")]
    [InlineData("""{"source":[{"anything-but":[null]}]}""", "start|null|boolean is not supported")]
    [InlineData("""{"source":[{"anything-but":true}]}""", "Value of anything-but must be an array or single string/number value.")]
    [InlineData("""{"source":[{"anything-but":{"prefix":""}}]}""", "Null prefix/suffix not allowed")]
    [InlineData("""{"source":[{"anything-but":{"numeric":[">",1]}}]}""", "Unsupported anything-but pattern: numeric")]
    [InlineData("""{"ip":[{"cidr":"10.0.0.0"}]}""", "Malformed CIDR, one '/' required")]
    [InlineData("""{"ip":[{"cidr":"10.0.0.0/33"}]}""", "IPv4 mask bits must be < 32")]
    [InlineData("""{"ip":[{"cidr":"example.com/8"}]}""", "Nonstandard IP address: example.com")]
    [InlineData("""{"ip":[{"cidr":"10.0.0.0/x"}]}""", "mask bits must be an integer")]
    [InlineData("""{"$or":[{"source":["a"]}]}""", "$or needs at least 2 objects")]
    [InlineData("""{"$or":{"source":["a"]}}""", "$or must be followed by an array of objects")]
    [InlineData("""{"$or":[{"prefix":["a"]},{"source":["b"]}]}""", "pattern.prefix: \"prefix\" is an operator name")]
    [InlineData("""["source"]""", "pattern: Filter is not an object")]
    public void Pattern_that_EventBridge_rejects_fails_at_load_naming_rule_place_and_reason(string pattern, string expected)
    {
        var file = $$$"""{"rules":[{"name":"ok","pattern":{"source":["x"]}},{"name":"bad-rule","pattern":{{{pattern}}}}]}""";

        var e = Assert.Throws<MuteRuleException>(() => MuteRuleSet.Parse(file, "mute.json"));

        Assert.StartsWith("mute.json: rule \"bad-rule\" (#2): ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
