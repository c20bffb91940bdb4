using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Muting;

/// <summary>The verdicts of AWS's own matcher (event-ruler) on the team's conformance cases.</summary>
public sealed class EventRulerConformanceTests
{
    [SkippableFact]
    public void Every_event_ruler_conformance_case_gets_event_rulers_verdict()
    {
        var folder = SharedCorpus.RequireDirectory("corpus/patterns");
        var cases = Directory.GetFiles(folder, "*.jsonl").SelectMany(PatternCase.ReadJsonLines).ToList();
        Assert.NotEmpty(cases);

        var failures = cases.Select(c => c.Check()).OfType<string>().ToList();

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases disagree:\n" + string.Join("\n", failures));
    }
}
