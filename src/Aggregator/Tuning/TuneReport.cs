using System.Globalization;
using System.Text;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Aggregator.Tuning;

/// <summary>What the report says about the run besides the settings' results.</summary>
public sealed record TuneReportContext(long Received, long Digestible, TimeSpan MaxDelay, string Rollups, DateTimeOffset GeneratedAt);

/// <summary>
/// `pipeline tune --html FILE`: the comparison as one self-contained page with its charts drawn as inline SVG — Slack
/// messages per hour across the replayed period for each setting, the delay from a burst's first event to its message
/// (median and 95th percentile), and the largest digests — with the suggested setting marked. No script and no request
/// (a Content-Security-Policy forbids both). Pure: the same results give the same page.
/// </summary>
public static class TuneReport
{
    private static readonly string[] Palette = ["#1264a3", "#e01e5a", "#2eb67d", "#ecb22e", "#4a154b", "#36c5f0", "#8f5a00", "#616061"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Html(IReadOnlyList<TuneResult> results, TuneReportContext context)
    {
        var suggested = BurstTuner.Suggest(results, context.MaxDelay);
        var html = new StringBuilder(32 * 1024);
        html.Append(HtmlText.PageStart("Burst window report · security pipeline", Style));
        html.Append("<header><h1>Burst window report</h1><p class=\"lede\">")
            .Append(context.Received.ToString("N0", Inv)).Append(" records read, ")
            .Append(context.Digestible.ToString("N0", Inv)).Append(" digestible events, ")
            .Append(results.Count).Append(results.Count == 1 ? " setting" : " settings").Append(" compared. ")
            .Append(Encode(context.Rollups)).Append("</p>");
        if (suggested is not null)
            html.Append("<p class=\"suggested\" id=\"suggestion\">Suggested: <b>").Append(Encode(Label(suggested))).Append("</b> — ")
                .Append(suggested.Messages.ToString("N0", Inv)).Append(" Slack messages, a burst's message ")
                .Append(Encode(Duration.Format(Round(suggested.DelayMedian)))).Append(" after its first event (median), ")
                .Append(Encode(Duration.Format(Round(suggested.DelayP95)))).Append(" at the 95th percentile. ")
                .Append("Rule: the fewest messages among the settings within Slack's rate whose 95th-percentile delay is at most ")
                .Append(Encode(Duration.Format(context.MaxDelay))).Append(" (--max-delay).</p>");
        html.Append("</header>\n<main>\n");

        html.Append("<section><h2>Slack messages per hour</h2>\n").Append(MessagesChart(results, suggested)).Append(Legend(results, suggested)).Append("</section>\n");
        html.Append("<section><h2>Delay from a burst's first event to its message</h2>\n").Append(DelayChart(results, suggested)).Append("</section>\n");
        html.Append("<section><h2>Settings</h2>\n").Append(Table(results, suggested)).Append("</section>\n");
        html.Append("<section><h2>Largest digests</h2>\n").Append(Largest(results, suggested)).Append("</section>\n");
        html.Append("</main>\n<footer>Made by <code>pipeline tune</code> on ").Append(context.GeneratedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv))
            .Append(". Delay: from a burst's first event to its Slack message, as the deployed pipeline posts it.</footer>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>A setting as the table names it: gap / max window / lateness.</summary>
    public static string Label(TuneResult r) =>
        $"gap {Duration.Format(r.Window.Gap)} · max {Duration.Format(r.Window.MaxWindow)} · lateness {Duration.Format(r.Window.Lateness)}";

    private static string Color(int i) => Palette[i % Palette.Length];

    // ---- messages per hour: one line per setting over the replayed hours ----------------------------------

    private static string MessagesChart(IReadOnlyList<TuneResult> results, TuneResult? suggested)
    {
        const int W = 820, H = 260, L = 48, R = 12, T = 12, B = 36;
        var hours = results.SelectMany(r => r.MessagesByHour).Select(h => h.Hour).Distinct().Order().ToList();
        if (hours.Count == 0) return "<p class=\"empty\">No messages in any setting.</p>";
        var first = hours[0];
        double span = Math.Max(1, (hours[^1] - first).TotalHours);
        int top = Math.Max(1, results.SelectMany(r => r.MessagesByHour).Max(h => h.Messages));
        double X(DateTimeOffset t) => L + (W - L - R) * ((t - first).TotalHours / span);
        double Y(int n) => T + (H - T - B) * (1 - n / (double)NiceCeiling(top));

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart messages\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"Slack messages per hour for each setting\">");
        foreach (var tick in Ticks(NiceCeiling(top)))
            svg.Append(Inv, $"<line class=\"grid\" x1=\"{L}\" x2=\"{W - R}\" y1=\"{Y(tick):0.#}\" y2=\"{Y(tick):0.#}\"/><text class=\"axis\" x=\"{L - 6}\" y=\"{Y(tick) + 4:0.#}\" text-anchor=\"end\">{tick}</text>");
        svg.Append(Inv, $"<text class=\"axis\" x=\"{L}\" y=\"{H - 8}\">{first:yyyy-MM-dd HH:mm} UTC</text><text class=\"axis\" x=\"{W - R}\" y=\"{H - 8}\" text-anchor=\"end\">{hours[^1]:yyyy-MM-dd HH:mm} UTC</text>");
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            if (r.MessagesByHour.Count == 0) continue;
            var byHour = r.MessagesByHour.ToDictionary(h => h.Hour, h => h.Messages);
            // Every hour of the period, so a setting's quiet hours sit on zero rather than being skipped.
            var points = string.Join(' ', hours.Select(h => string.Create(Inv, $"{X(h):0.#},{Y(byHour.GetValueOrDefault(h)):0.#}")));
            bool mark = ReferenceEquals(r, suggested);
            svg.Append(Inv, $"<polyline class=\"series{(mark ? " suggested" : "")}\" data-setting=\"{Encode(Label(r))}\" fill=\"none\" stroke=\"{Color(i)}\" stroke-width=\"{(mark ? 3.5 : 1.5)}\" points=\"{points}\"><title>{Encode(Label(r))}: {r.Messages} messages, peak {r.MessagesByHour.Max(h => h.Messages)} in an hour</title></polyline>");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Legend(IReadOnlyList<TuneResult> results, TuneResult? suggested)
    {
        var html = new StringBuilder("<ul class=\"legend\">");
        for (int i = 0; i < results.Count; i++)
            html.Append("<li").Append(ReferenceEquals(results[i], suggested) ? " class=\"suggested\"" : "").Append("><span class=\"swatch\" style=\"background:")
                .Append(Color(i)).Append("\"></span>").Append(Encode(Label(results[i])))
                .Append(ReferenceEquals(results[i], suggested) ? " <b>(suggested)</b>" : "").Append("</li>");
        return html.Append("</ul>\n").ToString();
    }

    // ---- delay: a bar to the 95th percentile with the median marked, one row per setting -----------------

    private static string DelayChart(IReadOnlyList<TuneResult> results, TuneResult? suggested)
    {
        const int W = 820, Row = 26, L = 300, R = 120, T = 8;
        int h = T * 2 + Row * results.Count + 20;
        double max = Math.Max(1, results.Max(r => r.DelayP95.TotalSeconds));
        double X(TimeSpan t) => L + (W - L - R) * (t.TotalSeconds / max);
        var svg = new StringBuilder();
        svg.Append(Inv, $"<svg class=\"chart delay\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\" aria-label=\"Delay to each burst's message: median and 95th percentile per setting\">");
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            double y = T + i * Row;
            bool mark = ReferenceEquals(r, suggested);
            svg.Append(Inv, $"<text class=\"label{(mark ? " suggested" : "")}\" x=\"{L - 8}\" y=\"{y + 17}\" text-anchor=\"end\">{(mark ? "★ " : "")}{Encode(Label(r))}</text>")
               .Append(Inv, $"<rect class=\"p95{(mark ? " suggested" : "")}\" x=\"{L}\" y=\"{y + 5}\" width=\"{Math.Max(1, X(r.DelayP95) - L):0.#}\" height=\"{Row - 10}\" fill=\"{Color(i)}\" opacity=\"0.35\"><title>p95 {Duration.Format(Round(r.DelayP95))}</title></rect>")
               .Append(Inv, $"<rect class=\"median\" x=\"{L}\" y=\"{y + 5}\" width=\"{Math.Max(1, X(r.DelayMedian) - L):0.#}\" height=\"{Row - 10}\" fill=\"{Color(i)}\"><title>median {Duration.Format(Round(r.DelayMedian))}</title></rect>")
               .Append(Inv, $"<text class=\"value\" x=\"{X(r.DelayP95) + 6:0.#}\" y=\"{y + 17}\">{Duration.Format(Round(r.DelayMedian))} / {Duration.Format(Round(r.DelayP95))}</text>");
        }
        svg.Append(Inv, $"<text class=\"axis\" x=\"{L}\" y=\"{h - 6}\">solid: median · light: 95th percentile</text>");
        return svg.Append("</svg>\n").ToString();
    }

    // ---- the numbers, as the terminal table has them -----------------------------------------------------

    private static string Table(IReadOnlyList<TuneResult> results, TuneResult? suggested)
    {
        var html = new StringBuilder("<table class=\"settings\"><thead><tr><th>setting</th><th>digests</th><th>messages</th><th>roll-ups</th><th>alerts</th><th>per hour (mean / peak)</th><th>delay median</th><th>p95</th><th>largest</th><th>late</th><th>peak msgs/min/channel</th></tr></thead><tbody>");
        foreach (var r in results)
        {
            bool mark = ReferenceEquals(r, suggested);
            html.Append(mark ? "<tr class=\"suggested\">" : "<tr>")
                .Append("<td>").Append(mark ? "★ " : "").Append(Encode(Label(r))).Append("</td>")
                .Append(Inv, $"<td>{r.Digests:N0}</td><td>{r.Messages:N0}</td><td>{r.Rollups:N0}</td><td>{r.Alerts:N0}</td><td>{r.DigestsPerHourMean:F1} / {r.DigestsPeakHour}</td>")
                .Append("<td>").Append(Encode(Duration.Format(Round(r.DelayMedian)))).Append("</td><td>").Append(Encode(Duration.Format(Round(r.DelayP95)))).Append("</td>")
                .Append(Inv, $"<td>{r.LargestDigest:N0}</td><td>{r.LateEvents:N0}</td>")
                .Append(Inv, $"<td{(r.PeakMessagesPerMinutePerChannel > BurstTuner.SlackMessagesPerMinute ? " class=\"over\"" : "")}>{r.PeakMessagesPerMinutePerChannel}</td></tr>");
        }
        return html.Append("</tbody></table>\n").ToString();
    }

