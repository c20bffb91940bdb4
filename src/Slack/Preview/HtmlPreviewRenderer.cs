using System.Text;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rendering;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Model;
using Pipeline.Slack.Rendering;

namespace Pipeline.Slack.Preview;

/// <summary>
/// `--format html`: one self-contained page that shows every message of the run as Slack would show it (the same
/// Block Kit the run posts, drawn with HTML and CSS), the riskiest first, then the run's summary. No script, no
/// request: a Content-Security-Policy forbids both, so the page can be opened, mailed or attached to a ticket as is.
/// The page is written when the run ends (it orders the whole run), so each notice renders to nothing until then.
/// </summary>
public sealed class HtmlPreviewRenderer : IDigestRenderer
{
    private readonly List<(RiskSeverity? Severity, int Order, string Html)> _messages = [];

    public string Render(Notice notice)
    {
        if (!notice.Posted) return ""; // folded into a roll-up: Slack gets no message of its own
        var message = SlackDigestRenderer.Render(notice);
        _messages.Add((Severity(notice), _messages.Count, Message(notice, message)));
        return "";
    }

    public string? RenderSummary(RunSummary summary)
    {
        var html = new StringBuilder(64 * 1024);
        html.Append(HtmlText.PageStart("Digest preview · security pipeline", Style));
        html.Append("<header><h1>Security pipeline · digest preview</h1><p class=\"lede\">")
            .Append(_messages.Count).Append(_messages.Count == 1 ? " message" : " messages")
            .Append(" as Slack shows them, the riskiest first. Nothing here was posted.</p></header>\n<main>\n");
        foreach (var m in _messages.OrderByDescending(m => m.Severity.HasValue).ThenByDescending(m => m.Severity).ThenBy(m => m.Order))
            html.Append(m.Html);
        if (_messages.Count == 0) html.Append("<p class=\"empty\">No messages: nothing in the input closed a burst.</p>\n");
        html.Append("</main>\n<footer><h2>Run summary</h2><pre class=\"summary\">")
            .Append(HtmlText.Encode(TextDigestRenderer.RenderSummary(summary).TrimEnd()))
            .Append("</pre></footer>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static RiskSeverity? Severity(Notice notice) => notice switch
    {
        Alert a => a.Event.Severity,
        Digest d when d.Risky.Count > 0 => d.Risky.Max(r => r.Severity),
        Rollup r when r.Risky.Count > 0 => r.Risky.Max(x => x.Severity),
        SilenceNotice { State: SilenceState.Silent } => RiskSeverity.Medium,
        _ => null,
    };

    private static string Message(Notice notice, SlackMessage message)
    {
        var severity = Severity(notice);
        var html = new StringBuilder();
        html.Append("<article class=\"message ").Append(notice.Kind).Append(severity is { } s ? " risky " + s.ToString().ToLowerInvariant() : "")
            .Append("\" data-kind=\"").Append(notice.Kind).Append("\">\n")
            .Append("<div class=\"avatar\" aria-hidden=\"true\">🛡️</div><div class=\"body\">\n")
            .Append("<div class=\"meta\"><b>Security pipeline</b> <span class=\"app\">APP</span> <span class=\"channel\">#")
            .Append(HtmlText.Encode(Channel(notice))).Append("</span> <span class=\"kind\">")
            .Append(notice.Kind).Append("</span></div>\n");
        foreach (var block in message.Blocks)
        {
            switch (block)
            {
                case SlackBlock.Header h:
                    html.Append("<h2 class=\"block header\">").Append(MrkdwnHtml.PlainHtml(h.Text)).Append("</h2>\n");
                    break;
                case SlackBlock.Section section:
                    html.Append("<div class=\"block section\">");
                    if (section.Text is not null) html.Append("<div class=\"text\">").Append(MrkdwnHtml.Html(section.Text)).Append("</div>");
                    if (section.Fields is { Count: > 0 } fields)
                    {
                        html.Append("<div class=\"fields\">");
                        foreach (var f in fields) html.Append("<div class=\"field\">").Append(MrkdwnHtml.Html(f)).Append("</div>");
                        html.Append("</div>");
                    }
                    html.Append("</div>\n");
                    break;
                case SlackBlock.Context context:
                    html.Append("<div class=\"block context\">");
                    foreach (var e in context.Elements) html.Append("<span>").Append(MrkdwnHtml.Html(e)).Append("</span>");
                    html.Append("</div>\n");
                    break;
                case SlackBlock.Divider:
                    html.Append("<hr class=\"block divider\">\n");
                    break;
            }
        }
        html.Append("<details class=\"notification\"><summary>notification text</summary><p>")
            .Append(MrkdwnHtml.Html(message.Text)).Append("</p></details>\n</div>\n</article>\n");
        return html.ToString();
    }

    /// <summary>The channel a bot token would post to (the account's own, else the default), as the terminal's Slack format names it.</summary>
    private static string Channel(Notice notice) => notice switch
    {
        Digest d => d.AccountInfo?.SlackChannel,
        Alert a => a.AccountInfo?.SlackChannel,
        SilenceNotice n => n.AccountInfo?.SlackChannel,
        _ => null,
    } is { Length: > 0 } channel ? SlackText.Clean(channel, 80).TrimStart('#') : "security-digests";

    // The page's CSS (the head around it, with its Content-Security-Policy, is HtmlText.PageStart's).
    private const string Style = """
        :root { --text: #1d1c1d; --muted: #616061; --line: #e2e2e2; --code: #e01e5a; --link: #1264a3; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.46668 -apple-system, "Segoe UI", Lato, "Helvetica Neue", Arial, sans-serif; color: var(--text); background: #f8f8f8; }
        header, main, footer { max-width: 880px; margin: 0 auto; padding: 12px 20px; }
        h1 { font-size: 20px; margin: 8px 0 0; } .lede { color: var(--muted); margin: 4px 0 0; }
        .message { display: flex; gap: 10px; background: #fff; border: 1px solid var(--line); border-left: 4px solid #c8c8c8; border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
        .message.risky.critical { border-left-color: #e01e5a; } .message.risky.high { border-left-color: #f2952f; } .message.risky.medium { border-left-color: #ecb22e; }
        .avatar { width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff; display: flex; align-items: center; justify-content: center; flex: none; }
        .body { min-width: 0; flex: 1; }
        .meta { font-size: 15px; } .meta .app { font-size: 10px; background: #e8e8e8; color: var(--muted); border-radius: 2px; padding: 1px 3px; }
        .meta .channel, .meta .kind { color: var(--muted); font-size: 13px; }
        .block { margin: 6px 0; overflow-wrap: anywhere; } .header { font-size: 18px; font-weight: 900; margin: 6px 0 8px; }
        .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }
        .context { color: var(--muted); font-size: 13px; display: flex; flex-wrap: wrap; gap: 4px 12px; }
        .divider { border: 0; border-top: 1px solid var(--line); }
        code { font: 12px Monaco, Menlo, Consolas, monospace; color: var(--code); background: #f6f6f6; border: 1px solid #e8e8e8; border-radius: 3px; padding: 1px 3px; }
        a { color: var(--link); text-decoration: none; } time { border-bottom: 1px dotted var(--muted); }
        .notification { color: var(--muted); font-size: 12px; margin-top: 6px; }
        .summary { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; white-space: pre-wrap; font-size: 13px; }
        """;
}
