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
    public async Task Tune_shows_what_the_lateness_costs_in_delay_and_what_it_saves_in_late_events()
    {
        // Two accounts on time, one whose calls come in ten minutes after they happened (a lagging region).
        var lines = new List<string>();
        for (int i = 0; i < 40; i++)
        {
            // Bursts of four calls 20 s apart, half an hour apart: each closes on the clock, gap + lateness after its last call.
            var t = Events.T0.AddMinutes(i / 4 * 30).AddSeconds(i % 4 * 20);
            lines.Add(OrgStream.WithTime(Events.ApiCall(account: "111111111111", eventId: $"on-{i}"), t).ToJsonString());
            lines.Add(OrgStream.WithTime(Events.ApiCall(account: "333333333333", eventId: $"on2-{i}"), t).ToJsonString());
            lines.Add(OrgStream.WithTime(Events.ApiCall(account: "222222222222", eventId: $"lag-{i}"), t.AddMinutes(-10)).ToJsonString());
        }
        var file = Path.Combine(Directory.CreateTempSubdirectory("tune-lateness-").FullName, "events.jsonl");
        await File.WriteAllLinesAsync(file, lines);

        var result = await PipelineProcess.RunAsync(["tune", "-i", file, "--gaps", "2m", "--latenesses", "1m,15m", "-f", "json"]);

        Assert.Equal(0, result.ExitCode);
        var rows = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(["1m", "15m"], rows.Select(r => r.GetProperty("lateness").GetString()));
        Assert.True(rows[0].GetProperty("lateEvents").GetInt32() >= 39, rows[0].GetRawText()); // 10 minutes behind: late for 1m
        Assert.Equal(0, rows[1].GetProperty("lateEvents").GetInt32());
        Assert.True(rows[0].GetProperty("delayMedianSeconds").GetDouble() < rows[1].GetProperty("delayMedianSeconds").GetDouble());
        var table = await PipelineProcess.RunAsync(["tune", "-i", file, "--gaps", "2m", "--latenesses", "1m,15m"]);
        Assert.Contains("lateness", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("late: events that arrived later than the lateness allows", table.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tune_rejects_a_bad_duration_list()
    {
        var result = await PipelineProcess.RunAsync(["tune", "-i", "x.jsonl", "--gaps", "1m,fast"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'fast' is not a duration", result.Stderr, StringComparison.Ordinal);
    }
}
