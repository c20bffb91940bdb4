using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Aggregator.Bursts;
using Pipeline.Slack.Rendering;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests.Rendering;

public sealed partial class SlackDigestRendererTests
{
    private static byte[] Payload(Digest d, bool plain = false) => SlackDigestRenderer.Render(d).ToPayload(plainTextOnly: plain);

    private static List<string> Texts(byte[] payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return SlackPayloadValidator.Texts(doc.RootElement, "$").Select(t => t.Text).ToList();
    }

    private static string AllText(byte[] payload) => string.Join("\n", Texts(payload));

    [Fact]
    public void Header_names_account_id_event_count_and_time_span()
    {
        using var doc = JsonDocument.Parse(Payload(SampleDigests.Busy()));
        var header = doc.RootElement.GetProperty("blocks")[0];
        Assert.Equal("header", header.GetProperty("type").GetString());
        Assert.Equal(":red_circle: prod-payments (111122223333) · 1,234 events · 2026-11-25 14:02–14:19 UTC",
            header.GetProperty("text").GetProperty("text").GetString());
    }

    [Fact]
    public void Risky_events_come_first_most_severe_first_then_failures_then_top_lists()
    {
        var text = AllText(Payload(SampleDigests.Busy()));
        int risky = text.IndexOf("Risky activity", StringComparison.Ordinal);
        int critical = text.IndexOf("*CRITICAL* `StopLogging` by `root`", StringComparison.Ordinal);
        int high = text.IndexOf("*High* `AuthorizeSecurityGroupIngress`", StringComparison.Ordinal);
        int failed = text.IndexOf("Failed calls", StringComparison.Ordinal);
        int actions = text.IndexOf("*Actions* (7)", StringComparison.Ordinal);
        Assert.True(risky >= 0 && critical > risky && high > critical && failed > high && actions > failed, text);
    }

