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
}
