using System.Text.Json;
using Pipeline.Enricher.Muting;

namespace Pipeline.Enricher.Tests.Muting;

/// <summary>
/// Random patterns and events over a few field names and values, so that fields collide, arrays (of objects, of
/// values, of arrays) sit on the patterns' paths, and every operator meets values it matches and values it does not.
/// </summary>
internal static class RandomPatterns
{
    private static readonly string[] Names = ["a", "b", "c"];

    private static readonly string[] Values =
    [
        "\"x\"", "\"y\"", "1", "null", "true", """{"exists":true}""", """{"exists":false}""", """{"exists":false}""", """{"exists":false}""",
        """{"prefix":"x"}""", """{"suffix":"y"}""", """{"wildcard":"*y*"}""", """{"anything-but":"x"}""",
        """{"numeric":[">",0]}""", """{"equals-ignore-case":"X"}""",
    ];

    private static readonly string[] Leaves = ["\"x\"", "\"y\"", "\"xy\"", "\"X\"", "1", "0", "null", "true"];

    /// <summary>A pattern with up to <paramref name="names"/> fields per object, nested up to two objects deep, sometimes with $or.</summary>
    public static string Pattern(Random rng, int names = 2) => PatternObject(rng, names, depth: 0, allowOr: true);

    /// <summary>An event whose arrays hold up to <paramref name="topArray"/> elements at the top and <paramref name="innerArray"/> below.</summary>
    public static string Event(Random rng, int topArray, int innerArray) => EventObject(rng, topArray, innerArray, depth: 0);

    /// <summary>
    /// An event shaped like the pattern: its fields, mostly there, under arrays of up to three elements (sometimes
    /// arrays of arrays) that each get their own values, so that elements share, split and lack fields.
    /// </summary>
    public static string EventFor(Random rng, string pattern)
    {
        using var doc = JsonDocument.Parse(pattern);
        return Shaped(rng, doc.RootElement);
    }

    private static string Shaped(Random rng, JsonElement pattern)
    {
        var fields = new List<(string Name, JsonElement Value)>();
        foreach (var field in pattern.EnumerateObject())
        {
            if (field.Name == "$or")
                fields.AddRange(field.Value.EnumerateArray().SelectMany(a => a.EnumerateObject()).Select(f => (f.Name, f.Value)));
            else
                fields.Add((field.Name, field.Value));
        }
        var present = fields.Where(_ => rng.Next(5) > 0).DistinctBy(f => f.Name).Select(f =>
            $"\"{f.Name}\":" + Wrapped(rng, () => f.Value.ValueKind == JsonValueKind.Object ? Shaped(rng, f.Value) : Leaves[rng.Next(Leaves.Length)], nested: 0));
        return "{" + string.Join(",", present) + "}";
    }

    private static string Wrapped(Random rng, Func<string> value, int nested) => rng.Next(10) switch
    {
        < 4 when nested < 2 => "[" + string.Join(",", Enumerable.Range(0, rng.Next(4)).Select(_ => Wrapped(rng, value, nested + 1))) + "]",
        _ => value(),
    };

    /// <summary>How many JSON values (objects, arrays, leaves) the event has.</summary>
    public static long Nodes(JsonElement node) => 1 + node.ValueKind switch
    {
        JsonValueKind.Object => node.EnumerateObject().Sum(p => Nodes(p.Value)),
        JsonValueKind.Array => node.EnumerateArray().Sum(Nodes),
        _ => 0,
    };

    /// <summary>
    /// The most work the matcher may do on the event, per branch: each event node visited once, its value
    /// tested by one field's matchers, and per field below it (objects) or per element (arrays) at most w·w
    /// combinations of ways to hold, each checked against at most w kept ways: w = k+1 for a branch with k fields
    /// that may be absent (one way per first present field), 1 without. Linear in the event for a given rule,
    /// and polynomial, not exponential, in k.
    /// </summary>
    public static long CostBound(MuteRuleSet rules, JsonElement evt)
    {
        var nodes = Nodes(evt);
        long bound = 0;
        foreach (var branch in rules.Rules.SelectMany(r => r.Branches))
        {
            var ways = branch.Conditions.Count(c => c.MatchesAbsence) + 1L;
            var combined = ways * ways * (ways + 1);
            bound += nodes * (1 + branch.Conditions.Max(c => c.Matchers.Length) + branch.Conditions.Count * combined + ways * (ways + 1));
        }
        return bound;
    }

    private static string PatternObject(Random rng, int names, int depth, bool allowOr)
    {
        var fields = Names.OrderBy(_ => rng.Next()).Take(rng.Next(1, names + 1))
            .Select(n => $"\"{n}\":" + (depth < 2 && rng.Next(depth + 2) == 0 ? PatternObject(rng, names, depth + 1, allowOr) : ValueList(rng)))
            .ToList();
        if (allowOr && rng.Next(5) == 0)
            fields.Add("\"$or\":[" + PatternObject(rng, names, depth + 1, false) + "," + PatternObject(rng, names, depth + 1, false) + "]");
        return "{" + string.Join(",", fields) + "}";
    }

    private static string ValueList(Random rng) =>
        "[" + string.Join(",", Values.OrderBy(_ => rng.Next()).Take(rng.Next(1, 3))) + "]";

    private static string EventObject(Random rng, int topArray, int innerArray, int depth) =>
        "{" + string.Join(",", Names.Where(_ => rng.Next(4) > 0).Select(n => $"\"{n}\":" + EventValue(rng, topArray, innerArray, depth + 1))) + "}";

    private static string EventValue(Random rng, int topArray, int innerArray, int depth)
    {
        if (depth > 3)
            return Leaves[rng.Next(Leaves.Length)];
        // Arrays of objects are where fields must share an element: the most of either.
        return rng.Next(5) switch
        {
            0 or 1 => EventObject(rng, topArray, innerArray, depth),
            2 or 3 => "[" + string.Join(",", Enumerable.Range(0, rng.Next(depth == 1 ? topArray + 1 : innerArray + 1))
                .Select(_ => EventValue(rng, topArray, innerArray, depth + 1))) + "]",
            _ => Leaves[rng.Next(Leaves.Length)],
        };
    }
}
