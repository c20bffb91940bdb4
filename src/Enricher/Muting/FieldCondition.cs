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
    }

    /// <summary>The field names from the event's root, e.g. ["detail", "userIdentity", "arn"].</summary>
    public string[] Segments { get; }

    /// <summary>The dotted path; conditions are evaluated in its ordinal order, as event-ruler does.</summary>
    public string Path { get; }

    public ValueMatcher[] Matchers { get; }

    public bool MatchesAbsence { get; }

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

/// <summary>A named rule from the file, compiled: it matches when any branch does.</summary>
internal sealed class CompiledRule(string name, IReadOnlyList<PatternBranch> branches)
{
    public string Name { get; } = name;

    public IReadOnlyList<PatternBranch> Branches { get; } = branches;

    /// <summary>Does the event match? <paramref name="steps"/> counts the work done (see <see cref="PatternBranch"/>).</summary>
    public bool Matches(JsonElement evt, ref long steps)
    {
        foreach (var branch in Branches)
        {
            if (branch.Matches(evt, ref steps))
                return true;
        }
        return false;
    }
}
