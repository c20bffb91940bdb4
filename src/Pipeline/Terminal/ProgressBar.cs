using System.Diagnostics;

namespace Pipeline.Cli.Terminal;

/// <summary>
/// A one-line progress bar on stderr for long runs: bytes read of the known total, rate and ETA.
/// Drawn only when stderr is a terminal (never into a log or a pipe), at most ten times a second.
/// </summary>
internal sealed class ProgressBar : IProgress<long>, IDisposable
{
    private readonly TextWriter _out;
    private readonly long _total;
    private readonly string _label;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDrawMs = -1000;
    private bool _drawn;

    private ProgressBar(TextWriter output, long total, string label)
    {
        _out = output;
        _total = Math.Max(1, total);
        _label = label;
    }

    /// <summary>A bar when it makes sense (a terminal, a known total of at least a megabyte), otherwise null.</summary>
    public static ProgressBar? StartIfUseful(long? total, string label, bool enabled)
    {
        if (!enabled || total is not { } known || known < 1_000_000 || Console.IsErrorRedirected) return null;
        return new ProgressBar(Console.Error, known, label);
    }

    public void Report(long value)
    {
        long now = _clock.ElapsedMilliseconds;
        if (now - _lastDrawMs < 100 && value < _total) return;
        _lastDrawMs = now;
        double fraction = Math.Clamp((double)value / _total, 0, 1);
        const int width = 30;
        int filled = (int)(fraction * width);
        double seconds = Math.Max(0.001, now / 1000.0);
        double rate = value / seconds;
        string eta = fraction > 0.01 ? Duration(TimeSpan.FromSeconds((_total - value) / Math.Max(1, rate))) : "…";
        _out.Write($"\r{_label} [{new string('#', filled)}{new string('.', width - filled)}] {fraction,4:P0}  {rate / 1_000_000:F1} MB/s  ETA {eta}   ");
        _drawn = true;
    }

    public void Dispose()
    {
        if (_drawn) _out.Write("\r" + new string(' ', 90) + "\r");
    }

    private static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";
}
