using System.Text.Json;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// Picks the rules worth evaluating for an event, so that 500 rules do not all run on every event.
/// A rule that needs an exact string at some path in every branch (<c>detail.eventName: ["TagResource"]</c>)
/// is filed under those strings; at match time only the event's values at the few indexed paths are
/// looked up. Rules with no such field are always evaluated. The index only skips rules that cannot
/// match: every result is still decided by the full rule.
/// </summary>
internal sealed class RuleIndex
{
    private readonly bool[] _alwaysEvaluate;
    private readonly (string[] Segments, Dictionary<string, int[]> RulesByValue)[] _paths;

    public RuleIndex(IReadOnlyList<CompiledRule> rules)
    {
        var required = rules.Select(RequiredExactValues).ToList();

        // Prefer the path with the most distinct values across the file (eventName over source): it splits best.
        var distinct = required.SelectMany(r => r)
            .GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.SelectMany(kv => kv.Value).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);

        _alwaysEvaluate = new bool[rules.Count];
        var byPath = new Dictionary<string, (string[] Segments, Dictionary<string, List<int>> Rules)>(StringComparer.Ordinal);
        for (var r = 0; r < rules.Count; r++)
        {
            if (required[r].Count == 0)
            {
                _alwaysEvaluate[r] = true;
                continue;
            }
            var best = required[r].Keys.OrderByDescending(p => distinct[p]).ThenBy(p => p, StringComparer.Ordinal).First();
            if (!byPath.TryGetValue(best, out var entry))
            {
                var segments = rules[r].Branches[0].Conditions.First(c => c.Path == best).Segments;
                byPath[best] = entry = (segments, new Dictionary<string, List<int>>(StringComparer.Ordinal));
            }
            foreach (var value in required[r][best])
            {
                if (!entry.Rules.TryGetValue(value, out var list))
                    entry.Rules[value] = list = [];
                list.Add(r);
            }
        }
        _paths = [.. byPath.Values.Select(e => (e.Segments, e.Rules.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal)))];
    }

    /// <summary>How many rules are always evaluated because they name no exact string every branch needs.</summary>
    public int UnindexedCount => _alwaysEvaluate.Count(a => a);

    /// <summary>Marks in <paramref name="candidates"/> (one flag per rule, in file order) the rules that may match.</summary>
    public void SelectCandidates(JsonElement evt, Span<bool> candidates)
    {
        _alwaysEvaluate.CopyTo(candidates);
        foreach (var (segments, rulesByValue) in _paths)
            MarkRulesForStrings(evt, segments, 0, rulesByValue, candidates);
    }

    // Every string leaf at the path counts: an event array matches when any element does.
    private static void MarkRulesForStrings(JsonElement node, string[] segments, int depth, Dictionary<string, int[]> rulesByValue, Span<bool> candidates)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var element in node.EnumerateArray())
                    MarkRulesForStrings(element, segments, depth, rulesByValue, candidates);
                break;
            case JsonValueKind.Object:
                if (depth < segments.Length && node.TryGetProperty(segments[depth], out var child))
                    MarkRulesForStrings(child, segments, depth + 1, rulesByValue, candidates);
                break;
            case JsonValueKind.String:
                if (depth == segments.Length && rulesByValue.TryGetValue(node.GetString()!, out var rules))
                {
                    foreach (var r in rules)
                        candidates[r] = true;
                }
                break;
        }
    }

    /// <summary>Paths that every branch of the rule requires to equal one of a set of strings, with the union of those strings.</summary>
    private static Dictionary<string, HashSet<string>> RequiredExactValues(CompiledRule rule)
    {
        Dictionary<string, HashSet<string>>? result = null;
        foreach (var branch in rule.Branches)
        {
            var inBranch = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var condition in branch.Conditions)
            {
                if (!condition.MatchesAbsence && condition.Matchers.All(m => m is ExactStringMatcher))
                    inBranch[condition.Path] = [.. condition.Matchers.Cast<ExactStringMatcher>().Select(m => m.Value)];
            }
            if (result is null)
                result = inBranch;
            else
            {
                foreach (var path in result.Keys.ToList())
                {
                    if (inBranch.TryGetValue(path, out var values))
                        result[path].UnionWith(values);
                    else
                        result.Remove(path);
                }
            }
        }
        return result ?? [];
    }
}
