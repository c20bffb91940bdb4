using System.Globalization;

namespace Pipeline.Bench.Throughput;

/// <summary>
/// The CPU time of the calling thread, where the system tells it (Linux's <c>/proc/thread-self/stat</c>). The e2e run
/// drives the core on the thread that measures it, so this is the core's share of the run: beside the wall time, it says
/// whether the core is what the run waits for (a thread busy all the run long is), which the process's CPU cannot.
/// </summary>
internal static class ThreadCpu
{
    // /proc gives times in USER_HZ ticks, fixed at 100 per second on Linux whatever the kernel's own tick.
    private const double TicksPerSecond = 100;

    /// <summary>The calling thread's user and system time so far; null where the system does not say (not Linux).</summary>
    public static TimeSpan? Current()
    {
        string stat;
        try
        {
            stat = File.ReadAllText("/proc/thread-self/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return Parse(stat);
    }

    /// <summary>utime + stime (fields 14 and 15) of a <c>stat</c> line; the thread's name before them may hold spaces and parentheses.</summary>
    internal static TimeSpan? Parse(string stat)
    {
        int end = stat.LastIndexOf(')');
        if (end < 0) return null;
        // After the name: state (field 3) is the first, so utime and stime are the 12th and 13th.
        var fields = stat[(end + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13 ||
            !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out long user) ||
            !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out long system))
            return null;
        return TimeSpan.FromSeconds((user + system) / TicksPerSecond);
    }
}
