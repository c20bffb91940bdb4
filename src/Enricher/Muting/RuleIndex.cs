using System.Text.Json;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// Picks the rules worth evaluating for an event, so that 500 rules do not all run on every event.
/// A rule is filed under one path that every branch constrains to strings the index can look up:
/// exact strings (<c>detail.eventName: ["TagResource"]</c>), prefixes and suffixes (with or without
/// equals-ignore-case), wildcards (by their longest literal piece), IP addresses and cidr blocks.
/// At match time only the event's values at the indexed paths are looked up, once per value.
/// Rules with no such field (anything-but, numbers, exists, ...) are always evaluated. The index only
/// skips rules that cannot match: every result is still decided by the full rule.
/// </summary>
internal sealed class RuleIndex
{
    /// <summary>
    /// Wildcards whose longest literal piece sits between two stars are filed under this many characters
    /// of it: an event value is then looked up once per position, whatever the rules' piece lengths.
    /// </summary>
    internal const int ContainsKeyLength = 6;

    private readonly bool[] _alwaysEvaluate;
    private readonly PathIndex[] _paths;

    public RuleIndex(IReadOnlyList<CompiledRule> rules)
    {
        var required = rules.Select(RequiredKeys).ToList();

        // Prefer exact strings, then addresses, then prefixes; among equals, the path with the most distinct
        // keys across the file (eventName over source): it splits best.
        var distinct = required.SelectMany(r => r)
            .GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.SelectMany(kv => kv.Value).Select(k => k.Text).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);

