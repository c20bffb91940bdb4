using Pipeline.Aggregator.Rendering;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.Slack.Preview;

/// <summary>
/// Our own Slack mrkdwn as HTML, the way Slack shows it: <c>*bold*</c>, <c>_italic_</c>, <c>~strike~</c>, <c>`code`</c>,
/// line breaks, emoji shortcodes, <c>&lt;url|label&gt;</c> links and <c>&lt;!date^…|fallback&gt;</c> dates. Only what
/// the renderers write is understood; everything else is text and is HTML-encoded, so caller text (escaped and made
/// inert before it reached the mrkdwn) stays text on the page too.
/// </summary>
internal static partial class MrkdwnHtml
{
    // Tokens (links, dates, code spans) are lifted out before formatting, as Slack does: nothing inside them is
    // formatted. They are held by number between two private-use characters that no input keeps (see Html).
    private const char Open = '\uE000', Close = '\uE001';

    public static string Html(string mrkdwn)
    {
        var tokens = new List<string>();
        string Hold(string html) { tokens.Add(html); return $"{Open}{tokens.Count - 1}{Close}"; }

        var text = mrkdwn.Replace(Open, '\uFFFD').Replace(Close, '\uFFFD');
        text = Angle().Replace(text, m => Hold(AngleToken(m.Groups[1].Value)));
        text = Decode(text);
        text = CodeSpan().Replace(text, m => Hold("<code>" + HtmlText.Encode(m.Groups[1].Value) + "</code>"));
        text = HtmlText.Encode(text);
        text = Bold().Replace(text, "<b>$1</b>");
        text = Italic().Replace(text, "<i>$1</i>");
        text = Strike().Replace(text, "<s>$1</s>");
        text = Emoji(text);
        text = text.Replace("\n", "<br>", StringComparison.Ordinal);
        return Held().Replace(text, m => tokens[int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)]);
    }

    /// <summary>Plain text (a header) as HTML: encoded, with emoji shortcodes shown as emoji (Slack's <c>emoji: true</c>).</summary>
    public static string PlainHtml(string plain) => Emoji(HtmlText.Encode(plain));

    /// <summary>
    /// The shortcodes our renderers use, as the emoji Slack shows for them. A shortcode not listed stays text: the
    /// page invents nothing (and a caller's shortcode never reaches here: its colon is a look-alike).
    /// </summary>
    private static readonly Dictionary<string, string> Emojis = new(StringComparer.Ordinal)
    {
        ["red_circle"] = "🔴", ["large_orange_circle"] = "🟠", ["large_yellow_circle"] = "🟡", ["large_blue_circle"] = "🔵",
        ["rotating_light"] = "🚨", ["warning"] = "⚠️", ["no_entry"] = "⛔", ["clock3"] = "🕒", ["mag"] = "🔍",
        ["office"] = "🏢", ["arrows_counterclockwise"] = "🔄", ["recycle"] = "♻️", ["mute"] = "🔇", ["loud_sound"] = "🔊",
        ["stopwatch"] = "⏱️", ["x"] = "❌", ["skull"] = "💀",
    };

    private static string Emoji(string html) => Shortcode().Replace(html, m => Emojis.TryGetValue(m.Groups[1].Value, out var e) ? e : m.Value);

    /// <summary>A link to http(s) opens in a new tab without telling the target where it came from; a date shows its fallback.</summary>
    private static string AngleToken(string inner)
    {
        int bar = inner.IndexOf('|', StringComparison.Ordinal);
        string target = bar < 0 ? inner : inner[..bar];
        string label = Decode(bar < 0 ? inner : inner[(bar + 1)..]);
        if (target.StartsWith("!date^", StringComparison.Ordinal))
        {
            var parts = target.Split('^');
            var when = parts.Length > 1 && long.TryParse(parts[1], out var unix) ? DateTimeOffset.FromUnixTimeSeconds(unix).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) : "";
            return $"<time datetime=\"{when}\">{HtmlText.Encode(label)}</time>";
        }
        string url = Decode(target);
        if (!url.StartsWith("https://", StringComparison.Ordinal) && !url.StartsWith("http://", StringComparison.Ordinal))
            return HtmlText.Encode(label);
        return $"<a href=\"{HtmlText.Encode(url)}\" target=\"_blank\" rel=\"noopener noreferrer\">{HtmlText.Encode(label)}</a>";
    }

    /// <summary>Slack's three entities back to characters (they are HTML-encoded again on the way out).</summary>
    private static string Decode(string text) => text.Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal).Replace("&amp;", "&", StringComparison.Ordinal);

    [GeneratedRegex("<([^<>]*)>")]
    private static partial Regex Angle();

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex CodeSpan();

    // Slack's rule: a marker opens after a non-word character and closes before one, and holds no line break.
    [GeneratedRegex(@"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")]
    private static partial Regex Bold();

    [GeneratedRegex(@"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")]
    private static partial Regex Italic();

    [GeneratedRegex(@"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")]
    private static partial Regex Strike();

    [GeneratedRegex(":([a-z0-9_+-]+):")]
    private static partial Regex Shortcode();

    [GeneratedRegex("\uE000(\\d+)\uE001")]
    private static partial Regex Held();
}
