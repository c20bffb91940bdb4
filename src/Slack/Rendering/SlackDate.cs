using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.Slack.Rendering;

/// <summary>
/// Times in mrkdwn as Slack date tokens, <c>&lt;!date^UNIX^FORMAT|FALLBACK&gt;</c>: Slack shows each reader the time in
/// their own time zone and clock style, and shows the UTC fallback wherever it cannot (old clients, email).
/// Notifications and header blocks render no tokens, so they keep plain UTC text.
/// </summary>
internal static partial class SlackDate
{
    /// <summary>Date and time: "Today 10:14:03" for the reader; fallback <c>2026-11-24 09:14:03 UTC</c>.</summary>
    public static string DateTime(DateTimeOffset t) =>
        Token(t, "{date_short_pretty} {time_secs}", t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));

    /// <summary>Time of day only, for times whose date the message already gives; fallback <c>09:14:03 UTC</c>.</summary>
    public static string Time(DateTimeOffset t) =>
        Token(t, "{time_secs}", t.UtcDateTime.ToString("HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));

    /// <summary>
    /// The text with every date token replaced by its fallback, for text Slack shows without rendering tokens.
    /// Only our tokens can match: caller text reaches mrkdwn escaped, so it holds no raw <c>&lt;</c>.
    /// </summary>
    public static string ToFallback(string mrkdwn) =>
        mrkdwn.Contains("<!date^", StringComparison.Ordinal) ? DateToken().Replace(mrkdwn, "$1") : mrkdwn;

    private static string Token(DateTimeOffset t, string format, string fallback) =>
        string.Create(CultureInfo.InvariantCulture, $"<!date^{t.ToUnixTimeSeconds()}^{format}|{fallback}>");

    [GeneratedRegex(@"<!date\^-?\d+\^[^|<>]*\|([^<>]*)>")]
    private static partial Regex DateToken();
}
