using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Enricher.Muting;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Muting;

/// <summary>
/// Wildcards take each literal piece at its leftmost place, never backtracking: as many searches as pieces, each
/// over the value once. That is only right because <c>*</c> is the only wildcard; a regular expression says so.
/// </summary>
public sealed class WildcardPatternTests
{
    [Fact]
    public void Leftmost_pieces_give_the_verdict_of_a_regular_expression_on_random_wildcards_with_many_stars()
    {
        FuzzRunner.Run("mute-wildcard", 3000, rng =>
        {
            var pattern = new StringBuilder();
            for (var i = rng.Next(1, 12); i > 0; i--)
                pattern.Append(pattern.Length > 0 && pattern[^1] == '*' ? "ab"[rng.Next(2)] : "ab*"[rng.Next(3)]);
            var value = new string([.. Enumerable.Range(0, rng.Next(0, 14)).Select(_ => "ab"[rng.Next(2)])]);
            return new FuzzInput(Encoding.UTF8.GetBytes(pattern + "\n" + value), $"wildcard {pattern} on {value}");
        }, input =>
        {
            var (pattern, value) = (Encoding.UTF8.GetString(input.Bytes).Split('\n')[0], Encoding.UTF8.GetString(input.Bytes).Split('\n')[1]);
            var regex = new Regex("^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.NonBacktracking);
            Assert.Equal(regex.IsMatch(value), WildcardPattern.Parse(pattern).IsMatch(value));
        });
    }

    [Fact]
    public void Wildcard_with_a_thousand_stars_against_a_long_value_that_almost_matches_is_refused()
    {
        // A backtracking matcher tries every split of the value between the stars: 1000 stars on 20,000 characters never end.
        var pattern = WildcardPattern.Parse(string.Concat(Enumerable.Repeat("a*", 1000)) + "b");
        var value = new string('a', 20_000);

        Assert.False(pattern.IsMatch(value));
        Assert.True(pattern.IsMatch(value + "b"));
    }
}
