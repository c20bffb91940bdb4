using System.Text.Json;

namespace Pipeline.Enricher.Tests.Muting;

/// <summary>
/// The EventBridge user guide's example of each operator, on CloudTrail-shaped events
/// (Muting/Data/eventbridge-doc-cases.json).
/// </summary>
public sealed class EventBridgeDocumentationCaseTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, PatternCase>> Cases = new(Load);

    public static TheoryData<string> CaseNames => [.. Cases.Value.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Documented_operator_example_gets_the_documented_verdict(string name)
    {
        Assert.Null(Cases.Value[name].Check());
    }

    [Fact]
    public void Every_operator_has_a_matching_and_a_non_matching_documented_case()
    {
        string[] operators = ["prefix", "suffix", "anything-but", "exists", "wildcard", "numeric", "equals-ignore-case", "cidr", "$or"];
        foreach (var op in operators)
        {
            var uses = Cases.Value.Values.Where(c => c.Rule.Contains($"\"{op}\"", StringComparison.Ordinal)).ToList();
            Assert.True(uses.Any(c => c.Match) && uses.Any(c => !c.Match), $"{op} needs a matching and a non-matching case");
        }
    }

    private static Dictionary<string, PatternCase> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Muting", "Data", "eventbridge-doc-cases.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var events = doc.RootElement.GetProperty("events");
        var cases = new Dictionary<string, PatternCase>(StringComparer.Ordinal);
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var evt = c.GetProperty("event");
            var eventJson = evt.ValueKind == JsonValueKind.String ? events.GetProperty(evt.GetString()!).GetRawText() : evt.GetRawText();
            var name = c.GetProperty("name").GetString()!;
            cases.Add(name, new PatternCase(name, c.GetProperty("pattern").GetRawText(), eventJson, c.GetProperty("match").GetBoolean()));
        }
        return cases;
    }
}
