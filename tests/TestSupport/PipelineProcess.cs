using System.Diagnostics;

namespace Pipeline.TestSupport;

/// <summary>Runs the real `pipeline` program (the built pipeline.dll next to the tests) as a user would, with a time limit.</summary>
public static class PipelineProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Task<Result> RunAsync(IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null, IDictionary<string, string>? environment = null) =>
        RunProgramAsync("pipeline", args, stdin, timeout, environment);

    /// <summary>Runs another program built next to the tests (<paramref name="program"/>.dll), such as the benchmark.</summary>
    public static async Task<Result> RunProgramAsync(string program, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, program + ".dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) info.Environment[k] = v;

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in time");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
