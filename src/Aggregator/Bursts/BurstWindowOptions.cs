using Pipeline.Enricher.Configuration;
namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// When a burst of one account's events ends and becomes a digest. The one setting most teams tune
/// (see <c>pipeline tune</c>): a shorter gap means faster, smaller digests; a longer one, fewer messages.
/// </summary>
public sealed record BurstWindowOptions
{
    /// <summary>A burst closes once its account has been quiet this long (on its own events' times).</summary>
    public TimeSpan Gap { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A burst closes once it has lasted this long, however busy, so a long deploy still reports.</summary>
    public TimeSpan MaxWindow { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How late an event may arrive and still be on time. A quiet account's burst waits this long on the processing clock
    /// for late events before it closes. An event dated further ahead of its arrival is windowed at its arrival; one
    /// arriving later than this keeps its own time; both are flagged. CloudTrail's delivery to EventBridge often lags by minutes.
    /// </summary>
    public TimeSpan Lateness { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Risky events kept in full per digest (the count of all of them is always kept).</summary>
    public int MaxRiskyPerDigest { get; init; } = 25;

    /// <summary>Distinct failures (event name + error code + principal) kept per digest, with their counts.</summary>
    public int MaxFailuresPerDigest { get; init; } = 10;

    /// <summary>
    /// Risky events at or above this severity are also posted at once as an alert, when they arrive, not only in their
    /// burst's digest when it closes. Null: no alerts. Default critical (root activity, logging or monitoring stopped,
    /// detectors disabled, leaving the organization).
    /// </summary>
    public RiskSeverity? AlertSeverity { get; init; } = RiskSeverity.Critical;

    public void Validate()
    {
        if (Gap <= TimeSpan.Zero) throw new InvalidOptionException($"{{Gap}} must be positive (got {Format(Gap)}).");
        if (MaxWindow <= TimeSpan.Zero) throw new InvalidOptionException($"{{MaxWindow}} must be positive (got {Format(MaxWindow)}).");
        // As the lateness: a burst of ten years is no burst, and a longer one would take an event of the year 9000 (the
        // latest the parser accepts) past the last date there is when its end is worked out.
        if (MaxWindow > TimeSpan.FromDays(3650)) throw new InvalidOptionException($"{{MaxWindow}} must be at most 3650d (got {Format(MaxWindow)}).");
        if (Lateness < TimeSpan.Zero) throw new InvalidOptionException($"{{Lateness}} must not be negative (got -{Format(-Lateness)}).");
        // Ten years: "count every event at its own time", for replaying old events through a live stream.
        if (Lateness > TimeSpan.FromDays(3650)) throw new InvalidOptionException($"{{Lateness}} must be at most 3650d (got {Format(Lateness)}).");
        if (Gap > MaxWindow) throw new InvalidOptionException($"{{Gap}} ({Format(Gap)}) must not be longer than {{MaxWindow}} ({Format(MaxWindow)}): a burst could never close on its gap.");
        if (MaxRiskyPerDigest < 1) throw new InvalidOptionException($"{{MaxRiskyPerDigest}} must be at least 1: a digest keeps at least one risky event (got {MaxRiskyPerDigest}).");
        if (MaxFailuresPerDigest < 1) throw new InvalidOptionException($"{{MaxFailuresPerDigest}} must be at least 1: a digest keeps at least one failure (got {MaxFailuresPerDigest}).");
    }

    private static string Format(TimeSpan t) => Duration.Format(t);
}

/// <summary>Durations as people type them: <c>90s</c>, <c>2m</c>, <c>1h30m</c>, <c>1d</c>.</summary>
public static class Duration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        int i = 0;
        bool any = false;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n)) return false;
            int unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            var unit = s[unitStart..i];
            if (n > 1e6) return false; // a million of any unit is no burst window; bigger would overflow TimeSpan
            TimeSpan part = unit switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" or "sec" => TimeSpan.FromSeconds(n),
                "m" or "min" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                "d" => TimeSpan.FromDays(n),
                _ => TimeSpan.MinValue,
            };
            if (part == TimeSpan.MinValue) return false;
            try
            {
                value += part;
            }
            catch (OverflowException)
            {
                return false; // "99999999999d" is not a duration anyone means
            }
            any = true;
        }
        return any;
    }

    public static string Format(TimeSpan t)
    {
        if (t == TimeSpan.Zero) return "0s";
        var parts = new System.Text.StringBuilder();
        if (t.Days > 0) parts.Append(t.Days).Append('d');
        if (t.Hours > 0) parts.Append(t.Hours).Append('h');
        if (t.Minutes > 0) parts.Append(t.Minutes).Append('m');
        if (t.Seconds > 0) parts.Append(t.Seconds).Append('s');
        // Below a second too, so that a value is never shown as another (1.5s is 1s500ms, not 1s).
        if (t.Milliseconds > 0 || parts.Length == 0) parts.Append(t.Milliseconds).Append("ms");
        return parts.ToString();
    }
}
