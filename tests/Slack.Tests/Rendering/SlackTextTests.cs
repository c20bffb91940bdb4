using Pipeline.Slack.Rendering;

namespace Pipeline.Slack.Tests.Rendering;

/// <summary>What cleaning leaves of caller-controlled text before it is escaped for Slack.</summary>
public sealed class SlackTextTests
{
    [Theory]
    [InlineData("line\u2028separator", "line separator")] // U+2028 and U+2029 break lines like \n
    [InlineData("para\u2029graph", "para graph")]
    [InlineData("bidi\u061Cmark", "bidimark")] // Arabic letter mark: a bidi control
    [InlineData("right\u202Eleft", "rightleft")]
    [InlineData("invisible\u2062times", "invisibletimes")]
    [InlineData("soft\u00ADhyphen", "softhyphen")]
    [InlineData("tag\U000E0041\U000E0042s", "tags")] // tag characters spell text nobody sees
    [InlineData("zero\u200Bwidth\uFEFF", "zerowidth")]
    public void Separators_become_spaces_and_invisible_formatting_is_dropped(string input, string expected)
    {
        Assert.Equal(expected, SlackText.Clean(input, 100));
    }

    [Fact]
    public void What_is_visible_is_kept_emoji_included()
    {
        Assert.Equal("Zoë · 東京 · 🚀", SlackText.Clean("Zoë · 東京 · 🚀", 100));
        Assert.Equal("lone \uFFFD surrogate", SlackText.Clean("lone \uD800 surrogate", 100));
    }
}
