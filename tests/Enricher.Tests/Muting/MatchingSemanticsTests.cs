namespace Pipeline.Enricher.Tests.Muting;

/// <summary>Corners of event-ruler's behaviour beyond the shared conformance cases, read from its source.</summary>
public sealed class MatchingSemanticsTests
{
    [Theory]
    // exists:false is judged against the array elements chosen by the fields before it in path order:
    // here "a" sorts before "b", so the absence of "a" is checked against the whole array and fails.
    [InlineData("""{"d":{"a":[{"exists":false}],"b":[{"exists":true}]}}""", """{"d":[{"b":1},{"a":2,"b":3}]}""", false)]
    // ...while with the present field first, its element pins the array and the absence holds there.
    [InlineData("""{"d":{"a":[{"exists":true}],"b":[{"exists":false}]}}""", """{"d":[{"a":1},{"a":2,"b":3}]}""", true)]
    [InlineData("""{"d":{"x":[1]}}""", """{"d":[[{"x":2}],[{"x":1}]]}""", true)]
    [InlineData("""{"d":{"x":[1],"y":[2]}}""", """{"d":[[{"x":1}],[{"y":2}]]}""", false)]
    [InlineData("""{"d":{"x":[1],"y":[2]}}""", """{"d":[[{"x":1},{"y":2}]]}""", false)]
    [InlineData("""{"d":{"x":[1],"y":[2]}}""", """{"d":[[{"x":1,"y":2}]]}""", true)]
    public void Array_consistency_follows_event_ruler(string pattern, string evt, bool expected)
    {
        Assert.Equal(expected, Patterns.Matches(pattern, evt));
    }

    [Theory]
    [InlineData("""{"v":[{"anything-but":"x"}]}""", """{"v":5}""", true)]
    [InlineData("""{"v":[{"anything-but":"x"}]}""", """{"v":null}""", true)]
    [InlineData("""{"v":[{"anything-but":5}]}""", """{"v":"5"}""", true)]
    [InlineData("""{"v":[{"anything-but":5}]}""", """{"v":5.0}""", false)]
    [InlineData("""{"v":[{"anything-but":{"prefix":"a"}}]}""", """{"v":1}""", true)]
    [InlineData("""{"v":[{"anything-but":"x"}]}""", """{"v":["x","y"]}""", true)]
    [InlineData("""{"v":[{"anything-but":"x"}]}""", """{"v":["x"]}""", false)]
    public void Anything_but_excludes_only_values_of_the_same_kind(string pattern, string evt, bool expected)
    {
        Assert.Equal(expected, Patterns.Matches(pattern, evt));
    }

    [Theory]
    [InlineData("""{"v":[12345678901234567890]}""", """{"v":12345678901234567890}""", true)]
    [InlineData("""{"v":[12345678901234567890]}""", """{"v":12345678901234567891}""", false)]
    [InlineData("""{"v":[{"numeric":[">",0]}]}""", """{"v":12345678901234567890}""", false)]
    [InlineData("""{"v":[0.1]}""", """{"v":1e-1}""", true)]
    [InlineData("""{"v":[-0]}""", """{"v":0}""", true)]
    [InlineData("""{"v":[{"numeric":["<=",-1.5]}]}""", """{"v":-15e-1}""", true)]
    public void Numbers_compare_by_value_when_a_double_holds_them_exactly_and_by_text_otherwise(string pattern, string evt, bool expected)
    {
        Assert.Equal(expected, Patterns.Matches(pattern, evt));
    }

    [Theory]
    [InlineData("""{"ip":[{"cidr":"192.168.0.0/16"}]}""", """{"ip":"192.168.255.255"}""", true)]
    [InlineData("""{"ip":[{"cidr":"192.168.0.0/16"}]}""", """{"ip":"192.169.0.0"}""", false)]
    [InlineData("""{"ip":[{"cidr":"192.168.0.0/16"}]}""", """{"ip":"::ffff:192.168.1.1"}""", false)]
    [InlineData("""{"ip":[{"cidr":"10.0.0.0/8"}]}""", """{"ip":"010.0.0.1"}""", false)]
    [InlineData("""{"ip":[{"cidr":"fd00::/8"}]}""", """{"ip":"FD12:3456::1"}""", true)]
    [InlineData("""{"ip":[{"cidr":"0.0.0.0/0"}]}""", """{"ip":"255.255.255.255"}""", true)]
    public void Cidr_blocks_match_addresses_in_them(string pattern, string evt, bool expected)
    {
        Assert.Equal(expected, Patterns.Matches(pattern, evt));
    }

    [Theory]
    [InlineData("*", "", true)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "acb", false)]
    [InlineData("*ab", "abab", true)]
    [InlineData("ab*ba", "aba", false)]
    public void Wildcard_star_matches_any_run_of_characters(string wildcard, string value, bool expected)
    {
        Assert.Equal(expected, Patterns.Matches($$"""{"v":[{"wildcard":"{{wildcard}}"}]}""", $$"""{"v":"{{value}}"}"""));
    }
}
