using System.Text.Json;

namespace Pipeline.Infra.Settings;

/// <summary>
/// The shape check of the <c>muteRulesFile</c> setting at synthesis. infra/ cannot compile the pattern engine
/// (src/Enricher), so it checks what it can read without it: the same JSON dialect, the file's keys, and each
/// rule's name and pattern object. A file that passes can still hold a pattern EventBridge would reject; the function
/// then refuses to start (MUTE_RULES names the problem in its log), which is why the guide runs
/// <c>pipeline mute test</c> on the file before deploying.
/// </summary>
internal static class MuteRulesFile
{
    /// <summary>Where the file lands in the function's package: Lambda unpacks it to /var/task.</summary>
    public const string FileName = "mute-rules.json";
    public const string PathInFunction = "/var/task/" + FileName;

    /// <summary>Larger than any rule set people write by hand; a bigger file is more likely a wrong path (an event log).</summary>
    private const long MaxBytes = 1 << 20;

    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The problems of the file at <paramref name="path"/>, each a sentence without the setting's name.</summary>
    public static IReadOnlyList<string> Check(string path)
    {
        if (!File.Exists(path))
            return [$"{path} does not exist"];
        if (new FileInfo(path).Length > MaxBytes)
            return [$"{path} is larger than 1 MiB: is it a rules file?"];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), Options);
        }
        catch (JsonException e)
        {
            return [$"{path} is not JSON: {e.Message}"];
        }
        using (document)
            return CheckShape(document.RootElement, path);
    }

    private static List<string> CheckShape(JsonElement root, string path)
    {
        var problems = new List<string>();
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("rules", out var rules) || rules.ValueKind != JsonValueKind.Array)
            return [$"{path} must be {{\"rules\": [{{\"name\": ..., \"pattern\": {{...}}}}]}}"];
        foreach (var key in root.EnumerateObject().Select(p => p.Name).Where(n => n != "rules"))
            problems.Add($"{path}: unknown top-level key \"{key}\" (expected only \"rules\")");

        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var number = 0;
        foreach (var rule in rules.EnumerateArray())
        {
            number++;
            if (rule.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"{path}: rule #{number} must be an object {{\"name\": ..., \"pattern\": {{...}}}}");
                continue;
            }
            var name = rule.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (string.IsNullOrWhiteSpace(name))
                problems.Add($"{path}: rule #{number} needs a \"name\" (a non-empty string)");
            else if (names.TryGetValue(name, out var earlier))
                problems.Add($"{path}: rule \"{name}\" (#{number}): duplicate name, already used by rule #{earlier}");
            else
                names[name] = number;
            if (!rule.TryGetProperty("pattern", out var pattern) || pattern.ValueKind != JsonValueKind.Object)
                problems.Add($"{path}: rule #{number} needs a \"pattern\" object (an EventBridge event pattern)");
            foreach (var key in rule.EnumerateObject().Select(p => p.Name).Where(k => k is not ("name" or "pattern" or "description")))
                problems.Add($"{path}: rule #{number}: unknown key \"{key}\" (expected \"name\", \"pattern\", \"description\")");
        }
        return problems;
    }
}
