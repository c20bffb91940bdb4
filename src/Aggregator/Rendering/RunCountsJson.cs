using System.Text.Json;
using Pipeline.Aggregator.Bursts;

namespace Pipeline.Aggregator.Rendering;

/// <summary>
/// The run's counts as JSON fields, in one place, so that the <c>digest --format json</c> summary, the Lambda's
/// log lines and <c>run</c>'s checkpoints name and order them alike. Written in the order of the conservation
/// identity (received = rejected + duplicates + muted + digested + open), then the number of digests.
/// </summary>
public static class RunCountsJson
{
    /// <summary>
    /// Writes the counts as fields of the object being written. <c>open</c> (events still in open bursts) is
    /// written only when there are some, unless <paramref name="alwaysOpen"/>: a file run never has any, and its
    /// summary keeps to the documented fields, while a window's log line always says how many wait.
    /// </summary>
    public static void Write(Utf8JsonWriter w, RunSummary counts, bool alwaysOpen = false)
    {
        w.WriteNumber("received", counts.Received);
        w.WriteNumber("rejected", counts.Rejected);
        w.WriteNumber("duplicates", counts.Duplicates);
        w.WriteNumber("muted", counts.Muted);
        w.WriteNumber("digested", counts.Digested);
        if (alwaysOpen || counts.OpenEvents > 0) w.WriteNumber("open", counts.OpenEvents);
        // Carries exist only where open bursts cross windows (`run`, the Lambda): received + carriedIn balances.
        if (alwaysOpen || counts.CarriedIn > 0) w.WriteNumber("carriedIn", counts.CarriedIn);
        if (alwaysOpen || counts.CarriedOut > 0) w.WriteNumber("carriedOut", counts.CarriedOut);
        w.WriteNumber("digests", counts.Digests);
    }

    /// <summary>Reads the counts <see cref="Write"/> wrote into <paramref name="e"/>; a missing one is 0. No per-rule or per-reason counts.</summary>
    public static RunSummary Read(JsonElement e)
    {
        long N(string name) => e.TryGetProperty(name, out var v) ? v.GetInt64() : 0;
        return new RunSummary(N("received"), N("rejected"), N("duplicates"), N("muted"), N("digested"), N("digests"), [], [], N("open"))
        {
            CarriedIn = N("carriedIn"),
            CarriedOut = N("carriedOut"),
        };
    }
}
