using System.Globalization;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// Numbers as EventBridge compares them. event-ruler turns a JSON number into a double only when the
/// double holds exactly the same decimal value (so 300, 3.0e2 and 300.0 are equal, but an 20-digit id is
/// not silently rounded); numbers that fail this are compared as text, and never match numeric ranges.
/// </summary>
internal static class ComparableNumber
{
    /// <summary>The number's value when a double represents it exactly; false otherwise.</summary>
    public static bool TryGet(string jsonNumber, out double value)
    {
        if (!double.TryParse(jsonNumber, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            || !double.IsFinite(value))
            return false;
        // "R" is the shortest text that round-trips, the same text Java's Double.toString gives.
        return SameDecimalValue(jsonNumber, value.ToString("R", CultureInfo.InvariantCulture));
    }

    private static bool SameDecimalValue(string a, string b)
    {
        var (negA, digitsA, expA) = Normalize(a);
        var (negB, digitsB, expB) = Normalize(b);
        if (digitsA.Length == 0 || digitsB.Length == 0)
            return digitsA.Length == digitsB.Length; // zero equals zero whatever its sign
        return negA == negB && expA == expB && digitsA == digitsB;
    }

    /// <summary>
    /// A decimal as sign, significant digits without leading or trailing zeros, and the power of ten of
    /// the first digit: "0.0300e2" becomes (false, "3", 1).
    /// </summary>
    private static (bool Negative, string Digits, long Exponent) Normalize(string text)
    {
        var i = 0;
        var negative = false;
        if (i < text.Length && (text[i] == '-' || text[i] == '+'))
            negative = text[i++] == '-';

        var digits = new System.Text.StringBuilder(text.Length);
        long integerDigits = 0;
        var seenPoint = false;
        for (; i < text.Length && text[i] != 'e' && text[i] != 'E'; i++)
        {
            if (text[i] == '.')
                seenPoint = true;
            else
            {
                digits.Append(text[i]);
                if (!seenPoint)
                    integerDigits++;
            }
        }

        long exponent = 0;
        if (i < text.Length)
            exponent = long.Parse(text.AsSpan(i + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

        var all = digits.ToString();
        var leadingZeros = all.Length - all.TrimStart('0').Length;
        var significant = all.Trim('0');
        return (negative, significant, integerDigits - leadingZeros + exponent);
    }
}