        _alwaysEvaluate = new bool[rules.Count];
        var byPath = new Dictionary<string, PathIndex.Builder>(StringComparer.Ordinal);
        for (var r = 0; r < rules.Count; r++)
        {
            if (required[r].Count == 0)
            {
                _alwaysEvaluate[r] = true;
                continue;
            }
            var best = required[r]
                .OrderByDescending(kv => kv.Value.Min(k => Selectivity(k.Kind)))
                .ThenByDescending(kv => distinct[kv.Key])
                .ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .First().Key;
            if (!byPath.TryGetValue(best, out var builder))
                byPath[best] = builder = new PathIndex.Builder(rules[r].Branches[0].Conditions.First(c => c.Path == best).Segments);
            foreach (var key in required[r][best])
                builder.Add(key, r);
        }
        _paths = [.. byPath.Values.Select(b => b.Build())];
    }

    /// <summary>How many rules are always evaluated because no field every branch needs can be looked up.</summary>
    public int UnindexedCount => _alwaysEvaluate.Count(a => a);

    /// <summary>Marks in <paramref name="candidates"/> (one flag per rule, in file order) the rules that may match.</summary>
    public void SelectCandidates(JsonElement evt, Span<bool> candidates)
    {
        _alwaysEvaluate.CopyTo(candidates);
        foreach (var path in _paths)
            MarkRulesForStrings(evt, path, 0, candidates);
    }

    // Every string leaf at the path counts: an event array matches when any element does. Every indexed
    // operator matches strings only, so numbers, booleans and null select nothing.
    private static void MarkRulesForStrings(JsonElement node, PathIndex path, int depth, Span<bool> candidates)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var element in node.EnumerateArray())
                    MarkRulesForStrings(element, path, depth, candidates);
                break;
            case JsonValueKind.Object:
                if (depth < path.Segments.Length && node.TryGetProperty(path.Segments[depth], out var child))
                    MarkRulesForStrings(child, path, depth + 1, candidates);
                break;
            case JsonValueKind.String:
                if (depth == path.Segments.Length)
                    path.Mark(node.GetString()!, candidates);
                break;
        }
    }

    private static int Selectivity(KeyKind kind) => kind switch
    {
        KeyKind.Exact => 3,
        KeyKind.Address => 2,
        KeyKind.Contains => 0,
        _ => 1,
    };

    /// <summary>
    /// Paths at which every branch of the rule requires a string the index can look up, each with the
    /// union over branches of the keys that can let a value through (a superset test, never stricter).
    /// </summary>
    private static Dictionary<string, List<IndexKey>> RequiredKeys(CompiledRule rule)
    {
        Dictionary<string, List<IndexKey>>? result = null;
        foreach (var branch in rule.Branches)
        {
            var inBranch = new Dictionary<string, List<IndexKey>>(StringComparer.Ordinal);
            foreach (var condition in branch.Conditions)
            {
                if (condition.MatchesAbsence)
                    continue;
                var keys = new List<IndexKey>();
                foreach (var matcher in condition.Matchers)
                {
                    if (TryKey(matcher) is not { } key)
                        break;
                    keys.Add(key);
                }
                if (keys.Count == condition.Matchers.Length)
                    inBranch[condition.Path] = keys;
            }
            if (result is null)
                result = inBranch;
            else
            {
                foreach (var path in result.Keys.ToList())
                {
                    if (inBranch.TryGetValue(path, out var keys))
                        result[path].AddRange(keys);
                    else
                        result.Remove(path);
                }
            }
        }
        return result ?? [];
    }

    /// <summary>A key every string the matcher accepts passes, or null when the matcher cannot be looked up.</summary>
    private static IndexKey? TryKey(ValueMatcher matcher) => matcher switch
    {
        ExactStringMatcher exact => new IndexKey(KeyKind.Exact, exact.Value),
        IpAddressMatcher ip => new IndexKey(KeyKind.Address, "", ip.Address, ip.Address),
        CidrMatcher cidr => new IndexKey(KeyKind.Address, "", cidr.Low, cidr.High),
        TextMatcher text => TryKey(text.Test),
        _ => null,
    };

    private static IndexKey? TryKey(TextTest test) => test.Operator switch
    {
        TextOperator.Prefix => new IndexKey(KeyKind.Prefix, test.Operand),
        TextOperator.Suffix => new IndexKey(KeyKind.Suffix, test.Operand),
        // A case-insensitive equality is in particular a case-insensitive prefix of the same length.
        TextOperator.PrefixIgnoreCase or TextOperator.EqualsIgnoreCase => new IndexKey(KeyKind.PrefixIgnoreCase, test.Operand),
        TextOperator.SuffixIgnoreCase => new IndexKey(KeyKind.SuffixIgnoreCase, test.Operand),
        _ => TryKey(test.Wildcard!),
    };

    // "arn:aws:iam::*:role/ci*" shares its leading piece with every role: its longest piece says more.
    private static IndexKey? TryKey(WildcardPattern wildcard)
    {
        var pieces = wildcard.Pieces;
        if (pieces.Count == 1)
            return new IndexKey(KeyKind.Exact, pieces[0]);
        var longest = Enumerable.Range(0, pieces.Count).MaxBy(i => pieces[i].Length);
        if (longest > 0 && longest < pieces.Count - 1 && pieces[longest].Length >= ContainsKeyLength)
            return new IndexKey(KeyKind.Contains, pieces[longest][^ContainsKeyLength..]);
        // Otherwise the longer of the two ends; a wildcard that starts and ends with a star and has no
        // long enough piece inside cannot be looked up.
        if (pieces[0].Length > 0 && pieces[0].Length >= pieces[^1].Length)
            return new IndexKey(KeyKind.Prefix, pieces[0]);
        return pieces[^1].Length > 0 ? new IndexKey(KeyKind.Suffix, pieces[^1]) : null;
    }
}

internal enum KeyKind
{
    Exact,
    Prefix,
    PrefixIgnoreCase,
    Suffix,
    SuffixIgnoreCase,
    Contains,
    Address,
}

/// <summary>One way a value can get a rule selected: by its text, or for <see cref="KeyKind.Address"/> by falling in [Low, High].</summary>
internal readonly record struct IndexKey(KeyKind Kind, string Text, byte[]? Low = null, byte[]? High = null);

/// <summary>The rules filed under one path, by how a value selects them.</summary>
internal sealed class PathIndex
{
    private readonly TextTable _exact;
    private readonly TextTable[] _prefixes;
    private readonly TextTable[] _suffixes;
    private readonly TextTable _contains;
    private readonly (byte[] Low, byte[] High, int[] Rules)[] _blocks;

    private PathIndex(string[] segments, TextTable exact, TextTable[] prefixes, TextTable[] suffixes, TextTable contains, (byte[], byte[], int[])[] blocks)
    {
        Segments = segments;
        _exact = exact;
        _prefixes = prefixes;
        _suffixes = suffixes;
        _contains = contains;
        _blocks = blocks;
    }

