using System.Text.Json;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// Turns one EventBridge event pattern into <see cref="PatternBranch"/>es, rejecting what EventBridge
/// (event-ruler's JsonRuleCompiler) rejects, with its wording where it has one.
/// </summary>
internal static class PatternCompiler
{
    private const string Or = "$or";

    // Operator names, and words event-ruler reserves for future operators: not usable as field names in $or.
    private static readonly HashSet<string> ReservedInOr = new(StringComparer.Ordinal)
    {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric",
        "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
        "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
        "ip-address-not-in-range",
    };

    /// <summary>Compiles a pattern; throws <see cref="PatternException"/> saying where and what is wrong.</summary>
    public static IReadOnlyList<PatternBranch> Compile(JsonElement pattern)
    {
        if (pattern.ValueKind != JsonValueKind.Object)
            throw new PatternException("Filter is not an object");
        var branches = new List<Dictionary<string, FieldCondition>>();
        ParseObject(branches, [], pattern, insideOr: false);
        return [.. branches.Select(b => new PatternBranch([.. b.Values]))];
    }

    // Each branch maps a dotted path to its condition; a later path replaces an earlier one, as in event-ruler.
    private static void ParseObject(List<Dictionary<string, FieldCondition>> branches, List<string> path, JsonElement obj, bool insideOr)
    {
        var any = false;
        foreach (var field in obj.EnumerateObject())
        {
            any = true;
            if (field.Name == Or)
            {
                ParseOr(branches, path, field.Value);
                continue;
            }
            if (insideOr && ReservedInOr.Contains(field.Name))
                throw At(path, field.Name, $"\"{field.Name}\" is an operator name and cannot be used as a field name inside $or");

            path.Add(field.Name);
            switch (field.Value.ValueKind)
            {
                case JsonValueKind.Object:
                    ParseObject(branches, path, field.Value, insideOr);
                    break;
                case JsonValueKind.Array:
                    var condition = ParseValueList(path, field.Value);
                    if (branches.Count == 0)
                        branches.Add([]);
                    foreach (var branch in branches)
                        branch[condition.Path] = condition;
                    break;
                default:
                    throw At(path, $"\"{field.Name}\" must be an object or an array (a pattern leaf is a list of values, e.g. [\"x\"])");
            }
            path.RemoveAt(path.Count - 1);
        }
        if (!any)
            throw At(path, "Empty objects are not allowed");
    }

    private static void ParseOr(List<Dictionary<string, FieldCondition>> branches, List<string> path, JsonElement alternatives)
    {
        if (alternatives.ValueKind != JsonValueKind.Array)
            throw At(path, "$or must be followed by an array of objects");
        var before = branches.Select(b => new Dictionary<string, FieldCondition>(b)).ToList();
        branches.Clear();
        var count = 0;
        foreach (var alternative in alternatives.EnumerateArray())
        {
            count++;
            if (alternative.ValueKind != JsonValueKind.Object)
                throw At(path, "Only JSON objects are allowed in the array of $or");
            var forked = before.Select(b => new Dictionary<string, FieldCondition>(b)).ToList();
            if (forked.Count == 0)
                forked.Add([]);
            ParseObject(forked, path, alternative, insideOr: true);
            branches.AddRange(forked);
        }
        if (count < 2)
            throw At(path, "$or needs at least 2 objects");
    }

    private static FieldCondition ParseValueList(List<string> path, JsonElement values)
    {
        var matchers = new List<ValueMatcher>();
        var matchesAbsence = false;
        foreach (var value in values.EnumerateArray())
        {
            try
            {
                switch (value.ValueKind)
                {
                    case JsonValueKind.Object:
                        if (ParseOperator(value) is { } matcher)
                            matchers.Add(matcher);
                        else
                            matchesAbsence = true;
                        break;
                    case JsonValueKind.String:
                        var text = value.GetString()!;
                        // event-ruler compares a plain value that is an IP address as an address.
                        matchers.Add(IpAddressText.TryParse(text) is { } address
                            ? new IpAddressMatcher(address)
                            : new ExactStringMatcher(text));
                        break;
                    case JsonValueKind.Number:
                        matchers.Add(new ExactNumberMatcher(value.GetRawText()));
                        break;
                    case JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null:
                        matchers.Add(new ExactLiteralMatcher(value.ValueKind));
                        break;
                    default:
                        throw new PatternException("Match value must be String, number, true, false, or null");
                }
            }
            catch (PatternException e)
            {
                throw At(path, e.Message);
            }
        }
        if (matchers.Count == 0 && !matchesAbsence)
            throw At(path, "Empty arrays are not allowed");
        return new FieldCondition(path, matchers, matchesAbsence);
    }

