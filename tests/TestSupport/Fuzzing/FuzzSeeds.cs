using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.TestSupport.Fuzzing;

/// <summary>
/// The inputs mutations start from: the project's own demo stream (always there, so the fuzz suite does
/// something in every clone) and, where the team's shared folder exists, every event of the corpus.
/// </summary>
public static class FuzzSeeds
{
    private static readonly Lazy<IReadOnlyList<byte[]>> DemoLines = new(() => ReadLines(Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl")));

    private static readonly Lazy<IReadOnlyList<byte[]>?> CorpusLines = new(() =>
    {
        var dir = SharedCorpus.RootDirectory is { } root ? Path.Combine(root, "corpus") : null;
        if (dir is null || !Directory.Exists(dir)) return null;
        return [.. Directory.EnumerateFiles(dir, "*.jsonl").Order(StringComparer.Ordinal).SelectMany(ReadLines)];
    });

    /// <summary>The demo organisation's events (111 lines, including its deliberately broken ones).</summary>
    public static IReadOnlyList<byte[]> Demo => DemoLines.Value;

    /// <summary>Every line of ../shared/corpus/*.jsonl; skips the calling test where the folder is absent.</summary>
    public static IReadOnlyList<byte[]> Corpus
    {
        get
        {
            SharedCorpus.RequireDirectory();
            return CorpusLines.Value ?? throw new InvalidOperationException("corpus folder vanished");
        }
    }

    public static string DemoFile(string name) => Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", name);

    /// <summary>Valid mute rule files to mutate: the demo's, and one per pattern of our EventBridge documentation cases.</summary>
    public static IReadOnlyList<byte[]> MuteRuleFiles()
    {
        var files = new List<byte[]> { File.ReadAllBytes(DemoFile("mute-rules.json")) };
        var docCases = Path.Combine(SharedCorpus.RepositoryRoot, "tests", "Enricher.Tests", "Muting", "Data", "eventbridge-doc-cases.json");
        if (File.Exists(docCases)) files.AddRange(PatternsIn(JsonNode.Parse(File.ReadAllText(docCases))));
        if (SharedCorpus.RootDirectory is { } root && File.Exists(Path.Combine(root, "corpus", "patterns", "event-ruler-correctness.jsonl")))
        {
            foreach (var line in File.ReadLines(Path.Combine(root, "corpus", "patterns", "event-ruler-correctness.jsonl")).Take(400))
                if (JsonNode.Parse(line)?["rule"] is JsonObject rule) files.Add(RuleFile(rule));
        }
        return files;
    }

    private static IEnumerable<byte[]> PatternsIn(JsonNode? node)
    {
        // Any object with a "pattern" object is a case; take each pattern once.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<JsonNode?>([node]);
        while (stack.Count > 0)
        {
            switch (stack.Pop())
            {
                case JsonObject o:
                    if (o["pattern"] is JsonObject p && seen.Add(p.ToJsonString())) yield return RuleFile(p);
                    foreach (var kv in o) stack.Push(kv.Value);
                    break;
                case JsonArray a:
                    foreach (var item in a) stack.Push(item);
                    break;
            }
        }
    }

    private static byte[] RuleFile(JsonObject pattern) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["rules"] = new JsonArray(new JsonObject { ["name"] = "r1", ["description"] = "fuzz seed", ["pattern"] = pattern.DeepClone() }),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    private static List<byte[]> ReadLines(string path) =>
        [.. File.ReadLines(path, Encoding.UTF8).Where(l => l.Trim().Length > 0).Select(Encoding.UTF8.GetBytes)];
}
