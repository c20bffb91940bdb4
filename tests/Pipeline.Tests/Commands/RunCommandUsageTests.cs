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
}
