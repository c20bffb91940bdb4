using System.Text.Json;
using Pipeline.Enricher.Muting;

namespace Pipeline.Enricher.Tests.Muting.Reference;

/// <summary>
/// The matcher <see cref="PatternBranch"/> replaced, kept as the oracle of <c>PatternBranchTests</c>: it
/// follows event-ruler literally, condition after condition in path order, backtracking over every combination
/// of array elements (exponential in the number of array-valued fields, so only small events are given to it).
/// </summary>
internal static class BacktrackingMatcher
{
    public static bool Matches(CompiledRule rule, JsonElement evt) =>
        rule.Branches.Any(b => new Branch(b.Conditions).MatchFrom(0, evt, null));

    private sealed class Branch(IReadOnlyList<FieldCondition> conditions)
    {
        private readonly FieldCondition[] _conditions = [.. conditions.OrderBy(c => c.Path, StringComparer.Ordinal)];

        // Do conditions[i..] hold, given the array elements the earlier conditions' values came from? An absence
        // holds when no value at its path is consistent with those elements.
        public bool MatchFrom(int i, JsonElement root, Membership? membership)
        {
            if (i == _conditions.Length)
                return true;
            var sawValue = false;
            if (Walk(i, root, root, depth: 0, nesting: 0, membership, ref sawValue))
                return true;
            return _conditions[i].MatchesAbsence && !sawValue && MatchFrom(i + 1, root, membership);
        }

        private bool Walk(int i, JsonElement root, JsonElement node, int depth, int nesting, Membership? membership, ref bool sawValue)
        {
            var condition = _conditions[i];
            switch (node.ValueKind)
            {
                case JsonValueKind.Array:
                    var key = string.Join('.', condition.Segments[..depth]);
                    var chosen = Membership.IndexOf(membership, key, nesting);
                    var index = 0;
                    foreach (var element in node.EnumerateArray())
                    {
                        if (chosen < 0 || chosen == index)
                        {
                            var inElement = chosen < 0 ? new Membership(key, nesting, index, membership) : membership;
                            if (Walk(i, root, element, depth, nesting + 1, inElement, ref sawValue))
                                return true;
                        }
                        index++;
                    }
                    return false;
                case JsonValueKind.Object:
                    return depth < condition.Segments.Length
                        && node.TryGetProperty(condition.Segments[depth], out var child)
                        && Walk(i, root, child, depth + 1, nesting: 0, membership, ref sawValue);
                default:
                    if (depth < condition.Segments.Length)
                        return false;
                    sawValue = true;
                    return condition.MatchesValue(node) && MatchFrom(i + 1, root, membership);
            }
        }
    }

    // Which element of which array (keyed by the path leading to it and its depth in arrays of arrays) the
    // values taken so far came from.
    private sealed record Membership(string PathKey, int Nesting, int Index, Membership? Next)
    {
        public static int IndexOf(Membership? list, string pathKey, int nesting)
        {
            for (var entry = list; entry is not null; entry = entry.Next)
            {
                if (entry.Nesting == nesting && entry.PathKey == pathKey)
                    return entry.Index;
            }
            return -1;
        }
    }
}