    // ---- largest digests: the suggested setting's, or the first's, as bars ------------------------------

    private static string Largest(IReadOnlyList<TuneResult> results, TuneResult? suggested)
    {
        var shown = suggested ?? results.FirstOrDefault();
        if (shown is null || shown.LargestDigests.Count == 0) return "<p class=\"empty\">No digests.</p>";
        int max = shown.LargestDigests.Max(d => d.Events);
        var html = new StringBuilder("<p>With ").Append(Encode(Label(shown))).Append(":</p><table class=\"largest\"><tbody>");
        foreach (var d in shown.LargestDigests)
        {
            // Account names come from an accounts file or table: text, never markup.
            string who = d.AccountName is { Length: > 0 } name ? $"{Clean(name)} ({Clean(d.Account)})" : Clean(d.Account);
            html.Append("<tr><td>").Append(Encode(who)).Append("</td><td>").Append(d.FirstEventTime.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv)).Append("</td><td>")
                .Append(Inv, $"<svg class=\"bar\" viewBox=\"0 0 300 14\" width=\"300\" height=\"14\"><rect x=\"0\" y=\"2\" height=\"10\" width=\"{Math.Max(1, 300.0 * d.Events / max):0.#}\" fill=\"{Palette[0]}\"/></svg>")
                .Append(Inv, $"</td><td>{d.Events:N0} events</td></tr>");
        }
        return html.Append("</tbody></table>\n").ToString();
    }

    private static IEnumerable<int> Ticks(int top)
    {
        int step = Math.Max(1, top / 4);
        for (int v = 0; v <= top; v += step) yield return v;
    }

    private static int NiceCeiling(int n)
    {
        if (n <= 4) return 4;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(n)));
        foreach (var f in new[] { 1, 2, 2.5, 4, 5, 10 })
            if (f * magnitude >= n) return (int)(f * magnitude);
        return n;
    }

    private static TimeSpan Round(TimeSpan t) => TimeSpan.FromSeconds(Math.Round(t.TotalSeconds));

    private static string Clean(string text) => TextDigestRenderer.Clean(text);

    private static string Encode(string text) => HtmlText.Encode(text);

    // The page's CSS (the head around it, with its Content-Security-Policy, is HtmlText.PageStart's).
    private const string Style = """
        body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Lato, "Helvetica Neue", Arial, sans-serif; color: #1d1c1d; background: #fff; }
        header, main, footer { max-width: 900px; margin: 0 auto; padding: 10px 20px; }
        h1 { font-size: 20px; margin: 8px 0 0; } h2 { font-size: 16px; margin: 22px 0 8px; } .lede, footer { color: #616061; }
        .suggested { font-weight: 600; } p.suggested { background: #eef7f1; border-left: 4px solid #2eb67d; padding: 8px 12px; font-weight: normal; }
        .chart .grid { stroke: #e8e8e8; } .chart text { font-size: 11px; fill: #616061; } .chart .label.suggested { fill: #1d1c1d; font-weight: 700; }
        .legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; }
        .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
        table { border-collapse: collapse; font-size: 12px; } th, td { padding: 4px 8px; border-bottom: 1px solid #e8e8e8; text-align: right; }
        th:first-child, td:first-child { text-align: left; } tr.suggested td { background: #eef7f1; font-weight: 600; } td.over { color: #e01e5a; font-weight: 700; }
        code { font: 12px Monaco, Menlo, Consolas, monospace; }
        """;
}
