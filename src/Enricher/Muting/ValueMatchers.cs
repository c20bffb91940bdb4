using System.Text.Json;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// One entry of a pattern's value list (<c>"TagResource"</c>, <c>{"prefix":"Describe"}</c>, ...), tested
/// against one leaf of the event: a string, number, true, false or null, never an object or array.
/// As in EventBridge, string operators only match strings and numeric operators only numbers.
/// </summary>
internal abstract class ValueMatcher
{
    public abstract bool Matches(JsonElement leaf);
}

/// <summary><c>"value"</c> or <c>{"exactly":"value"}</c>.</summary>
internal sealed class ExactStringMatcher(string value) : ValueMatcher
{
    public string Value { get; } = value;

    public override bool Matches(JsonElement leaf) => leaf.ValueKind == JsonValueKind.String && leaf.ValueEquals(Value);
}

/// <summary><c>null</c>, <c>true</c> or <c>false</c> in a value list.</summary>
internal sealed class ExactLiteralMatcher(JsonValueKind kind) : ValueMatcher
{
    public override bool Matches(JsonElement leaf) => leaf.ValueKind == kind;
}

/// <summary>A number in a value list: equal by value (300 = 3.0e2), or by text when not exactly a double.</summary>
internal sealed class ExactNumberMatcher : ValueMatcher
{
    private readonly string _text;
    private readonly double? _value;

    public ExactNumberMatcher(string text)
    {
        _text = text;
        _value = ComparableNumber.TryGet(text, out var value) ? value : null;
    }

    public override bool Matches(JsonElement leaf)
    {
        if (leaf.ValueKind != JsonValueKind.Number)
            return false;
        var text = leaf.GetRawText();
        var comparable = ComparableNumber.TryGet(text, out var value);
        return _value is { } expected
            ? comparable && value == expected
            : !comparable && string.Equals(text, _text, StringComparison.Ordinal);
    }
}

/// <summary><c>{"numeric":[">",0,"&lt;=",5]}</c> and <c>{"numeric":["=",5]}</c>; null bounds are open-ended.</summary>
internal sealed class NumericRangeMatcher(double? low, bool lowInclusive, double? high, bool highInclusive) : ValueMatcher
{
    public override bool Matches(JsonElement leaf)
    {
        if (leaf.ValueKind != JsonValueKind.Number || !ComparableNumber.TryGet(leaf.GetRawText(), out var value))
            return false;
        if (low is { } l && (lowInclusive ? value < l : value <= l))
            return false;
        return high is not { } h || (highInclusive ? value <= h : value < h);
    }
}

/// <summary>A plain string in a value list that is an IP address: equal as addresses ("::1" = "0:0::1").</summary>
internal sealed class IpAddressMatcher(byte[] address) : ValueMatcher
{
    public byte[] Address { get; } = address;

    public override bool Matches(JsonElement leaf) =>
        leaf.ValueKind == JsonValueKind.String
        && IpAddressText.TryParse(leaf.GetString()!) is { } candidate
        && candidate.AsSpan().SequenceEqual(Address);
}

/// <summary><c>{"cidr":"10.0.0.0/24"}</c>; IPv4 addresses only fall in IPv4 blocks, IPv6 in IPv6 blocks.</summary>
internal sealed class CidrMatcher(byte[] low, byte[] high) : ValueMatcher
{
    public byte[] Low { get; } = low;

    public byte[] High { get; } = high;

    public override bool Matches(JsonElement leaf)
    {
        if (leaf.ValueKind != JsonValueKind.String || IpAddressText.TryParse(leaf.GetString()!) is not { } address
            || address.Length != Low.Length)
            return false;
        return address.AsSpan().SequenceCompareTo(Low) >= 0 && address.AsSpan().SequenceCompareTo(High) <= 0;
    }
}

