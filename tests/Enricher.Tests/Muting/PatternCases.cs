using System.Text.Json;
using Pipeline.Enricher.Muting;

namespace Pipeline.Enricher.Tests.Muting;

/// <summary>A pattern-matching case {name, rule, event, match} as in the conformance corpus.</summary>
internal sealed record PatternCase(string Name, string Rule, string Event, bool Match)
{
    public static IReadOnlyList<PatternCase> ReadJsonLines(string path) =>
        [.. File.ReadLines(path).Where(l => l.Trim().Length > 0).Select(FromJson)];

    public static PatternCase FromJson(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        return new PatternCase(
            root.GetProperty("name").GetString()!,
            root.GetProperty("rule").GetRawText(),
            root.GetProperty("event").GetRawText(),
            root.GetProperty("match").GetBoolean());
    }

    /// <summary>Runs the case through a one-rule set; returns null when the verdict agrees, else why not.</summary>
    public string? Check()
    {
        var rules = Patterns.One(Rule, Name);
        using var evt = JsonDocument.Parse(Event);
        var matched = rules.FirstMatch(evt.RootElement) is not null;
        return matched == Match ? null : $"{Name}: expected match={Match}, got {matched}\n  rule  {Rule}\n  event {Event}";
    }

    public override string ToString() => Name;
}

internal static class Patterns
{
    /// <summary>A rule set holding one rule named "rule" with this pattern.</summary>
    public static MuteRuleSet One(string patternJson, string source = "test") =>
        MuteRuleSet.Parse($$"""{"rules":[{"name":"rule","pattern":{{patternJson}}}]}""", source);

    public static bool Matches(string patternJson, string eventJson)
    {
        using var evt = JsonDocument.Parse(eventJson);
        return One(patternJson).FirstMatch(evt.RootElement) is not null;
    }
}
