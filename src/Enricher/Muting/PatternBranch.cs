using System.Text.Json;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// One way a rule can match: its fields joined by AND. A pattern without <c>$or</c> has one branch;
/// each <c>$or</c> multiplies the branches, as event-ruler compiles them.
/// </summary>
/// <remarks>
/// <para>
/// event-ruler's semantics: a field holds when any value at its path passes (arrays, nested or not, are
/// looked through), but all the fields taken from inside one array must come from the same element of it
/// ("array consistency": <c>[{"a":1},{"b":2}]</c> does not satisfy a pattern naming both a and b), and
/// <c>{"exists":false}</c> holds when no value at its path is consistent with the elements chosen by the
/// fields before it in path order. event-ruler decides that field after field, backtracking over array
/// elements; copied literally, that costs n^k for k fields on arrays of n elements (a 160-element event
/// took minutes).
/// </para>
/// <para>
/// Here the event is walked once, along the branch's paths merged into a tree (<see cref="PathNode"/>), and
/// each event node answers for all the fields below it at once (<see cref="Outcome"/>): an object holds when
/// each of its names does (fields under different names share no array), an array when one element holds
/// every field below it. Each event node on the paths is visited once and each value tested once per field,
/// so the cost is linear in the event; <c>steps</c> counts that work for the tests that bound it.
/// </para>
/// </remarks>
internal sealed class PatternBranch
{
    /// <summary>Fields that may be absent are tracked as bits of one word.</summary>
    internal const int MaxAbsentFields = 64;

    // Sorted by path: with {"exists":false} the order matters, and event-ruler walks sorted keys.
    private readonly FieldCondition[] _conditions;
    private readonly PathNode _root;

    public PatternBranch(IReadOnlyList<FieldCondition> conditions)
    {
        _conditions = [.. conditions.OrderBy(c => c.Path, StringComparer.Ordinal)];
        var bits = new ulong[_conditions.Length];
        var absent = 0;
        for (var i = 0; i < _conditions.Length; i++)
        {
            if (!_conditions[i].MatchesAbsence)
                continue;
            if (absent == MaxAbsentFields)
                throw new PatternException($"At most {MaxAbsentFields} fields of one pattern can use {{\"exists\":false}}");
            bits[i] = 1UL << absent++;
        }
        _root = new PathNode(_conditions, bits, Enumerable.Range(0, _conditions.Length), depth: 0);
    }

    public IReadOnlyList<FieldCondition> Conditions => _conditions;

    /// <summary>Does the event satisfy every field? <paramref name="steps"/> grows by the work done.</summary>
    public bool Matches(JsonElement evt, ref long steps)
    {
        var outcome = Evaluate(evt, _root, ref steps);
        // A field still pending was absent with nothing pinning it: it holds if the event has no value at its path.
        for (var i = 0; i < outcome.Count; i++)
        {
            if ((outcome[i].Pending & outcome.Values) == 0)
                return true;
        }
        return false;
    }

    private static Outcome Evaluate(JsonElement node, PathNode path, ref long steps)
    {
        steps++;
        return node.ValueKind switch
        {
            JsonValueKind.Array => EvaluateArray(node, path, ref steps),
            JsonValueKind.Object => EvaluateObject(node, path, ref steps),
            _ => EvaluateValue(node, path, ref steps),
        };
    }

    // A value: the field ending here must pass it (it cannot be absent, it has a value); fields that go
    // deeper have none here.
    private static Outcome EvaluateValue(JsonElement value, PathNode path, ref long steps)
    {
        var none = new Outcome { Values = path.EndingAbsent };
        if (path.BelowRequired)
            return none;
        if (path.Ending is { } condition)
        {
            steps += condition.Matchers.Length;
            if (!condition.MatchesValue(value))
                return none;
        }
        return Outcome.Of(new Option(path.EndingAbsent, path.BelowAbsent), path.EndingAbsent);
    }

    // An object is not a value: a field ending here has none. Each name is decided on its own, and the ways
    // they hold are combined.
    private static Outcome EvaluateObject(JsonElement obj, PathNode path, ref long steps)
    {
        var outcome = path.Ending is not { MatchesAbsence: false } ? Outcome.Of(new Option(0, path.EndingAbsent)) : new Outcome();
        foreach (var (name, child) in path.Children)
        {
            // Once nothing can hold, only the values of fields that may be absent are still worth finding.
            if (outcome.Count == 0 && child.Absent == 0)
                continue;
            var inChild = obj.TryGetProperty(name, out var value) ? Evaluate(value, child, ref steps) : Missing(child);
            outcome = Outcome.Product(outcome, inChild, ref steps);
        }
        return outcome;
    }

    // The fields below share the array: the present ones take their values from one element. A pending field
    // is judged here, against that element alone, once a present field before it in path order pins the
    // element; otherwise it stays pending, to be judged where something pins it, against every element.
    private static Outcome EvaluateArray(JsonElement array, PathNode path, ref long steps)
    {
        var outcome = path.Required ? new Outcome() : Missing(path);
        foreach (var element in array.EnumerateArray())
        {
            // Without fields that may be absent there is one way to hold: once found, the rest cannot add to it.
            if (path.Absent == 0 && outcome.Count > 0)
                break;
            var inElement = Evaluate(element, path, ref steps);
            outcome.Values |= inElement.Values;
            for (var i = 0; i < inElement.Count; i++)
            {
                steps++;
                var option = inElement[i];
                var judged = option.Pending & path.PinnedAfter(option.FirstPresent);
                if ((judged & inElement.Values) == 0)
                    outcome.Add(option with { Pending = option.Pending & ~judged }, ref steps);
            }
        }
        return outcome;
    }

