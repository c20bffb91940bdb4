namespace Pipeline.Bench.Throughput;

/// <summary>The events the benchmarks replicate: the team's shared corpus when it is there, else the demo sample built into the program.</summary>
internal sealed record BenchCorpus(string Description, IReadOnlyList<byte[]> Lines)
{
    private const string DemoEvents = "demo/org-events.jsonl";

    public long Bytes => Lines.Sum(l => (long)l.Length + 1);

    /// <summary>
    /// <paramref name="folder"/> when given; otherwise <c>../shared/corpus</c> next to the current folder or
    /// one of its parents (the team's layout); otherwise the embedded <c>samples/demo/org-events.jsonl</c>.
    /// </summary>
    public static BenchCorpus Load(string? folder)
    {
        folder ??= FindSharedCorpus();
        if (folder is null)
        {
            using var embedded = typeof(BenchCorpus).Assembly.GetManifestResourceStream(DemoEvents)!;
            using var copy = new MemoryStream();
            embedded.CopyTo(copy);
            return new BenchCorpus($"samples/{DemoEvents} (embedded; ../shared/corpus not found)", SplitLines(copy.ToArray()));
        }
        if (!Directory.Exists(folder)) throw new BenchUsageException($"--corpus '{folder}' is not a folder");
        var files = Directory.GetFiles(folder, "*.jsonl").Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new BenchUsageException($"--corpus '{folder}' has no *.jsonl files");
        var lines = files.SelectMany(f => SplitLines(File.ReadAllBytes(f))).ToList();
        return new BenchCorpus($"{Path.GetFullPath(folder)} ({files.Count} files)", lines);
    }

    private static string? FindSharedCorpus()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "corpus");
            if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "*.jsonl").Any()) return Path.GetFullPath(candidate);
        }
        return null;
    }

    private static List<byte[]> SplitLines(byte[] content)
    {
        var lines = new List<byte[]>();
        var rest = content.AsSpan();
        while (!rest.IsEmpty)
        {
            int nl = rest.IndexOf((byte)'\n');
            var line = nl < 0 ? rest : rest[..nl];
            rest = nl < 0 ? [] : rest[(nl + 1)..];
            line = line.TrimEnd((byte)'\r');
            if (!line.Trim(" \t"u8).IsEmpty) lines.Add(line.ToArray());
        }
        return lines;
    }
}