    /// <summary>One <c>{"operator": operand}</c> object; null stands for <c>{"exists":false}</c>.</summary>
    private static ValueMatcher? ParseOperator(JsonElement expression)
    {
        using var fields = expression.EnumerateObject();
        if (!fields.MoveNext())
            throw new PatternException("Match expression name not found");
        var (name, operand) = (fields.Current.Name, fields.Current.Value);
        if (fields.MoveNext())
            throw new PatternException($"Only one key allowed in match expression (found \"{name}\" and \"{fields.Current.Name}\")");

        switch (name)
        {
            case "exactly":
                return new ExactStringMatcher(RequireString(operand, "exactly"));
            case "equals-ignore-case":
                return new TextMatcher(new TextTest(TextOperator.EqualsIgnoreCase, RequireString(operand, name)));
            case "prefix":
                return new TextMatcher(ParsePrefixOrSuffix(operand, name, TextOperator.Prefix, TextOperator.PrefixIgnoreCase));
            case "suffix":
                return new TextMatcher(ParsePrefixOrSuffix(operand, name, TextOperator.Suffix, TextOperator.SuffixIgnoreCase));
            case "wildcard":
                return new TextMatcher(new TextTest(TextOperator.Wildcard, RequireString(operand, name)));
            case "numeric":
                return ParseNumeric(operand);
            case "anything-but":
                return ParseAnythingBut(operand);
            case "cidr":
                var (low, high) = IpAddressText.ParseCidr(RequireString(operand, name));
                return new CidrMatcher(low, high);
            case "exists":
                return operand.ValueKind switch
                {
                    JsonValueKind.True => ExistsMatcher.Instance,
                    JsonValueKind.False => null,
                    _ => throw new PatternException("exists match pattern must be either true or false."),
                };
            default:
                throw new PatternException($"Unrecognized match type {name}");
        }
    }

    private static TextTest ParsePrefixOrSuffix(JsonElement operand, string name, TextOperator plain, TextOperator ignoreCase)
    {
        if (operand.ValueKind == JsonValueKind.String)
            return new TextTest(plain, operand.GetString()!);
        if (operand.ValueKind != JsonValueKind.Object)
            throw new PatternException($"{name} match pattern must be a string");

        using var fields = operand.EnumerateObject();
        if (!fields.MoveNext())
            throw new PatternException($"{name} expression name not found");
        if (fields.Current.Name != "equals-ignore-case")
            throw new PatternException($"Unsupported {name} pattern: {fields.Current.Name}");
        var text = RequireString(fields.Current.Value, "equals-ignore-case");
        if (fields.MoveNext())
            throw new PatternException("Only one key allowed in match expression");
        return new TextTest(ignoreCase, text);
    }

    private static NumericRangeMatcher ParseNumeric(JsonElement operand)
    {
        if (operand.ValueKind != JsonValueKind.Array)
            throw new PatternException("Value of numeric must be an array.");
        var terms = operand.EnumerateArray().ToArray();
        if (terms.Length == 0 || terms[0].ValueKind != JsonValueKind.String)
            throw new PatternException("Invalid member in numeric match: " + (terms.Length == 0 ? "[]" : terms[0].GetRawText()));

        var op = terms[0].GetString()!;
        if (op is not ("=" or ">" or ">=" or "<" or "<="))
            throw new PatternException("Unrecognized numeric range operator: " + op);
        var first = NumericOperand(terms, 1, op);

        switch (op)
        {
            case "=":
                RequireEnd(terms, 2);
                return new NumericRangeMatcher(first, true, first, true);
            case "<" or "<=":
                RequireEnd(terms, 2);
                return new NumericRangeMatcher(null, false, first, op == "<=");
        }
        if (terms.Length == 2)
            return new NumericRangeMatcher(first, op == ">=", null, false);

        if (terms[2].ValueKind != JsonValueKind.String)
            throw new PatternException("Bad value in numeric range: " + terms[2].GetRawText());
        var topOp = terms[2].GetString()!;
        if (topOp is not ("<" or "<="))
            throw new PatternException("Bad numeric range operator: " + topOp);
        var top = NumericOperand(terms, 3, topOp);
        RequireEnd(terms, 4);
        if (first >= top)
            throw new PatternException("Bottom must be less than top");
        return new NumericRangeMatcher(first, op == ">=", top, topOp == "<=");
    }