    // No value below: it holds only with every field there absent, pending.
    private static Outcome Missing(PathNode path) => path.Required ? new Outcome() : Outcome.Of(new Option(0, path.Absent));

    /// <summary>
    /// One way the fields below an event node can hold there. Fields that must have a value are all present
    /// in every option; a field that may be absent (<see cref="FieldCondition.MatchesAbsence"/>, one bit) is
    /// present, pending (absent, not yet judged) or absent and judged. Of the present ones only the first in
    /// path order matters to the judging of the rest (<see cref="PathNode.PinnedAfter"/>).
    /// </summary>
    private readonly record struct Option(ulong FirstPresent, ulong Pending);

    /// <summary>
    /// The options an event node allows and the fields that may be absent which have a value below it (what a
    /// pending field is judged against). Without such fields there is at most one option, (0, 0), kept inline.
    /// </summary>
    private struct Outcome
    {
        private Option _first;
        private List<Option>? _more;

        public ulong Values { get; set; }

        public int Count { get; private set; }

        public readonly Option this[int index] => index == 0 ? _first : _more![index - 1];

        public static Outcome Of(Option option, ulong values = 0) => new() { _first = option, Count = 1, Values = values };

        /// <summary>
        /// Keeps <paramref name="option"/> unless a kept one covers it, and drops the kept ones it covers, so that
        /// only the minimal options are kept whatever order they come in. Each kept option looked at is a step.
        /// </summary>
        /// <remarks>
        /// An option pending on more fields than another with the same first present field can only fail where
        /// that one holds. With the minimal ones kept an outcome has at most one option per first present field
        /// (see docs/mute-rules.md, Cost): at most k+1 for k fields that may be absent.
        /// </remarks>
        public void Add(Option option, ref long steps)
        {
            var count = 0;
            var covered = false;
            for (var i = 0; i < Count; i++)
            {
                steps++;
                var kept = this[i];
                if (!covered && kept.FirstPresent == option.FirstPresent)
                {
                    if ((kept.Pending & ~option.Pending) == 0)
                    {
                        if (count == i)
                            return;
                        // Those dropped already were covered by the new option, so by this one too.
                        covered = true;
                    }
                    else if ((option.Pending & ~kept.Pending) == 0)
                    {
                        continue;
                    }
                }
                Set(count++, kept);
            }
            if (count > 0)
                _more?.RemoveRange(count - 1, _more.Count - (count - 1));
            else
                _more?.Clear();
            Count = count;
            if (covered)
                return;
            if (Count == 0)
                _first = option;
            else
                (_more ??= []).Add(option);
            Count++;
        }

        private void Set(int index, Option option)
        {
            if (index == 0)
                _first = option;
            else
                _more![index - 1] = option;
        }

        public static Outcome Product(in Outcome left, in Outcome right, ref long steps)
        {
            var result = new Outcome { Values = left.Values | right.Values };
            for (var i = 0; i < left.Count; i++)
            {
                for (var j = 0; j < right.Count; j++)
                {
                    steps++;
                    var (a, b) = (left[i], right[j]);
                    var first = a.FirstPresent == 0 || (b.FirstPresent != 0 && b.FirstPresent < a.FirstPresent) ? b.FirstPresent : a.FirstPresent;
                    result.Add(new Option(first, a.Pending | b.Pending), ref steps);
                }
            }
            return result;
        }
    }

    /// <summary>The branch's field paths merged into a tree: one node per distinct prefix, with what its fields need.</summary>
    private sealed class PathNode
    {
        public PathNode(FieldCondition[] sorted, ulong[] bits, IEnumerable<int> below, int depth)
        {
            var here = below.ToList();
            foreach (var i in here)
            {
                Absent |= bits[i];
                if (sorted[i].Segments.Length == depth)
                    (Ending, EndingAbsent) = (sorted[i], bits[i]);
            }
            var required = here.Where(i => bits[i] == 0).ToList();
            Required = required.Count > 0;
            BelowRequired = required.Any(i => sorted[i].Segments.Length > depth);
            if (Required)
                PinnedByRequired = here.Where(i => i > required.Min()).Aggregate(0UL, (mask, i) => mask | bits[i]);
            Children = [.. here.Where(i => sorted[i].Segments.Length > depth)
                .GroupBy(i => sorted[i].Segments[depth], StringComparer.Ordinal)
                .Select(g => (g.Key, new PathNode(sorted, bits, g, depth + 1)))];
        }

        /// <summary>The field whose path ends here, if any (a branch has one field per path).</summary>
        public FieldCondition? Ending { get; }

        /// <summary>The next names on the paths, each with its node.</summary>
        public (string Name, PathNode Node)[] Children { get; }

        /// <summary>The fields at or below that may be absent, as bits.</summary>
        public ulong Absent { get; }

        /// <summary>The bit of <see cref="Ending"/> if it may be absent.</summary>
        public ulong EndingAbsent { get; }

        public ulong BelowAbsent => Absent & ~EndingAbsent;

        /// <summary>A field at or below must have a value.</summary>
        public bool Required { get; }

        /// <summary>A field strictly below must have a value.</summary>
        public bool BelowRequired { get; }

        // A field that must have a value is present in every option: it pins, at this node's arrays, every
        // field after it in path order.
        private ulong PinnedByRequired { get; }

        /// <summary>The fields below that an array here is pinned for, given the first present field that may be absent.</summary>
        public ulong PinnedAfter(ulong firstPresent) =>
            PinnedByRequired | (firstPresent == 0 ? 0 : ~((firstPresent << 1) - 1));
    }
}
