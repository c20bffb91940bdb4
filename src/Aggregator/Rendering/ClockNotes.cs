using System.Globalization;
using Pipeline.Aggregator.Bursts;

namespace Pipeline.Aggregator.Rendering;

/// <summary>
/// What a reader is told about events whose own time and arrival disagreed by more than the allowed lateness,
/// in plain words shared by every renderer. Only our own numbers and formatted times: nothing from the event.
/// </summary>
public static class ClockNotes
{
    /// <param name="formatTime">How the renderer writes a moment (Slack: a date token); by default UTC text.</param>
    public static IReadOnlyList<string> Describe(Digest d, Func<DateTimeOffset, string>? formatTime = null)
    {
        var format = formatTime ?? FormatUtc;
        var notes = new List<string>(2);
        if (d.SkewedCount > 0 && d.SkewedLatestTime is { } stated)
        {
            notes.Add(d.SkewedCount == 1
                ? $"1 event dated {format(stated)}, ahead of its arrival: counted at its arrival time (the source's clock is wrong?)"
                : $"{d.SkewedCount} events dated ahead of their arrival (latest {format(stated)}): counted at their arrival time (the source's clock is wrong?)");
        }
        if (d.LateCount > 0)
        {
            notes.Add(d.LateCount == 1
                ? $"1 event arrived late, {Duration.Format(Round(d.LateMaxDelay))} after it happened"
                : $"{d.LateCount} events arrived late, up to {Duration.Format(Round(d.LateMaxDelay))} after they happened");
        }
        return notes;
    }

    private static string FormatUtc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static TimeSpan Round(TimeSpan t) => TimeSpan.FromSeconds(Math.Round(t.TotalSeconds));
}