    private static double NumericOperand(JsonElement[] terms, int at, string op)
    {
        if (at >= terms.Length || terms[at].ValueKind != JsonValueKind.Number)
            throw new PatternException($"Value of {op} must be numeric");
        return Comparable(terms[at]);
    }

    private static void RequireEnd(JsonElement[] terms, int length)
    {
        if (terms.Length > length)
            throw new PatternException("Too many elements in numeric expression");
    }

    private static double Comparable(JsonElement number) =>
        ComparableNumber.TryGet(number.GetRawText(), out var value)
            ? value
            : throw new PatternException("Cannot compare number : " + number.GetRawText());

    private static ValueMatcher ParseAnythingBut(JsonElement operand)
    {
        switch (operand.ValueKind)
        {
            case JsonValueKind.String:
                return new AnythingButStringsMatcher(new HashSet<string>(StringComparer.Ordinal) { operand.GetString()! });
            case JsonValueKind.Number:
                return new AnythingButNumbersMatcher(new HashSet<double> { Comparable(operand) });
            case JsonValueKind.Array:
                return ParseAnythingButList(operand);
            case JsonValueKind.Object:
                return ParseAnythingButText(operand);
            default:
                throw new PatternException("Value of anything-but must be an array or single string/number value.");
        }
    }

    private static ValueMatcher ParseAnythingButList(JsonElement list)
    {
        var strings = new HashSet<string>(StringComparer.Ordinal);
        var numbers = new HashSet<double>();
        foreach (var value in list.EnumerateArray())
        {
            if (value.ValueKind == JsonValueKind.String)
                strings.Add(value.GetString()!);
            else if (value.ValueKind == JsonValueKind.Number)
                numbers.Add(Comparable(value));
            else
                throw new PatternException("Inside anything but list, start|null|boolean is not supported.");
        }
        if ((strings.Count > 0) == (numbers.Count > 0))
            throw new PatternException("Inside anything but list, either all values are number or string, mixed type is not supported");
        return strings.Count > 0 ? new AnythingButStringsMatcher(strings) : new AnythingButNumbersMatcher(numbers);
    }

    private static AnythingButTextMatcher ParseAnythingButText(JsonElement expression)
    {
        using var fields = expression.EnumerateObject();
        if (!fields.MoveNext())
            throw new PatternException("Anything-But expression name not found");
        var (name, operand) = (fields.Current.Name, fields.Current.Value);
        var op = name switch
        {
            "equals-ignore-case" => TextOperator.EqualsIgnoreCase,
            "prefix" => TextOperator.Prefix,
            "suffix" => TextOperator.Suffix,
            "wildcard" => TextOperator.Wildcard,
            _ => throw new PatternException("Unsupported anything-but pattern: " + name),
        };
        if (fields.MoveNext())
            throw new PatternException("Only one key allowed in match expression");

        var texts = operand.ValueKind switch
        {
            JsonValueKind.String => [operand.GetString()!],
            JsonValueKind.Array => operand.EnumerateArray().Select(v => RequireString(v, $"anything-but/{name}")).ToList(),
            _ => throw new PatternException($"Value of anything-but/{name} must be a string or an array of strings"),
        };
        if (texts.Count == 0)
            throw new PatternException("Empty arrays are not allowed");
        if (op is TextOperator.Prefix or TextOperator.Suffix && texts.Any(t => t.Length == 0))
            throw new PatternException("Null prefix/suffix not allowed");
        return new AnythingButTextMatcher([.. texts.Select(t => new TextTest(op, t))]);
    }

    private static string RequireString(JsonElement operand, string name) =>
        operand.ValueKind == JsonValueKind.String
            ? operand.GetString()!
            : throw new PatternException($"{name} match pattern must be a string");

    private static PatternException At(List<string> path, string message) =>
        new(message) { Location = string.Join('.', path) };

    private static PatternException At(List<string> path, string field, string message) =>
        new(message) { Location = string.Join('.', path.Append(field)) };
}
