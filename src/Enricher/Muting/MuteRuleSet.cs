using System.Text.Json;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// The mute rules from one file: named EventBridge event patterns, compiled once at load.
/// <code>
/// {"rules":[{"name":"terraform-tagging","description":"optional","pattern":{ ...event pattern... }}]}
/// </code>
/// An event is muted when a rule's pattern matches it, with EventBridge's semantics (event-ruler's,
/// array consistency included), in time linear in the event (see <see cref="PatternBranch"/>).
/// Immutable and safe to share between threads.
/// </summary>
public sealed class MuteRuleSet : Pipeline.Enricher.Enrichment.IMuteRules
{
    private static readonly JsonDocumentOptions FileOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private readonly CompiledRule[] _rules;
    private readonly RuleIndex _index;

    private MuteRuleSet(CompiledRule[] rules)
    {
        _rules = rules;
        _index = new RuleIndex(rules);
        RuleNames = [.. rules.Select(r => r.Name)];
    }

    /// <summary>A set with no rules: nothing is muted.</summary>
    public static MuteRuleSet Empty { get; } = new([]);

    /// <summary>Rule names in file order.</summary>
    public IReadOnlyList<string> RuleNames { get; }

    /// <summary>How many rules are evaluated on every event because the index cannot look any of their fields up (see <see cref="RuleIndex"/>).</summary>
    public int UnindexedRuleCount => _index.UnindexedCount;

    /// <summary>Reads and compiles a rule file; throws <see cref="MuteRuleException"/> when it cannot be read or is invalid.</summary>
    public static MuteRuleSet Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MuteRuleException($"{path}: cannot read the mute rules: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Compiles rules from JSON text; <paramref name="sourceName"/> prefixes error messages.</summary>
    public static MuteRuleSet Parse(string json, string sourceName) =>
        Parse(System.Text.Encoding.UTF8.GetBytes(json), sourceName);

    /// <summary>Compiles rules from UTF-8 JSON (a byte-order mark is allowed).</summary>
    public static MuteRuleSet Parse(ReadOnlySpan<byte> utf8Json, string sourceName)
    {
        if (utf8Json.StartsWith("\uFEFF"u8))
            utf8Json = utf8Json[3..];
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), FileOptions);
        }
        catch (JsonException e)
        {
            throw new MuteRuleException($"{sourceName}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            try
            {
                return new MuteRuleSet(CompileFile(document.RootElement, sourceName));
            }
            catch (InvalidOperationException e) // a string that is not text: invalid UTF-8 or an unpaired surrogate escape
            {
                throw new MuteRuleException($"{sourceName}: not valid JSON text: {e.Message}", e);
            }
        }
    }

    /// <summary>The name of the first rule, in file order, that matches the event; null when none does.</summary>
    public string? FirstMatch(JsonElement evt)
    {
        var candidates = _rules.Length <= 1024 ? stackalloc bool[_rules.Length] : new bool[_rules.Length];
        _index.SelectCandidates(evt, candidates);
        long steps = 0;
        for (var r = 0; r < _rules.Length; r++)
        {
            if (candidates[r] && _rules[r].Matches(evt, ref steps))
                return _rules[r].Name;
        }
        return null;
    }

    /// <summary>The names of all rules that match the event, in file order; empty when none does.</summary>
    public IReadOnlyList<string> Matches(JsonElement evt) => Matches(evt, out _);

    /// <summary>
    /// <see cref="Matches(JsonElement)"/>, also giving the matcher's work on the event: event nodes visited,
    /// values tested and ways combined (see <see cref="PatternBranch"/>); what the cost tests bound.
    /// </summary>
    internal IReadOnlyList<string> Matches(JsonElement evt, out long steps)
    {
        var candidates = _rules.Length <= 1024 ? stackalloc bool[_rules.Length] : new bool[_rules.Length];
        _index.SelectCandidates(evt, candidates);
        List<string>? names = null;
        steps = 0;
        for (var r = 0; r < _rules.Length; r++)
        {
            if (candidates[r] && _rules[r].Matches(evt, ref steps))
                (names ??= []).Add(_rules[r].Name);
        }
        return names ?? (IReadOnlyList<string>)[];
    }

    /// <summary>Evaluates every rule, bypassing the index: the reference the index is tested against.</summary>
    internal IReadOnlyList<string> MatchesWithoutIndex(JsonElement evt)
    {
        long steps = 0;
        return [.. _rules.Where(r => r.Matches(evt, ref steps)).Select(r => r.Name)];
    }

    /// <summary>The compiled rules, in file order (for the tests that compare them with the reference matcher).</summary>
    internal IReadOnlyList<CompiledRule> Rules => _rules;

    private static CompiledRule[] CompileFile(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new MuteRuleException($"{source}: the file must be a JSON object: {{\"rules\": [ ... ]}}");
        JsonElement? rulesArray = null;
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name != "rules")
                throw new MuteRuleException($"{source}: unknown top-level key \"{property.Name}\" (expected only \"rules\")");
            rulesArray = property.Value;
        }
        if (rulesArray is not { ValueKind: JsonValueKind.Array } array)
            throw new MuteRuleException($"{source}: \"rules\" must be an array of {{\"name\": ..., \"pattern\": {{...}}}}");

        var rules = new List<CompiledRule>();
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        var number = 0;
        foreach (var entry in array.EnumerateArray())
        {
            number++;
            var rule = CompileRule(entry, source, number);
            if (positions.TryGetValue(rule.Name, out var earlier))
                throw new MuteRuleException($"{source}: rule \"{rule.Name}\" (#{number}): duplicate name, already used by rule #{earlier}");
            positions[rule.Name] = number;
            rules.Add(rule);
        }
        return [.. rules];
    }

    private static CompiledRule CompileRule(JsonElement entry, string source, int number)
    {
        var where = $"{source}: rule #{number}";
        if (entry.ValueKind != JsonValueKind.Object)
            throw new MuteRuleException($"{where}: must be an object {{\"name\": ..., \"pattern\": {{...}}}}");

        string? name = null;
        JsonElement? pattern = null;
        foreach (var property in entry.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name":
                    name = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
                    if (string.IsNullOrWhiteSpace(name))
                        throw new MuteRuleException($"{where}: \"name\" must be a non-empty string");
                    break;
                case "pattern":
                    pattern = property.Value;
                    break;
                case "description":
                    if (property.Value.ValueKind != JsonValueKind.String)
                        throw new MuteRuleException($"{where}: \"description\" must be a string");
                    break;
                default:
                    throw new MuteRuleException($"{where}: unknown key \"{property.Name}\" (expected \"name\", \"pattern\", \"description\")");
            }
        }
        if (name is null)
            throw new MuteRuleException($"{where}: missing \"name\"");
        where = $"{source}: rule \"{name}\" (#{number})";
        if (pattern is not { } p)
            throw new MuteRuleException($"{where}: missing \"pattern\"");

        try
        {
            return new CompiledRule(name, PatternCompiler.Compile(p));
        }
        catch (PatternException e)
        {
            var location = e.Location.Length == 0 ? "pattern" : "pattern." + e.Location;
            throw new MuteRuleException($"{where}: {location}: {e.Message}", e);
        }
    }
}
