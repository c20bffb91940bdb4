using Pipeline.Slack.Preview;

namespace Pipeline.Slack.Tests.Preview;

/// <summary>Our mrkdwn drawn as Slack draws it, and nothing a caller wrote turned into markup.</summary>
public sealed class MrkdwnHtmlTests
{
    [Theory]
    [InlineData("*3* risky · _(none)_ · ~gone~", "<b>3</b> risky · <i>(none)</i> · <s>gone</s>")]
    [InlineData("`role/*x*` by `a_b_`", "<code>role/*x*</code> by <code>a_b_</code>")] // nothing is formatted inside code
    [InlineData(":red_circle: :rotating_light: :not_ours: 14:02:11", "🔴 🚨 :not_ours: 14:02:11")]
    [InlineData("line\nnext", "line<br>next")]
    [InlineData("a_b_c and 2*3*4", "a_b_c and 2*3*4")] // markers inside words are text, as in Slack
    public void Formatting_is_drawn_as_slack_draws_it(string mrkdwn, string html)
    {
        Assert.Equal(html, MrkdwnHtml.Html(mrkdwn));
    }

    [Fact]
    public void Links_open_safely_and_dates_show_their_fallback()
    {
        Assert.Equal("<a href=\"https://us-east-1.console.aws.amazon.com/cloudtrail/home?a=1&amp;b=2\" target=\"_blank\" rel=\"noopener noreferrer\">us-east-1</a>",
            MrkdwnHtml.Html("<https://us-east-1.console.aws.amazon.com/cloudtrail/home?a=1&amp;b=2|us-east-1>"));
        Assert.Equal("<time datetime=\"2026-11-24T13:43:40Z\">2026-11-24 13:43:40 UTC</time>",
            MrkdwnHtml.Html("<!date^1795527820^{date_num} {time_secs}|2026-11-24 13:43:40 UTC>"));
        Assert.Equal("click", MrkdwnHtml.Html("<javascript:alert(1)|click>")); // only http(s) becomes a link
    }

    [Fact]
    public void Escaped_caller_text_stays_text_and_cannot_borrow_a_token()
    {
        // What SlackText.Text/Code leave of "<script>…</script>" and of a forged placeholder (\uE000 0 \uE001).
        var html = MrkdwnHtml.Html("<https://console.aws.amazon.com/x|ok> `&lt;script&gt;alert(\"x\")&lt;/script&gt;` \uE0000\uE001 &amp;lt;");
        Assert.Contains("<code>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</code>", html, StringComparison.Ordinal);
        Assert.Equal(1, html.Split("<a ").Length - 1); // the forged placeholder did not repeat our link
        Assert.EndsWith("&amp;lt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_shows_our_emoji_and_encodes_the_rest()
    {
        Assert.Equal("🔴 ‹b› &amp; &lt;i&gt;", MrkdwnHtml.PlainHtml(":red_circle: ‹b› & <i>"));
    }
}