    public string[] Segments { get; }

    /// <summary>Marks the rules one string value at the path selects.</summary>
    public void Mark(string value, Span<bool> candidates)
    {
        _exact.Mark(value, candidates);
        // Prefixes and suffixes are grouped by length: one lookup per distinct length, not per rule.
        foreach (var table in _prefixes)
        {
            if (table.Length <= value.Length)
                table.Mark(value.AsSpan(0, table.Length), candidates);
        }
        foreach (var table in _suffixes)
        {
            if (table.Length <= value.Length)
                table.Mark(value.AsSpan(value.Length - table.Length), candidates);
        }
        if (!_contains.IsEmpty)
        {
            for (var start = 0; start + RuleIndex.ContainsKeyLength <= value.Length; start++)
                _contains.Mark(value.AsSpan(start, RuleIndex.ContainsKeyLength), candidates);
        }
        if (_blocks.Length > 0 && IpAddressText.TryParse(value) is { } address)
        {
            foreach (var (low, high, rules) in _blocks)
            {
                if (address.Length == low.Length && address.AsSpan().SequenceCompareTo(low) >= 0 && address.AsSpan().SequenceCompareTo(high) <= 0)
                {
                    foreach (var r in rules)
                        candidates[r] = true;
                }
            }
        }
    }

    internal sealed class Builder(string[] segments)
    {
        private readonly List<(IndexKey Key, int Rule)> _entries = [];

        public void Add(IndexKey key, int rule) => _entries.Add((key, rule));

        public PathIndex Build()
        {
            TextTable Table(KeyKind kind, int length, StringComparer comparer) =>
                new(length, _entries.Where(e => e.Key.Kind == kind && (length < 0 || e.Key.Text.Length == length)), comparer);

            TextTable[] ByLength(KeyKind kind, StringComparer comparer) =>
                [.. _entries.Where(e => e.Key.Kind == kind).Select(e => e.Key.Text.Length).Distinct().Order().Select(l => Table(kind, l, comparer))];

            var blocks = _entries.Where(e => e.Key.Kind == KeyKind.Address)
                .GroupBy(e => (Convert.ToHexString(e.Key.Low!), Convert.ToHexString(e.Key.High!)))
                .Select(g => (g.First().Key.Low!, g.First().Key.High!, g.Select(e => e.Rule).Distinct().ToArray()))
                .ToArray();
            return new PathIndex(
                segments,
                Table(KeyKind.Exact, -1, StringComparer.Ordinal),
                [.. ByLength(KeyKind.Prefix, StringComparer.Ordinal), .. ByLength(KeyKind.PrefixIgnoreCase, StringComparer.OrdinalIgnoreCase)],
                [.. ByLength(KeyKind.Suffix, StringComparer.Ordinal), .. ByLength(KeyKind.SuffixIgnoreCase, StringComparer.OrdinalIgnoreCase)],
                Table(KeyKind.Contains, RuleIndex.ContainsKeyLength, StringComparer.Ordinal),
                blocks);
        }
    }

    /// <summary>
    /// Rules by string, looked up without allocating. With OrdinalIgnoreCase, equal keys are exactly
    /// what <c>StartsWith</c>/<c>EndsWith</c> with OrdinalIgnoreCase accept over that many characters.
    /// </summary>
    private sealed class TextTable
    {
        private readonly Dictionary<string, int[]> _rules;
        private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;

        public TextTable(int length, IEnumerable<(IndexKey Key, int Rule)> entries, StringComparer comparer)
        {
            Length = length;
            _rules = entries.GroupBy(e => e.Key.Text, comparer)
                .ToDictionary(g => g.Key, g => g.Select(e => e.Rule).Distinct().ToArray(), comparer);
            _lookup = _rules.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>The key length every entry has, or -1 for any length.</summary>
        public int Length { get; }

        public bool IsEmpty => _rules.Count == 0;

        public void Mark(ReadOnlySpan<char> text, Span<bool> candidates)
        {
            if (_rules.Count > 0 && _lookup.TryGetValue(text, out var rules))
            {
                foreach (var r in rules)
                    candidates[r] = true;
            }
        }
    }
}
