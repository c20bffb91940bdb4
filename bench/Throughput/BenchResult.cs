namespace Pipeline.Bench.Throughput;

/// <summary>
/// One measured line of the report. Throughput rows carry <see cref="Seconds"/> and <see cref="Bytes"/>;
/// memory rows carry their figures in <see cref="Measures"/>. A ratio is always against a baseline
/// measured in the same run, so the figure means the same on a laptop and on a loaded CI runner.
/// </summary>
internal sealed record BenchResult(string Benchmark, string What, long Count)
{
    public double? Seconds { get; init; }
    public long? Bytes { get; init; }
    /// <summary>This row's events/s divided by the baseline's events/s (same bytes, same run).</summary>
    public double? Ratio { get; init; }
    public string? Target { get; init; }
    public bool? TargetMet { get; init; }
    /// <summary>Named figures of a memory row (bytesPerId, peakHeapMB, …), in the order they are printed.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Measures { get; init; } = [];
    public string? Note { get; init; }

    public double? EventsPerSecond => Seconds is > 0 ? Count / Seconds.Value : null;
    public double? MegabytesPerSecond => Seconds is > 0 && Bytes is { } b ? b / 1e6 / Seconds.Value : null;
}

/// <summary>The whole run: where it ran, on what, and every row.</summary>
internal sealed record BenchReport(BenchEnvironment Environment, string Corpus, int CorpusLines, string Command, IReadOnlyList<BenchResult> Results);

internal sealed record BenchEnvironment(int Processors, string Cpu, string Os, string Runtime, string Configuration, bool ServerGc, DateTimeOffset StartedAt)
{
    public static BenchEnvironment Capture(DateTimeOffset now) => new(
        Environment.ProcessorCount,
        CpuModel(),
        System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
#if DEBUG
        "Debug",
#else
        "Release",
#endif
        System.Runtime.GCSettings.IsServerGC,
        now);

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}
