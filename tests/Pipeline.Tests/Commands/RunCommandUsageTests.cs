using Pipeline.TestSupport;

namespace Pipeline.Tests.Commands;

/// <summary>`pipeline run` refusing its usage before it touches anything.</summary>
public sealed class RunCommandUsageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("run-usage-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Format_html_is_refused_before_any_checkpoint_or_ledger_file_is_made()
    {
        var checkpoints = Path.Combine(_dir, "checkpoints");
        var run = await PipelineProcess.RunAsync(["run", "--stream", "s", "--endpoint", "http://127.0.0.1:9", "--checkpoint-file", Path.Combine(checkpoints, "s.json"), "--format", "html"]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--format html", run.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(checkpoints), "a refused run made its checkpoint directory");
    }

    [Theory]
    [InlineData("--carry-table")]
    [InlineData("--checkpoint-table")]
    public async Task A_table_out_of_reach_is_exit_6_like_the_stream(string flag)
    {
        // Was: exit 9 (an unexpected failure asking for a bug report): the table is made before the run's own calls.
        string[] tables = flag == "--carry-table" ? ["--carry-table", "c", "--checkpoint-file", Path.Combine(_dir, "s.json")] : ["--checkpoint-table", "t", "--ledger-table", "l", "--carry-table", "c"];
        var run = await PipelineProcess.RunAsync(["run", "--stream", "s", "--endpoint", "http://127.0.0.1:9", .. tables]);
        Assert.True(run.ExitCode == 6, run.Stderr);
        Assert.Contains("cannot reach DynamoDB at http://127.0.0.1:9", run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("500ms")] // Lambda's TumblingWindowInSeconds is whole seconds
    [InlineData("1.5s")]
    [InlineData("16m")]
    public async Task A_window_lambda_could_not_have_is_refused_naming_the_window_flag(string window)
    {
        // Was: the message named --max-window (the burst's flag), and 500ms passed.
        var run = await PipelineProcess.RunAsync(["run", "--stream", "s", "--endpoint", "http://127.0.0.1:9", "--window", window, "--checkpoint-file", Path.Combine(_dir, "s.json")]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"--window must be whole seconds between 1 s and 15 min, as Lambda's (got {window.Replace("1.5s", "1s500ms", StringComparison.Ordinal)})", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("Run 'pipeline run --help'", run.Stderr, StringComparison.Ordinal);
    }
}