/// <summary>The string operators that take one string: prefix, suffix, equals-ignore-case, wildcard.</summary>
internal enum TextOperator
{
    Prefix,
    PrefixIgnoreCase,
    Suffix,
    SuffixIgnoreCase,
    EqualsIgnoreCase,
    Wildcard,
}

/// <summary>One string operator with its operand, e.g. prefix "Describe".</summary>
internal sealed class TextTest
{
    private readonly TextOperator _operator;
    private readonly string _operand;
    private readonly WildcardPattern? _wildcard;

    public TextTest(TextOperator op, string operand)
    {
        _operator = op;
        _operand = operand;
        _wildcard = op == TextOperator.Wildcard ? WildcardPattern.Parse(operand) : null;
    }

    public TextOperator Operator => _operator;

    public string Operand => _operand;

    /// <summary>The parsed wildcard when <see cref="Operator"/> is <see cref="TextOperator.Wildcard"/>.</summary>
    public WildcardPattern? Wildcard => _wildcard;

    public bool IsMatch(string value) => _operator switch
    {
        TextOperator.Prefix => value.StartsWith(_operand, StringComparison.Ordinal),
        TextOperator.PrefixIgnoreCase => value.StartsWith(_operand, StringComparison.OrdinalIgnoreCase),
        TextOperator.Suffix => value.EndsWith(_operand, StringComparison.Ordinal),
        TextOperator.SuffixIgnoreCase => value.EndsWith(_operand, StringComparison.OrdinalIgnoreCase),
        TextOperator.EqualsIgnoreCase => string.Equals(value, _operand, StringComparison.OrdinalIgnoreCase),
        _ => _wildcard!.IsMatch(value),
    };
}

/// <summary><c>{"prefix":"x"}</c>, <c>{"suffix":{"equals-ignore-case":"x"}}</c>, <c>{"wildcard":"x*"}</c>, ...</summary>
internal sealed class TextMatcher(TextTest test) : ValueMatcher
{
    public TextTest Test { get; } = test;

    public override bool Matches(JsonElement leaf) => leaf.ValueKind == JsonValueKind.String && Test.IsMatch(leaf.GetString()!);
}

/// <summary><c>{"exists":true}</c>: any leaf value at the path, null included.</summary>
internal sealed class ExistsMatcher : ValueMatcher
{
    public static readonly ExistsMatcher Instance = new();

    public override bool Matches(JsonElement leaf) => true;
}

/// <summary>
/// <c>{"anything-but":["a","b"]}</c>: any leaf except these strings. A number, null or boolean is
/// "anything but" a string list, as in EventBridge. The field must still be present.
/// </summary>
internal sealed class AnythingButStringsMatcher(IReadOnlySet<string> excluded) : ValueMatcher
{
    public override bool Matches(JsonElement leaf) =>
        leaf.ValueKind != JsonValueKind.String || !excluded.Contains(leaf.GetString()!);
}

/// <summary><c>{"anything-but":[100,200]}</c>: any leaf except numbers equal to these.</summary>
internal sealed class AnythingButNumbersMatcher(IReadOnlySet<double> excluded) : ValueMatcher
{
    public override bool Matches(JsonElement leaf) =>
        leaf.ValueKind != JsonValueKind.Number
        || !ComparableNumber.TryGet(leaf.GetRawText(), out var value)
        || !excluded.Contains(value);
}

/// <summary>
/// <c>{"anything-but":{"prefix":…}}</c> and its suffix, equals-ignore-case and wildcard forms: any leaf
/// that is not a string passing one of the tests.
/// </summary>
internal sealed class AnythingButTextMatcher(IReadOnlyList<TextTest> excluded) : ValueMatcher
{
    public override bool Matches(JsonElement leaf)
    {
        if (leaf.ValueKind != JsonValueKind.String)
            return true;
        var value = leaf.GetString()!;
        foreach (var test in excluded)
        {
            if (test.IsMatch(value))
                return false;
        }
        return true;
    }
}
