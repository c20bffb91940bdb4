using System.Text.RegularExpressions;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Tuning;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Tuning;

public sealed class TuneReportTests
{
    private static TuneResult Result(int gapSeconds, long messages, double p95Minutes, int peakPerMinute = 1) =>
        new(new BurstWindowOptions { Gap = TimeSpan.FromSeconds(gapSeconds) }, (int)messages, 1, 1, TimeSpan.FromMinutes(p95Minutes / 2), TimeSpan.FromMinutes(p95Minutes), 10, peakPerMinute, "default")
        {
            Messages = messages,
            MessagesByHour = [new(Events.T0, (int)messages / 2), new(Events.T0.AddHours(1), 0), new(Events.T0.AddHours(2), (int)messages - (int)messages / 2)],
        };

    private static readonly TuneReportContext Context = new(100, 90, TimeSpan.FromMinutes(30), "roll-ups: off", Events.T0);

    [Fact]
    public void The_suggestion_is_the_fewest_messages_among_settings_within_the_delay_and_slacks_rate()
    {
        var quick = Result(30, 40, 5);
        var calm = Result(120, 12, 20);
        var tooSlow = Result(300, 5, 45);          // fewest messages, but its p95 is past --max-delay
        var tooFast = Result(60, 3, 10, peakPerMinute: 80); // fewer still, but over Slack's one message per second
        Assert.Same(calm, BurstTuner.Suggest([quick, calm, tooSlow, tooFast], TimeSpan.FromMinutes(30)));
        // When nothing keeps the delay, the shortest delay wins.
        Assert.Same(quick, BurstTuner.Suggest([quick, calm, tooSlow], TimeSpan.FromMinutes(1)));
        Assert.Null(BurstTuner.Suggest([], TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void The_report_draws_a_line_per_setting_over_every_hour_and_marks_the_suggested_one()
    {
        var results = new[] { Result(30, 40, 5), Result(120, 12, 20), Result(300, 5, 45) };
        var html = TuneReport.Html(results, Context);

        var lines = Regex.Matches(html, "<polyline class=\"(series[^\"]*)\"[^>]*points=\"([^\"]*)\"");
        Assert.Equal(3, lines.Count);
        Assert.Equal(["series", "series suggested", "series"], lines.Select(m => m.Groups[1].Value));
        Assert.All(lines, m => Assert.Equal(3, m.Groups[2].Value.Split(' ').Length)); // the quiet middle hour is a point at zero
        Assert.Equal(3, Regex.Matches(html, "<rect class=\"p95").Count);
        Assert.Contains("Suggested: <b>gap 2m · max 15m · lateness 5m</b>", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Account_names_in_the_largest_digests_are_text_not_markup()
    {
        var directory = new FileAccountDirectory([new AccountInfo("111122223333", "<img src=x onerror=alert(1)>\u202eprod")]);
        var records = new[] { 0, 1, 2 }.Select(m => new RawRecord(Events.ApiCall(time: Events.T0.AddMinutes(m)).Utf8(), new RecordOrigin("t", m + 1))).ToList();
        var result = await BurstTuner.MeasureAsync(records, new BurstWindowOptions(), directory, null, default, rollup: new() { MinAccounts = 0 });

        var html = TuneReport.Html([result], Context);

        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;\\u202eprod (111122223333)", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Equal(3, Assert.Single(result.LargestDigests).Events);
    }
}
