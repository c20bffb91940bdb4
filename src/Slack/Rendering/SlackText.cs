using System.Globalization;
using System.Text;

namespace Pipeline.Slack.Rendering;

/// <summary>
/// Turns caller-controlled text (session names, user agents, error messages, finding titles …) into text
/// that Slack shows literally. Slack's mrkdwn treats <c>&lt;…&gt;</c> as mentions and links, so an
/// unescaped <c>&lt;!channel&gt;</c> in a role session name would page a whole channel.
/// </summary>
internal static class SlackText
{
    /// <summary>Slack's own escaping rule for mrkdwn: exactly these three characters, nothing else.</summary>
    public static string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny('&', '<', '>') < 0) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// One line of at most <paramref name="maxLength"/> characters: line breaks and other control characters
    /// become spaces (a newline in a session name must not fake a line of the digest), bidi overrides and
    /// zero-width characters are dropped (they can make text read backwards), lone surrogates become U+FFFD.
    /// Line and paragraph separators (U+2028/9) count as line breaks; every invisible formatting character (Unicode's
    /// category Cf: bidi marks such as U+061C, word joiners, tag characters U+E0000–E007F …) is dropped.
    /// </summary>
    public static string Clean(string? text, int maxLength)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(Math.Min(text.Length, maxLength + 1));
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    // Tag characters (U+E0000–E007F) are invisible formatting too: they can spell hidden text.
                    if (CharUnicodeInfo.GetUnicodeCategory(text, i) != UnicodeCategory.Format) sb.Append(c).Append(text[i + 1]);
                    i++;
                }
                else
                {
                    sb.Append('\uFFFD');
                }
            }
            else if (char.IsLowSurrogate(c)) sb.Append('\uFFFD');
            else if (char.IsControl(c) || c is '\u2028' or '\u2029') sb.Append(' ');
            else if (IsInvisibleFormatting(c)) { }
            else sb.Append(c);
        }
        return Truncate(sb.ToString(), maxLength);
    }

    /// <summary>Cuts to <paramref name="maxLength"/> characters with an ellipsis, never inside a surrogate pair.</summary>
    public static string Truncate(string text, int maxLength)
    {
        if (text.Length <= maxLength) return text;
        if (maxLength <= 1) return "…"[..maxLength];
        int cut = maxLength - 1;
        if (char.IsHighSurrogate(text[cut - 1])) cut--;
        return string.Concat(text.AsSpan(0, cut), "…");
    }

    /// <summary>
    /// Caller-controlled value as inline code: cleaned, cut, escaped. Code spans stop Slack from auto-linking
    /// domains and from reading <c>*bold*</c>/<c>_italic_</c>; a backtick in the value would end the span, so
    /// it becomes a look-alike.
    /// </summary>
    public static string Code(string? value, int maxLength = 100)
    {
        var clean = Clean(value, maxLength).Replace('`', '\u02CB').Trim();
        return clean.Length == 0 ? "_(none)_" : "`" + Escape(clean) + "`";
    }

    /// <summary>
    /// Caller-controlled value as ordinary mrkdwn text (a finding's title, a region, an account name, the notification
    /// text): cleaned, cut, made <see cref="Inert"/> and escaped.
    /// </summary>
    public static string Text(string? value, int maxLength = 300) => Escape(Inert(Clean(value, maxLength)));

    /// <summary>
    /// Text for a <c>plain_text</c> object (the header). Slack does not parse mentions there, but angle brackets
    /// are replaced by look-alikes anyway so that no renderer or notification preview can read them as markup. The
    /// header turns <c>:name:</c> into emoji (our severity icons need that), so a caller's shortcode is broken up.
    /// </summary>
    public static string Plain(string? value, int maxLength) =>
        BreakShortcodes(Clean(value, maxLength)).Replace('<', '\u2039').Replace('>', '\u203A');

    /// <summary>
    /// Caller text that Slack shows as it reads, whatever mrkdwn does with it: in a message's top-level <c>text</c>
    /// (the notification, and the whole message when Slack refuses the blocks) nothing like <c>verbatim</c> stops
    /// Slack from formatting, auto-linking or mentioning, so the characters that would act are swapped for look-alikes:
    /// <c>*</c> → ∗, <c>~</c> → ∼, <c>`</c> → ˋ, an <c>_</c> that could open or close italics → ˍ, the colon of an
    /// emoji shortcode (<c>:skull:</c>) or of a URL scheme (<c>https://</c>) → ꞉, an <c>@</c> before a word
    /// (<c>@here</c>) → ＠, and the dot of a domain name (<c>evil.example</c>) → ․ (so Slack links nothing).
    /// Text in code spans needs none of this: Slack formats nothing there.
    /// </summary>
    public static string Inert(string text)
    {
        if (text.AsSpan().IndexOfAny(MarkupCharacters) < 0) return text;
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            char before = i > 0 ? text[i - 1] : ' ';
            char after = i + 1 < text.Length ? text[i + 1] : ' ';
            sb.Append(c switch
            {
                '*' => '\u2217',
                '~' => '\u223C',
                '`' => '\u02CB',
                '_' when !char.IsLetterOrDigit(before) || !char.IsLetterOrDigit(after) => '\u02CD',
                ':' when OpensShortcode(text, i) || text.AsSpan(i + 1).StartsWith("//") => '\uA789',
                '@' when char.IsLetterOrDigit(after) => '\uFF20', // bob@here too: no guessing where Slack sees a mention
                '.' when char.IsLetterOrDigit(before) && char.IsLetter(after) => '\u2024',
                _ => c,
            });
        }
        return sb.ToString();
    }

    /// <summary>
    /// A header (already <see cref="Plain"/>) as the bold first line of the mrkdwn fallback text, where Slack would
    /// format it: its leading icon (ours, <c>:red_circle:</c>) stays an emoji, the rest is made <see cref="Inert"/>.
    /// </summary>
    public static string BoldHeader(string header)
    {
        int icon = header.StartsWith(':') ? header.IndexOf(": ", 1, StringComparison.Ordinal) : -1;
        int rest = icon > 0 && OpensShortcode(header, 0) ? icon + 2 : 0;
        return "*" + Escape(string.Concat(header.AsSpan(0, rest), Inert(header[rest..]))) + "*";
    }

    private static readonly System.Buffers.SearchValues<char> MarkupCharacters = System.Buffers.SearchValues.Create("*~`_:@.");

    /// <summary>Breaks every emoji shortcode (<c>:name:</c>) by swapping its opening colon for a look-alike (꞉).</summary>
    private static string BreakShortcodes(string text)
    {
        if (!text.Contains(':', StringComparison.Ordinal)) return text;
        var chars = text.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            if (chars[i] == ':' && OpensShortcode(text, i)) chars[i] = '\uA789';
        return new string(chars);
    }

    /// <summary>
    /// The colon at <paramref name="i"/> is followed by a shortcode's name and a closing colon (<c>:skull:</c>). Every
    /// such colon is swapped, so <c>:a:b:</c> loses both pairs, not just the first.
    /// </summary>
    private static bool OpensShortcode(string text, int i)
    {
        int j = i + 1;
        while (j < text.Length && (char.IsAsciiLetterOrDigit(text[j]) || text[j] is '_' or '+' or '-' or '\'')) j++;
        return j > i + 1 && j < text.Length && text[j] == ':';
    }

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static bool IsInvisibleFormatting(char c) => char.GetUnicodeCategory(c) == UnicodeCategory.Format;
}
