using System.Text.Json;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Commands;

public sealed class TuneCommandTests
{
    [Fact]
    public async Task Tune_prints_one_row_per_setting_on_the_demo_data()
    {
        var demo = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl");
        var result = await PipelineProcess.RunAsync(["tune", "-i", demo, "--gaps", "30s,2m,20m", "--max-windows", "15m", "-f", "json"]);
        Assert.Equal(0, result.ExitCode);
        var rows = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(["30s", "2m"], rows.Select(r => r.GetProperty("gap").GetString()));
        Assert.Contains("skipped gap 20m", result.Stderr, StringComparison.Ordinal);
        Assert.True(rows[0].GetProperty("digests").GetInt32() > rows[1].GetProperty("digests").GetInt32());
        Assert.True(rows[0].GetProperty("delayMedianSeconds").GetDouble() < rows[1].GetProperty("delayMedianSeconds").GetDouble());
    }

    [Fact]
    public async Task Tune_rejects_a_bad_duration_list()
    {
        var result = await PipelineProcess.RunAsync(["tune", "-i", "x.jsonl", "--gaps", "1m,fast"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'fast' is not a duration", result.Stderr, StringComparison.Ordinal);
    }
}
