using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Tests.Muting.Reference;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Muting;

/// <summary>
/// The one-pass matcher gives event-ruler's verdicts (as the backtracking matcher it replaced, kept as the oracle,
/// gives them) and its work grows linearly with the event, whatever the arrays.
/// </summary>
public sealed class PatternBranchTests
{
    [Fact]
    public void One_pass_matcher_agrees_with_the_backtracking_matcher_on_random_patterns_and_events()
    {
        var (matched, total) = (0, 0);
        FuzzRunner.Run("mute-equivalence", 4000, rng =>
        {
            var pattern = RandomPatterns.Pattern(rng);
            return Case(pattern, rng.Next(2) == 0 ? RandomPatterns.EventFor(rng, pattern) : RandomPatterns.Event(rng, topArray: 3, innerArray: 3));
        }, input =>
        {
            var (rules, evt) = Read(input);
            using (evt)
            {
                var expected = BacktrackingMatcher.Matches(rules.Rules[0], evt.RootElement);
                Assert.Equal(expected, rules.MatchesWithoutIndex(evt.RootElement).Count > 0);
                Interlocked.Increment(ref total);
                if (expected)
                    Interlocked.Increment(ref matched);
            }
        });
        // Both verdicts must be common, or the agreement proves little.
        Assert.InRange(matched, total / 10, total - total / 10);
    }

    [Fact]
    public void Matching_work_is_bounded_linearly_in_the_event_on_random_big_and_nested_arrays()
    {
        long largest = 0;
        FuzzRunner.Run("mute-cost", 300, rng => Case(RandomPatterns.Pattern(rng, names: 3), RandomPatterns.Event(rng, topArray: 200, innerArray: 12)), input =>
        {
            var (rules, evt) = Read(input);
            using (evt)
            {
                rules.Matches(evt.RootElement, out var steps);
                var bound = RandomPatterns.CostBound(rules, evt.RootElement);
                Assert.True(steps <= bound, $"{steps} steps for {RandomPatterns.Nodes(evt.RootElement)} event nodes; the bound is {bound}");
                Interlocked.Exchange(ref largest, Math.Max(Interlocked.Read(ref largest), RandomPatterns.Nodes(evt.RootElement)));
            }
        });
        Assert.True(largest > 5_000, $"the largest event had only {largest} nodes: the bound was not tested on big arrays");
    }

    [Theory]
    // The absence of "b" is judged in the element that "a" (before it in path order) takes its value from...
    [InlineData("""{"d":{"a":["x"],"b":[{"exists":false}]}}""", """{"d":[{"a":"x","b":1},{"a":"x"}]}""", true)]
    [InlineData("""{"d":{"a":["x"],"b":[{"exists":false}]}}""", """{"d":[{"a":"x","b":1},{"a":"y"}]}""", false)]
    [InlineData("""{"d":{"a":["x"],"b":[{"exists":false}]}}""", """{"d":[{"a":"x","b":[1]}]}""", false)]
    [InlineData("""{"d":{"a":["x"],"b":{"c":[{"exists":false}]}}}""", """{"d":[{"a":"x","b":[{},{"c":[[null]]}]},{"a":"x","b":[{}]}]}""", true)]
    // ...while "a", before "b", is judged against every element: "b" does not pin the array for it.
    [InlineData("""{"d":{"a":[{"exists":false}],"b":["x"]}}""", """{"d":[{"b":"x"},{"a":1}]}""", false)]
    // A field that may be absent but has a value pins the array for the absences after it.
    [InlineData("""{"d":{"a":["x",{"exists":false}],"b":[{"exists":false}]}}""", """{"d":[{"a":"x"},{"b":1}]}""", true)]
    [InlineData("""{"d":{"a":["x",{"exists":false}],"b":[{"exists":false}]}}""", """{"d":[{"a":"x","b":1},{"b":1}]}""", false)]
    // An empty array has no value, and a field under an array that is there in no element is absent.
    [InlineData("""{"d":[{"exists":false}]}""", """{"d":[]}""", true)]
    [InlineData("""{"d":{"a":[{"exists":false}]}}""", """{"d":[{"b":1},[{"c":2}]]}""", true)]
    // Fields on different arrays are decided apart: any value of each will do.
    [InlineData("""{"a":["x"],"b":["y"],"c":[1]}""", """{"a":["y","x"],"b":["x","y"],"c":[0,1]}""", true)]
    public void Absence_and_array_elements_are_judged_as_event_ruler_judges_them(string pattern, string evt, bool expected)
    {
        using var doc = JsonDocument.Parse(evt);
        Assert.Equal(expected, BacktrackingMatcher.Matches(Patterns.One(pattern).Rules[0], doc.RootElement));
        Assert.Equal(expected, Patterns.Matches(pattern, evt));
    }

    [Fact]
    public void Pattern_with_more_than_64_absent_fields_fails_at_load_with_a_mute_rule_error()
    {
        static string Absent(int fields) => "{" + string.Join(",", Enumerable.Range(0, fields).Select(i => $$"""
            "f{{i}}":[{"exists":false}]
            """)) + "}";

        Assert.Single(Patterns.One(Absent(64)).Rules);
        var e = Assert.Throws<Enricher.Muting.MuteRuleException>(() => Patterns.One(Absent(65)));
        Assert.Contains("At most 64 fields of one pattern can use {\"exists\":false}", e.Message, StringComparison.Ordinal);
    }

    private static FuzzInput Case(string pattern, string evt) =>
        new(Encoding.UTF8.GetBytes(pattern + "\n" + evt), $"pattern {pattern}");

    private static (Enricher.Muting.MuteRuleSet Rules, JsonDocument Event) Read(FuzzInput input)
    {
        var lines = Encoding.UTF8.GetString(input.Bytes).Split('\n');
        return (Patterns.One(lines[0]), JsonDocument.Parse(lines[1]));
    }
}
