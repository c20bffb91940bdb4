using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Cli.Commands;
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
    public async Task Tune_counts_the_messages_digest_posts_when_a_roll_up_decision_falls_between_two_batches()
    {
        // The role `deployer` changes account 1 at minutes 0–1, then accounts 2 and 3 from minute 3 to 40: close enough in
        // time to join account 1's change, but their digests close long after that change is decided (about minute 11),
        // so `digest`, like the function, posts account 1's digest alone. A person's calls in a fourth account, one every
        // 6 s, make each batch of `digest` (100 records) about 10 minutes of the events' time. Replayed as one batch, tune
        // used to see every digest before deciding any, and rolled the three accounts up.
        var lines = new List<string>();
        void Call(string account, double minute, string id, JsonObject? identity = null) =>
            lines.Add(OrgStream.WithTime(Events.ApiCall(account: account, eventId: id, identity: identity), Events.T0.AddMinutes(minute)).ToJsonString());
        foreach (var minute in new[] { 0, 0.5, 1 }) Call("111111111111", minute, $"a1-{minute}");
        for (int m = 3; m <= 40; m++)
        {
            Call("222222222222", m, $"a2-{m}");
            Call("333333333333", m + 0.5, $"a3-{m}");
        }
        var person = new JsonObject { ["type"] = "IAMUser", ["userName"] = "alice", ["arn"] = "arn:aws:iam::444444444444:user/alice", ["accountId"] = "444444444444" };
        for (int i = 0; i < 600; i++) Call("444444444444", i * 0.1, $"p-{i}", (JsonObject)person.DeepClone());
        lines.Sort((x, y) => string.CompareOrdinal(Time(x), Time(y)));
        var file = Path.Combine(Directory.CreateTempSubdirectory("tune-batches-").FullName, "events.jsonl");
        await File.WriteAllLinesAsync(file, lines);

        var (_, summary, row) = await DigestAndTuneAsync(file);
        Assert.Equal(0, summary.GetProperty("rollups").GetInt64()); // account 1's change was decided before the others closed
        Assert.Equal(summary.GetProperty("digests").GetInt64(), row.GetProperty("digests").GetInt64());
        Assert.Equal(summary.GetProperty("rollups").GetInt64(), row.GetProperty("rollups").GetInt64());
        Assert.Equal(summary.GetProperty("messages").GetInt64(), row.GetProperty("messages").GetInt64());

        static string Time(string line) => JsonNode.Parse(line)!["time"]!.GetValue<string>();
    }

    [Fact]
    public async Task Tune_counts_the_silence_notice_digest_posts_when_the_input_ends()
    {
        // Account 1 calls every 10 minutes for 7 hours, then falls silent; account 2 goes on until 6 hours and 5 minutes
        // after account 1's last call. Only its last call, held by the replay's clock until the input ends, takes the
        // organisation past the 6 hours of silence (`--silence-after`'s default): `digest` posts that notice at the end.
        // `tune` used to leave the end's silence notices out of its messages.
        var lines = new List<string>();
        for (int i = 0; i <= 42; i++) lines.Add(OrgStream.WithTime(Events.ApiCall(account: "111111111111", eventId: $"a-{i}"), Events.T0.AddMinutes(i * 10)).ToJsonString());
        for (int i = 0; i <= 78; i++) lines.Add(OrgStream.WithTime(Events.ApiCall(account: "222222222222", eventId: $"b-{i}"), Events.T0.AddMinutes(i * 10 + 5)).ToJsonString());
        lines.Sort((x, y) => string.CompareOrdinal(Time(x), Time(y)));
        var file = Path.Combine(Directory.CreateTempSubdirectory("tune-silence-").FullName, "events.jsonl");
        await File.WriteAllLinesAsync(file, lines);

        var (printed, summary, row) = await DigestAndTuneAsync(file);
        Assert.Equal(1, summary.GetProperty("silences").GetInt64());
        Assert.Single(printed, line => line.StartsWith("{\"type\":\"silence\"", StringComparison.Ordinal));
        Assert.Equal(summary.GetProperty("digests").GetInt64() + 1, summary.GetProperty("messages").GetInt64());
        Assert.Equal(summary.GetProperty("digests").GetInt64(), row.GetProperty("digests").GetInt64());
        Assert.Equal(summary.GetProperty("messages").GetInt64(), row.GetProperty("messages").GetInt64());

        static string Time(string line) => JsonNode.Parse(line)!["time"]!.GetValue<string>();
    }

    /// <summary>`digest` and `tune` (gap 2m) of one file, as JSON: what `digest` printed, its summary, and `tune`'s one row.</summary>
    private static async Task<(string[] Printed, JsonElement Summary, JsonElement Row)> DigestAndTuneAsync(string file)
    {
        var digest = await PipelineProcess.RunAsync(["digest", "-i", file, "--gap", "2m", "-f", "json"]);
        var tune = await PipelineProcess.RunAsync(["tune", "-i", file, "--gaps", "2m", "-f", "json"]);
        Assert.True(digest.ExitCode == 0, digest.Stderr);
        Assert.True(tune.ExitCode == 0, tune.Stderr);
        var printed = digest.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (printed, JsonDocument.Parse(printed[^1]).RootElement.Clone(),
            JsonDocument.Parse(tune.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single()).RootElement.Clone());
    }

    [Fact]
    public async Task Tune_rejects_a_bad_duration_list()
    {
        var result = await PipelineProcess.RunAsync(["tune", "-i", "x.jsonl", "--gaps", "1m,fast"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'fast' is not a duration", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_given_twice_is_one_setting_and_each_setting_is_checked_in_tunes_own_flags()
    {
        var windows = TuneCommand.Windows("1m,60s,2m", "15m", "5m,300s", out _);
        Assert.Equal(2, windows.Count); // was 6: three gaps (two of them equal) by two latenesses (equal)

        // Was: an unexpected failure (exit 9) after the input was checked; now a usage error naming the list it is in.
        var late = Assert.Throws<UsageException>(() => TuneCommand.Windows("1m", "15m", "3651d", out _));
        Assert.Contains("--latenesses must be at most 3650d", late.Message, StringComparison.Ordinal);
        var long_ = Assert.Throws<UsageException>(() => TuneCommand.Windows("1m", "3651d", "5m", out _));
        Assert.Contains("--max-windows must be at most 3650d", long_.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_replaces_the_last_page_whole_and_goes_to_a_device_as_it_is()
    {
        var demo = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl");
        var folder = Directory.CreateTempSubdirectory("tune-report-").FullName;
        try
        {
            var page = Path.Combine(folder, "r.html");
            await File.WriteAllTextAsync(page, "last week's page");
            var again = await PipelineProcess.RunAsync(["tune", "-i", demo, "--no-progress", "--html", page]);
            Assert.True(again.ExitCode == 0, again.Stderr);
            Assert.StartsWith("<!DOCTYPE html>", await File.ReadAllTextAsync(page), StringComparison.OrdinalIgnoreCase);
            Assert.Equal([page], Directory.GetFiles(folder)); // written beside it and renamed: nothing left over

            // A device is written to as it is (not replaced, nor removed): the page on stdout, after the table.
            var stdout = await PipelineProcess.RunAsync(["tune", "-i", demo, "--no-progress", "--html", "/dev/stdout"]);
            Assert.True(stdout.ExitCode == 0, stdout.Stderr);
            Assert.Contains("</html>", stdout.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_report_path_that_cannot_be_written_is_refused_before_the_replay()
    {
        // Was: the whole replay ran, printed its table, then ended with exit 9 when the page could not be written.
        var demo = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl");
        var result = await PipelineProcess.RunAsync(["tune", "-i", demo, "--no-progress", "--html", Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"), "r.html")]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--html cannot be written to", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout); // no table: nothing was replayed
    }
}
