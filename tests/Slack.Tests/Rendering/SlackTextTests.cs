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

    [Theory]
    [InlineData("*bold* _it_ ~gone~ `code`", "\u2217bold\u2217 \u02CDit\u02CD \u223Cgone\u223C \u02CBcode\u02CB")]
    [InlineData(":skull: and :a:b:", "\uA789skull: and \uA789a\uA789b:")] // every shortcode broken, not just the first
    [InlineData("@here @channel bob@example.com", "\uFF20here \uFF20channel bob\uFF20example\u2024com")]
    [InlineData("https://evil.example/x", "https\uA789//evil\u2024example/x")]
    [InlineData("AWSReservedSSO_Admin_0123 v1.2 us-east-1 12:30", "AWSReservedSSO_Admin_0123 v1.2 us-east-1 12:30")] // nothing that cannot act changes
    public void Inert_swaps_only_the_characters_slack_would_act_on_for_look_alikes(string input, string expected)
    {
        Assert.Equal(expected, SlackText.Inert(input));
    }

    [Fact]
    public void A_header_breaks_caller_shortcodes_and_angle_brackets_but_keeps_the_rest()
    {
        Assert.Equal("\uA789skull: prod \u2039!here\u203A *x*", SlackText.Plain(":skull: prod <!here> *x*", 100));
    }
}
