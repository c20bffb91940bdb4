namespace Pipeline.Cli.Terminal;

/// <summary>
/// Carries read progress from the thread that reads (a replay reads on a task of its own: <c>ParseAhead</c>) to the
/// thread that prints: <see cref="Report"/> only keeps the latest figure, <see cref="Draw"/> hands it to the bar. Drawn
/// between two notices, the bar never cuts into a digest being printed.
/// </summary>
internal sealed class ProgressRelay(IProgress<long> bar) : IProgress<long>
{
    private long _latest = -1;
    private long _drawn = -1;

    public void Report(long value) => Volatile.Write(ref _latest, value);

    /// <summary>Draws the latest figure reported, if there is a new one; call it on the printing thread.</summary>
    public void Draw()
    {
        long latest = Volatile.Read(ref _latest);
        if (latest == _drawn) return;
        _drawn = latest;
        bar.Report(latest);
    }
}