    [Fact]
    public void Top_lists_are_capped_with_and_n_more_and_the_rest_of_the_count()
    {
        var text = AllText(Payload(SampleDigests.Busy()));
        // 7 actions, 5 shown: AssumeRole (40) and GetObject (13) are summed into the "more" line.
        Assert.Contains("`RunInstances` 700", text, StringComparison.Ordinal);
        Assert.Contains("_…and 2 more (53)_", text, StringComparison.Ordinal);
        Assert.DoesNotContain("`GetObject`", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Muted_duplicates_and_event_history_link_are_in_the_footer()
    {
        var text = AllText(Payload(SampleDigests.Busy()));
        Assert.Contains(":mute: 47 muted: `ci-describe-noise` 40, `config-recorder` 7", text, StringComparison.Ordinal);
        Assert.Contains(":recycle: 5 duplicate deliveries dropped", text, StringComparison.Ordinal);
        // Regions with risky events first: the critical one happened in us-east-1.
        Assert.Contains("<https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#/events?StartTime=2026-11-25T14:01:00.000Z&EndTime=2026-11-25T14:21:00.000Z|us-east-1>", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Late_and_skewed_events_are_told_in_the_footer_as_inert_text()
    {
        var digest = SampleDigests.Quiet() with
        {
            SkewedCount = 1,
            SkewedLatestTime = new DateTimeOffset(2031, 3, 4, 5, 6, 7, TimeSpan.Zero),
            LateCount = 2,
            LateMaxDelay = TimeSpan.FromMinutes(20),
        };
        var payload = Payload(digest);
        var text = AllText(payload);
        Assert.Contains(":stopwatch: 1 event dated <!date^1930367167^{date_short_pretty} {time_secs}|2031-03-04 05:06:07 UTC>, ahead of its arrival: counted at its arrival time", text, StringComparison.Ordinal);
        Assert.Contains(":stopwatch: 1 event dated 2031-03-04 05:06:07 UTC, ahead of its arrival", AllText(Payload(digest, plain: true)), StringComparison.Ordinal);
        Assert.Contains(":stopwatch: 2 events arrived late, up to 20m after they happened", text, StringComparison.Ordinal);
        Assert.Empty(SlackPayloadValidator.LimitProblems(payload));
        Assert.Empty(SlackPayloadValidator.InjectionProblems(payload));
        Assert.DoesNotContain(":stopwatch:", AllText(Payload(SampleDigests.Quiet())), StringComparison.Ordinal);
    }

    [Fact]
    public void Quiet_digest_has_no_risky_or_failure_section()
    {
        var text = AllText(Payload(SampleDigests.Quiet()));
        Assert.DoesNotContain("Risky activity", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Failed calls", text, StringComparison.Ordinal);
        Assert.StartsWith(":large_blue_circle: prod-payments", Texts(Payload(SampleDigests.Quiet()))[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Account_without_a_name_shows_the_id_alone()
    {
        var text = AllText(Payload(SampleDigests.Quiet(name: null)));
        Assert.Contains(":large_blue_circle: 111122223333 · 12 events", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_fallback_is_present_and_summarises_the_digest()
    {
        using var doc = JsonDocument.Parse(Payload(SampleDigests.Busy()));
        Assert.Equal("prod-payments (111122223333): 1,234 events, 2026-11-25 14:02–14:19 UTC — 3 risky, top: Critical StopLogging by root — 12 failed",
            doc.RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void Plain_text_rendering_has_no_blocks_and_carries_the_whole_digest()
    {
        var payload = Payload(SampleDigests.Busy(), plain: true);
        using var doc = JsonDocument.Parse(payload);
        Assert.False(doc.RootElement.TryGetProperty("blocks", out _));
        var text = doc.RootElement.GetProperty("text").GetString()!;
        Assert.Contains("StopLogging", text, StringComparison.Ordinal);
        Assert.Contains("AccessDenied", text, StringComparison.Ordinal);
        Assert.Contains("`RunInstances` 700", text, StringComparison.Ordinal);
        Assert.Empty(SlackPayloadValidator.LimitProblems(payload));
        Assert.Empty(SlackPayloadValidator.InjectionProblems(payload));
    }

    [Fact]
    public void Digest_of_100000_events_renders_as_one_valid_message()
    {
        var digest = SampleDigests.Huge();
        foreach (var plain in new[] { false, true })
        {
            var payload = Payload(digest, plain);
            Assert.Empty(SlackPayloadValidator.LimitProblems(payload));
            Assert.Empty(SlackPayloadValidator.InjectionProblems(payload));
        }
        var text = AllText(Payload(digest));
        Assert.Contains("100,000 events", text, StringComparison.Ordinal);
        Assert.Contains("…and 19,990 more risky events", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<!channel>")]
    [InlineData("<https://evil.example|click here>")]
    [InlineData("<@U123ABC>")]
    [InlineData("a&b<c>d")]
    [InlineData("`<!here>`")]
    public void Hostile_session_name_renders_inert(string hostile)
    {
        var d = SampleDigests.Busy() with
        {
            Principals = [new("role/Admin/" + hostile, 5)],
            Risky = [new("StopLogging", "role/Admin/" + hostile, SampleDigests.T0, "reason " + hostile, RiskSeverity.Critical, hostile, hostile, hostile, "us-east-1")],
            Failures = [new("PutObject", hostile, "AccessDenied", "denied: " + hostile, 1)],
            AccountInfo = SampleDigests.Busy().AccountInfo! with { Name = "acct " + hostile },
        };
        foreach (var plain in new[] { false, true })
        {
            var payload = Payload(d, plain);
            Assert.Empty(SlackPayloadValidator.InjectionProblems(payload));
            Assert.Empty(SlackPayloadValidator.LimitProblems(payload));
            var text = OurDateToken().Replace(AllText(payload), "");
            Assert.DoesNotContain("<!", text, StringComparison.Ordinal);
            Assert.DoesNotContain("<@", text, StringComparison.Ordinal);
            Assert.DoesNotContain("<https://evil", text, StringComparison.Ordinal);
        }
        Assert.Contains("&lt;!channel&gt;", AllText(Payload(d with { Principals = [new("role/Admin/<!channel>", 1)] })), StringComparison.Ordinal);
    }

    [Fact]
    public void Times_in_mrkdwn_are_date_tokens_with_the_utc_time_as_fallback()
    {
        var text = AllText(Payload(SampleDigests.Busy()));
        // The burst's start with its date, its end (17 minutes later) as a time of day.
        Assert.Contains(":clock3: <!date^1795615331^{date_short_pretty} {time_secs}|2026-11-25 14:02:11 UTC> → <!date^1795616380^{time_secs}|14:19:40 UTC> (17 min)", text, StringComparison.Ordinal);
        Assert.Contains("`StopLogging` by `root` · us-east-1 · <!date^1795615391^{time_secs}|14:03:11 UTC>", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_burst_of_more_than_an_hour_ends_with_its_date_too()
    {
        var d = SampleDigests.Busy() with { LastEventTime = SampleDigests.T0.AddHours(11) };
        Assert.Contains("→ <!date^1795654931^{date_short_pretty} {time_secs}|2026-11-26 01:02:11 UTC> (11 h 0 min)", AllText(Payload(d)), StringComparison.Ordinal);
    }

    [Fact]
    public void Header_notification_and_plain_text_keep_utc_text_as_they_render_no_tokens()
    {
        using var doc = JsonDocument.Parse(Payload(SampleDigests.Busy()));
        Assert.DoesNotContain("<!date", doc.RootElement.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("<!date", doc.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);

        var plain = AllText(Payload(SampleDigests.Busy(), plain: true));
        Assert.DoesNotContain("<!date", plain, StringComparison.Ordinal);
        Assert.Contains(":clock3: 2026-11-25 14:02:11 UTC → 14:19:40 UTC (17 min)", plain, StringComparison.Ordinal);
        Assert.Contains("`StopLogging` by `root` · us-east-1 · 14:03:11 UTC", plain, StringComparison.Ordinal);
    }

    [Fact]
    public void Newline_in_a_session_name_cannot_fake_a_line_of_the_digest()
    {
        var d = SampleDigests.Busy() with { Principals = [new("role/Admin/x\n:red_circle: *CRITICAL* fake", 5)] };
        var text = AllText(Payload(d));
        Assert.Contains("`role/Admin/x :red_circle: *CRITICAL* fake` 5", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Rendering_is_deterministic()
    {
        Assert.Equal(Payload(SampleDigests.Busy()), Payload(SampleDigests.Busy()));
    }

    [Fact]
    public void Channel_is_written_first_for_bot_token_delivery()
    {
        var json = Encoding.UTF8.GetString(SlackDigestRenderer.Render(SampleDigests.Quiet()).ToPayload(channel: "#sec-prod"));
        Assert.StartsWith("{\"channel\":\"#sec-prod\",\"text\":", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_render_option_is_refused_with_its_name()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SlackDigestRenderer.Render(SampleDigests.Quiet(), new SlackRenderOptions { TopN = 0 }));
        Assert.Contains("TopN must be between 1 and 20", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WritePayload_writes_indented_json_to_a_stream()
    {
        using var stream = new MemoryStream();
        SlackDigestRenderer.WritePayload(SampleDigests.Quiet(), stream);
        var json = Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("\n  \"text\":", json, StringComparison.Ordinal);
        Assert.Empty(SlackPayloadValidator.LimitProblems(stream.ToArray()));
    }

    [Fact]
    public void A_findings_title_region_and_account_name_reach_slack_inert_and_every_mrkdwn_text_is_verbatim()
    {
        // A Security Hub finding can be imported by anyone allowed BatchImportFindings: its title is attacker text.
        const string title = "*evil* :evil: _evil_ ~evil~ see https://evil.example/x or evil.example @here @channel";
        var d = SampleDigests.Busy() with
        {
            AccountInfo = new Pipeline.Enricher.Model.AccountInfo("111122223333", "*evil* :evil: @here evil.example"),
            Risky = [new("Security Hub finding", null, SampleDigests.T0, "Security Hub finding (HIGH): " + title, RiskSeverity.High, null, null, null, "us-east-1 :evil: *evil*")],
            RiskyCount = 1,
        };
        foreach (var plain in new[] { false, true })
        {
            var payload = Payload(d, plain);
            Assert.Empty(SlackPayloadValidator.MarkupProblems(payload));
            Assert.Empty(SlackPayloadValidator.InjectionProblems(payload));
            Assert.Empty(SlackPayloadValidator.LimitProblems(payload));
        }
        var text = AllText(Payload(d));
        // Still readable, and still ours where it is ours: the severity icons and the bold count are live.
        Assert.Contains("\u2217evil\u2217 \uA789evil: \u02CDevil\u02CD \u223Cevil\u223C see https\uA789//evil\u2024example/x or evil\u2024example \uFF20here \uFF20channel", text);
        Assert.Contains(":large_orange_circle:", text);
        Assert.Contains("*1* risky", text);
    }

    [Fact]
    public void A_code_span_cut_at_the_section_limit_is_closed_so_the_rest_of_the_value_stays_code()
    {
        var d = SampleDigests.Huge(hostile: "*evil* :evil: https://evil.example");
        foreach (var plain in new[] { false, true })
        {
            Assert.Empty(SlackPayloadValidator.MarkupProblems(Payload(d, plain)));
            Assert.Empty(SlackPayloadValidator.LimitProblems(Payload(d, plain)));
        }
        foreach (var t in Texts(Payload(d)).Where(t => t.EndsWith('…')))
            Assert.True(t.Count(c => c == '`') % 2 == 0, "a code span left open: " + t[^80..]);
    }

    /// <summary>The renderer's own date tokens, the one raw "&lt;!" a digest may hold.</summary>
    [GeneratedRegex(@"<!date\^\d+\^[{}a-z_ ]+\|[0-9: -]+ UTC>")]
    private static partial Regex OurDateToken();
}
