using System.Globalization;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// Reads the timestamps found in the wild: ISO 8601 as AWS writes it (<c>2024-05-01T10:00:03Z</c>),
/// and the space-separated, nanosecond forms that log tools such as Panther write
/// (<c>2024-05-01 10:00:03.123456789</c>). A time without an offset is UTC, as in every AWS record.
/// </summary>
internal static class EventTime
{
    private const DateTimeStyles Styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;

    public static bool TryParse(string? text, out DateTimeOffset time)
    {
        time = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64) return false;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, Styles, out time)) return true;
        // .NET reads at most 7 fractional digits; trim nanoseconds and try again.
        var trimmed = TrimFraction(text);
        return trimmed != text && DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, Styles, out time);
    }

    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString(time.Millisecond == 0 && time.Ticks % TimeSpan.TicksPerMillisecond == 0
            ? "yyyy-MM-dd'T'HH:mm:ss'Z'"
            : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string TrimFraction(string text)
    {
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0) return text;
        int end = dot + 1;
        while (end < text.Length && char.IsAsciiDigit(text[end])) end++;
        return end - dot - 1 <= 7 ? text : string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
    }
}
