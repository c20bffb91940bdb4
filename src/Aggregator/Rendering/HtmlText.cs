using System.Text;

namespace Pipeline.Aggregator.Rendering;

/// <summary>
/// Text for an HTML page (element content or a quoted attribute): the five characters HTML gives meaning to become
/// entities and nothing else changes, so the page's source stays readable (WebUtility also encodes · and é).
/// </summary>
public static class HtmlText
{
    public static string Encode(string text)
    {
        if (text.AsSpan().IndexOfAny("&<>\"'") < 0) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
            sb.Append(c switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&quot;", '\'' => "&#39;", _ => c.ToString() });
        return sb.ToString();
    }

    /// <summary>
    /// The start of a self-contained page, up to and including <c>&lt;body&gt;</c>: a Content-Security-Policy of
    /// <c>default-src 'none'</c> (no script, font, image or request of any kind; only the inline <paramref name="style"/>),
    /// no referrer. Both pages (the digest preview, the tune report) start here, so neither can loosen it alone.
    /// </summary>
    public static string PageStart(string title, string style) => $"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
        <meta name="referrer" content="no-referrer">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{Encode(title)}</title>
        <style>
        {style.Trim()}
        </style>
        </head>
        <body>

        """;
}
