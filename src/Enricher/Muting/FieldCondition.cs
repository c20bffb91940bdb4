using System.Text.Json;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// One leaf of a pattern: a field path and its value list, e.g. <c>detail.eventName</c> with
/// <c>["TagResource", {"prefix":"Untag"}]</c>. The field matches when any value passes
/// (<see cref="Matchers"/>), or, with <c>{"exists":false}</c>, when the event has no value there.
/// </summary>
internal sealed class FieldCondition
{
    public FieldCondition(IReadOnlyList<string> segments, IReadOnlyList<ValueMatcher> matchers, bool matchesAbsence)
    {
        Segments = [.. segments];
        Path = string.Join('.', Segments);
        Matchers = [.. matchers];
        MatchesAbsence = matchesAbsence;
        ArrayKeys = new string[Segments.Length + 1];
        for (var depth = 0; depth <= Segments.Length; depth++)
            ArrayKeys[depth] = string.Join('.', Segments[..depth]);
    }

    /// <summary>The field names from the event's root, e.g. ["detail", "userIdentity", "arn"].</summary>
    public string[] Segments { get; }

    /// <summary>The dotted path; conditions are evaluated in its ordinal order, as event-ruler does.</summary>
    public string Path { get; }

    public ValueMatcher[] Matchers { get; }

    public bool MatchesAbsence { get; }

    /// <summary>
    /// Names an array met after <c>depth</c> segments of the path. Two conditions meeting the same array
    /// get the same key; see <see cref="ArrayMembership"/>.
    /// </summary>
    public string[] ArrayKeys { get; }

    public bool MatchesValue(JsonElement leaf)
    {
        foreach (var matcher in Matchers)
        {
            if (matcher.Matches(leaf))
                return true;
        }
        return false;
    }
}

/// <summary>
/// Which element of which event array the fields matched so far came from. event-ruler accepts a match
/// only when all fields taken from inside one array come from the same element of it ("array
/// consistency"): <c>{"a":1},{"b":2}</c> does not satisfy a pattern naming both a and b.
/// An array is keyed by the field path leading to it plus how deep it sits in arrays of arrays; the
/// path alone is ambiguous only inside an enclosing array, whose own entry already decides consistency.
/// An immutable list, extended only when the walk enters an array, so array-free events allocate nothing.
/// </summary>
internal sealed class ArrayMembership
{
    private readonly string _pathKey;
    private readonly int _nesting;
    private readonly int _index;
    private readonly ArrayMembership? _next;

    private ArrayMembership(string pathKey, int nesting, int index, ArrayMembership? next) =>
        (_pathKey, _nesting, _index, _next) = (pathKey, nesting, index, next);

    /// <summary>The element index chosen for this array so far, or -1 when no field has been taken from it.</summary>
    public static int IndexOf(ArrayMembership? list, string pathKey, int nesting)
    {
        for (var entry = list; entry is not null; entry = entry._next)
        {
            if (entry._nesting == nesting && string.Equals(entry._pathKey, pathKey, StringComparison.Ordinal))
                return entry._index;
        }
        return -1;
    }

    public static ArrayMembership With(ArrayMembership? list, string pathKey, int nesting, int index) =>
        new(pathKey, nesting, index, list);
}

/// <summary>
/// One way a rule can match: its fields joined by AND. A pattern without <c>$or</c> has one branch;
/// each <c>$or</c> multiplies the branches, as event-ruler compiles them.
/// </summary>
internal sealed class PatternBranch(IReadOnlyList<FieldCondition> conditions)
{
    // Sorted by path: with {"exists":false} the order matters (see MatchFrom), and event-ruler walks sorted keys.
    private readonly FieldCondition[] _conditions = [.. conditions.OrderBy(c => c.Path, StringComparer.Ordinal)];

    public IReadOnlyList<FieldCondition> Conditions => _conditions;

    public bool Matches(JsonElement evt) => MatchFrom(0, evt, null);

    /// <summary>
    /// Do conditions[i..] hold, given the array elements the earlier conditions' values came from?
    /// An absence holds when no value at its path is consistent with those elements: like event-ruler,
    /// it is judged against the fields before it in path order only.
    /// </summary>
    private bool MatchFrom(int i, JsonElement root, ArrayMembership? membership)
    {
        if (i == _conditions.Length)
            return true;
        var sawValue = false;
        if (Walk(i, root, root, depth: 0, nesting: 0, membership, ref sawValue))
            return true;
        return _conditions[i].MatchesAbsence && !sawValue && MatchFrom(i + 1, root, membership);
    }

    /// <summary>
    /// Follows condition i's path from <paramref name="node"/>, entering every array element that is
    /// consistent with <paramref name="membership"/>, and for each leaf value whose value passes, tries
    /// the remaining conditions. Backtracks over array elements until one combination succeeds.
    /// </summary>
    private bool Walk(int i, JsonElement root, JsonElement node, int depth, int nesting, ArrayMembership? membership, ref bool sawValue)
    {
        var condition = _conditions[i];
        switch (node.ValueKind)
        {
            case JsonValueKind.Array:
                var key = condition.ArrayKeys[depth];
                var chosen = ArrayMembership.IndexOf(membership, key, nesting);
                var index = 0;
                foreach (var element in node.EnumerateArray())
                {
                    if (chosen < 0 || chosen == index)
                    {
                        var inElement = chosen < 0 ? ArrayMembership.With(membership, key, nesting, index) : membership;
                        if (Walk(i, root, element, depth, nesting + 1, inElement, ref sawValue))
                            return true;
                    }
                    index++;
                }
                return false;

            case JsonValueKind.Object:
                // An object at the end of the path is not a value: {"exists":true} does not match it.
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

/// <summary>A named rule from the file, compiled: it matches when any branch does.</summary>
internal sealed class CompiledRule(string name, IReadOnlyList<PatternBranch> branches)
{
    public string Name { get; } = name;

    public IReadOnlyList<PatternBranch> Branches { get; } = branches;

    public bool Matches(JsonElement evt)
    {
        foreach (var branch in Branches)
        {
            if (branch.Matches(evt))
                return true;
        }
        return false;
    }
}
