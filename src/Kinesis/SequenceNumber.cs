namespace Pipeline.Kinesis;

/// <summary>
/// Kinesis sequence numbers are decimal strings of up to 129 digits that increase within a shard. Comparing
/// them as strings is wrong when lengths differ ("9" &gt; "10"), and they do not fit in a long: compare them as
/// non-negative big integers (equal-length digit strings order like their values).
/// </summary>
public static class SequenceNumber
{
    /// <summary>Negative when a &lt; b, zero when equal, positive when a &gt; b (as integers).</summary>
    public static int Compare(string a, string b)
    {
        var x = Digits(a, nameof(a));
        var y = Digits(b, nameof(b));
        return x.Length != y.Length ? x.Length.CompareTo(y.Length) : x.SequenceCompareTo(y);
    }

    public static bool IsValid(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= 129 && value.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0;

    private static ReadOnlySpan<char> Digits(string value, string parameter)
    {
        if (!IsValid(value)) throw new ArgumentException($"'{value}' is not a sequence number (1–129 decimal digits).", parameter);
        var digits = value.AsSpan().TrimStart('0');
        return digits.IsEmpty ? "0" : digits;
    }
}
