using System.Text.RegularExpressions;
using Pipeline.Aggregator.Bursts;
using Pipeline.Slack.Preview;
using Pipeline.Slack.Tests.Rendering;

namespace Pipeline.Slack.Tests.Preview;

public sealed class HtmlPreviewRendererTests
{
    private static readonly RunSummary Summary = new(10, 1, 2, 3, 4, 2, [], []);

    [Fact]
    public void The_page_holds_every_posted_message_riskiest_first_then_the_summary_and_nothing_before_the_end()
    {
        var renderer = new HtmlPreviewRenderer();
        Assert.Equal("", renderer.Render(SampleDigests.Quiet(account: "444455556666")));  // calm, came first
        Assert.Equal("", renderer.Render(SampleDigests.Busy()));                         // critical
        Assert.Equal("", renderer.Render(SampleDigests.Quiet() with { FoldedEventCount = 12 })); // folded into a roll-up: no message

        var page = renderer.RenderSummary(Summary)!;

        var articles = Regex.Matches(page, "<article class=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["message digest risky critical", "message digest"], articles);
        Assert.True(page.IndexOf("444455556666", StringComparison.Ordinal) > page.IndexOf("1,234 events", StringComparison.Ordinal));
        Assert.Contains("received 10 = rejected 1 + duplicates 2 + muted 3 + digested 4", page, StringComparison.Ordinal);
        Assert.Contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", page, StringComparison.Ordinal); // nothing to fetch; console links are https anchors only
    }

    [Fact]
    public void A_run_without_messages_still_gives_a_whole_page()
    {
        var page = new HtmlPreviewRenderer().RenderSummary(Summary)!;
        Assert.Contains("No messages", page, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", page, StringComparison.Ordinal);
    }
}
