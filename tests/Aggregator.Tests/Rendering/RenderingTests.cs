using System.Text;
using System.Text.Json;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;
using Pipeline.TestSupport;
using static Pipeline.Aggregator.Tests.TestEvents;

namespace Pipeline.Aggregator.Tests.Rendering;

public sealed class RenderingTests
{
    private static Digest SampleDigest()
    {
        var agg = new BurstAggregator(new BurstWindowOptions());
        agg.Add(At(Events.T0, eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com"), new Enricher.Model.AccountInfo("111122223333", "prod"));
        agg.Add(At(Events.T0.AddSeconds(5), eventName: "DeleteBucket", eventSource: "s3.amazonaws.com", errorCode: "AccessDenied"), null);
        agg.AddMuted("111122223333", "ci-noise", Events.T0.AddSeconds(5));
        return Assert.Single(agg.Flush());
    }

    [Fact]
    public void Json_digest_line_follows_the_documented_contract()
    {
        var stream = new MemoryStream();
        DigestJson.WriteDigest(stream, SampleDigest());
        var line = Encoding.UTF8.GetString(stream.ToArray());
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.Equal("digest", root.GetProperty("type").GetString());
        Assert.Equal("111122223333", root.GetProperty("account").GetString());
        Assert.Equal("prod", root.GetProperty("accountName").GetString());
        Assert.Equal("2026-11-24T09:00:00Z", root.GetProperty("firstEventTime").GetString());
        Assert.Equal("2026-11-24T09:00:05Z", root.GetProperty("lastEventTime").GetString());
        Assert.Equal(2, root.GetProperty("eventCount").GetInt32());
        Assert.Equal(1, root.GetProperty("errorCount").GetInt32());
        Assert.Equal(1, root.GetProperty("eventNames").GetProperty("StopLogging").GetInt32());
        Assert.Equal(2, root.GetProperty("principals").GetProperty("role/deployer/ci").GetInt32());
        Assert.Equal(2, root.GetProperty("regions").GetProperty("us-east-1").GetInt32());
        var risky = root.GetProperty("risky")[0];
        Assert.Equal("StopLogging", risky.GetProperty("eventName").GetString());
        Assert.Equal("role/deployer/ci", risky.GetProperty("principal").GetString());
        Assert.Equal("2026-11-24T09:00:00Z", risky.GetProperty("eventTime").GetString());
        Assert.Equal("CloudTrail logging stopped or removed", risky.GetProperty("reason").GetString());
        Assert.Equal(1, root.GetProperty("muted").GetProperty("ci-noise").GetInt32());
        Assert.Equal("end-of-input", root.GetProperty("closedBy").GetString());
    }

    [Fact]
    public void Json_summary_line_carries_every_counter()
    {
        var stream = new MemoryStream();
        DigestJson.WriteSummary(stream, new RunSummary(10, 1, 2, 3, 4, 2, [new("ci-noise", 3)], [new("not valid JSON", 1)]));
        using var doc = JsonDocument.Parse(stream.ToArray());
        var s = doc.RootElement;
        Assert.Equal("summary", s.GetProperty("type").GetString());
        Assert.Equal([10L, 1, 2, 3, 4, 2], new[] { "received", "rejected", "duplicates", "muted", "digested", "digests" }.Select(n => s.GetProperty(n).GetInt64()));
        Assert.Equal(3, s.GetProperty("mutedByRule").GetProperty("ci-noise").GetInt32());
    }

    [Fact]
    public void Text_digest_puts_risky_and_failed_first()
    {
        var text = TextDigestRenderer.Render(SampleDigest());
        Assert.StartsWith("== prod (111122223333)", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("RISKY", StringComparison.Ordinal) < text.IndexOf("FAILED", StringComparison.Ordinal));
        Assert.True(text.IndexOf("FAILED", StringComparison.Ordinal) < text.IndexOf("Actions:", StringComparison.Ordinal));
        Assert.Contains("1 muted by ci-noise", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_in_event_text_cannot_drive_the_terminal()
    {
        Assert.Equal("evil\\u001b[2Jname", TextDigestRenderer.Clean("evil\u001b[2Jname"));
    }

    [Fact]
    public void Invisible_formatting_and_separators_in_event_text_are_shown_by_their_numbers()
    {
        // A right-to-left override makes "admin\u202Egnp.exe" read "adminexe.png"; U+2028 breaks a line in some terminals;
        // U+061C is a bidi mark; tag characters (U+E0041 …) spell text nobody sees.
        Assert.Equal("admin\\u202egnp.exe", TextDigestRenderer.Clean("admin\u202Egnp.exe"));
        Assert.Equal("a\\u2028b\\u2029c\\u061cd", TextDigestRenderer.Clean("a\u2028b\u2029c\u061Cd"));
        Assert.Equal("x\\U000e0041\\U000e0042y", TextDigestRenderer.Clean("x\U000E0041\U000E0042y"));
        Assert.Equal("lone \\ud800 surrogate", TextDigestRenderer.Clean("lone \uD800 surrogate"));
        // What is visible stays as it is: accents, other scripts, emoji (a surrogate pair).
        Assert.Equal("Zoë · 東京 · 🚀", TextDigestRenderer.Clean("Zoë · 東京 · 🚀"));
    }

    [Fact]
    public void Long_lists_are_capped_with_and_n_more()
    {
        var agg = new BurstAggregator(new BurstWindowOptions());
        for (int i = 0; i < 8; i++) agg.Add(At(Events.T0.AddSeconds(i), eventName: "Call" + i), null);
        Assert.Contains("and 3 more", TextDigestRenderer.Render(Assert.Single(agg.Flush())), StringComparison.Ordinal);
    }

    /// <summary>A digest with one event from a wrong clock and two that came late, as the live pipeline makes it.</summary>
    internal static Digest DigestWithClockNotes()
    {
        var agg = new BurstAggregator(new BurstWindowOptions());
        var arrival = Events.T0.AddMinutes(30);
        agg.Add(At(Events.T0.AddMinutes(29)), null, arrival);
        agg.Add(At(new DateTimeOffset(2031, 3, 4, 5, 6, 7, TimeSpan.Zero)), null, arrival);
        agg.Add(At(Events.T0.AddMinutes(20)), null, arrival);
        agg.Add(At(Events.T0.AddMinutes(10)), null, arrival);
        return Assert.Single(agg.Flush());
    }

    [Fact]
    public void Late_and_skewed_events_are_told_in_the_text_and_the_json()
    {
        var digest = DigestWithClockNotes();

        var text = TextDigestRenderer.Render(digest);
        Assert.Contains("Clock:      1 event dated 2031-03-04 05:06:07 UTC, ahead of its arrival: counted at its arrival time", text, StringComparison.Ordinal);
        Assert.Contains("Clock:      2 events arrived late, up to 20m after they happened", text, StringComparison.Ordinal);

        var stream = new MemoryStream();
        DigestJson.WriteDigest(stream, digest);
        using var doc = JsonDocument.Parse(stream.ToArray());
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("skewedCount").GetInt32());
        Assert.Equal("2031-03-04T05:06:07Z", root.GetProperty("skewedLatestTime").GetString());
        Assert.Equal(2, root.GetProperty("lateCount").GetInt32());
        Assert.Equal(1200, root.GetProperty("lateMaxDelaySeconds").GetDouble());
        Assert.Equal("2026-11-24T09:30:00Z", root.GetProperty("lastEventTime").GetString()); // not 2031: the skewed event counts at its arrival
    }
}
