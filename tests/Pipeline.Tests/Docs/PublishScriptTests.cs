using System.Diagnostics;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Docs;

/// <summary>scripts/publish-lambda.sh replaces its output folder: it must never replace one that holds anything else.</summary>
public sealed class PublishScriptTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"publish-guard-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_folder_holding_other_files_is_refused_before_anything_is_built_and_kept_intact()
    {
        Directory.CreateDirectory(_folder);
        var keep = Path.Combine(_folder, "notes.txt");
        File.WriteAllText(keep, "not a bootstrap");

        var info = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = SharedCorpus.RepositoryRoot };
        foreach (var arg in new[] { Path.Combine(SharedCorpus.RepositoryRoot, "scripts", "publish-lambda.sh"), "x86_64", "--out", _folder })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        // The guard comes before the build: the script ends at once (a build would take minutes).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var error = await stderr;

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("holds files other than a bootstrap: not replacing it", error, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet publish", error, StringComparison.Ordinal);
        Assert.Equal("not a bootstrap", File.ReadAllText(keep));
    }
}
