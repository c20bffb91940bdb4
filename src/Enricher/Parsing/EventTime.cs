using System.Globalization;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// Reads the timestamps found in the wild: ISO 8601 as AWS writes it (<c>2024-05-01T10:00:03Z</c>),
/// and the space-separated, nanosecond forms that log tools such as Panther write
/// (<c>2024-05-01 10:00:03.123456789</c>). A time without an offset is UTC, as in every AWS record.
/// </summary>
public static class EventTime
{
    /// <summary>Times outside this range are not real AWS events, and at the far end they overflow the burst clock's arithmetic.</summary>
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset Latest = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const DateTimeStyles Styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;

    public static bool TryParse(string? text, out DateTimeOffset time)
    {
        time = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64) return false;
        if (TryParseAwsFormat(text, out time)) return true;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, Styles, out time)) return true;
        // .NET reads at most 7 fractional digits; trim nanoseconds and try again.
        var trimmed = TrimFraction(text);
        return trimmed != text && DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, Styles, out time);
    }

    /// <summary>
    /// The exact form AWS writes, <c>yyyy-MM-ddTHH:mm:ssZ</c> with an optional fraction of 1–7 digits, read
    /// digit by digit: the general parser was ~10% of parse time. Anything else (other forms, out-of-range
    /// fields, leap seconds, more than 7 digits) returns false and goes to the general parser, so results
    /// are the same either way.
    /// </summary>
    internal static bool TryParseAwsFormat(ReadOnlySpan<char> s, out DateTimeOffset time)
    {
        time = default;
        if (s.Length < 20 || s[^1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return false;
        if (!Digits(s, 0, 4, out int year) || !Digits(s, 5, 2, out int month) || !Digits(s, 8, 2, out int day) ||
            !Digits(s, 11, 2, out int hour) || !Digits(s, 14, 2, out int minute) || !Digits(s, 17, 2, out int second))
            return false;
        long fractionTicks = 0;
        if (s.Length > 20)
        {
            int fractionDigits = s.Length - 21;
            if (s[19] != '.' || fractionDigits is < 1 or > 7 || !Digits(s, 20, fractionDigits, out int fraction)) return false;
            fractionTicks = fraction;
            for (int i = fractionDigits; i < 7; i++) fractionTicks *= 10;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) ||
            hour > 23 || minute > 59 || second > 59)
            return false;
        time = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(fractionTicks), TimeSpan.Zero);
        return true;
    }

    /// <summary><see cref="TryParseAwsFormat(ReadOnlySpan{char}, out DateTimeOffset)"/> on the UTF-8 bytes of a JSON string, without making a string.</summary>
    internal static bool TryParseAwsFormat(ReadOnlySpan<byte> utf8, out DateTimeOffset time)
    {
        time = default;
        if (utf8.Length is < 20 or > 64) return false;
        Span<char> chars = stackalloc char[utf8.Length];
        return System.Text.Ascii.ToUtf16(utf8, chars, out int written) == System.Buffers.OperationStatus.Done
            && TryParseAwsFormat(chars[..written], out time);
    }

    private static bool Digits(ReadOnlySpan<char> s, int start, int count, out int value)
    {
        value = 0;
        foreach (var c in s.Slice(start, count))
        {
            if (!char.IsAsciiDigit(c)) return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }

    public static string Format(DateTimeOffset time) => time.UtcDateTime.ToString(FormatOf(time), CultureInfo.InvariantCulture);

    /// <summary>
    /// <see cref="Format"/>'s text as UTF-8 into <paramref name="destination"/> (30 bytes are always enough), for a JSON
    /// writer that takes bytes: no string is made per time written.
    /// </summary>
    public static bool TryFormatUtf8(DateTimeOffset time, Span<byte> destination, out int written) =>
        time.UtcDateTime.TryFormat(destination, out written, FormatOf(time), CultureInfo.InvariantCulture);

    private static string FormatOf(DateTimeOffset time) =>
        time.Millisecond == 0 && time.Ticks % TimeSpan.TicksPerMillisecond == 0
            ? "yyyy-MM-dd'T'HH:mm:ss'Z'"
            : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    private static string TrimFraction(string text)
    {
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot < 0) return text;
        int end = dot + 1;
        while (end < text.Length && char.IsAsciiDigit(text[end])) end++;
        return end - dot - 1 <= 7 ? text : string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
    }
}
