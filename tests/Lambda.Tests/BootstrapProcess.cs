using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// A started bootstrap (native, or an arm64 one under qemu) whose stdout (JSON log lines and EMF metric lines) and
/// stderr are collected; killed on dispose.
/// </summary>
internal sealed class BootstrapProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    /// <summary>
    /// How to start <paramref name="fileName"/> (with <paramref name="arguments"/>) as Lambda would: output redirected, and
    /// an environment of PATH and a HOME without the machine user's ~/.aws, to which the caller adds the function's.
    /// </summary>
    public static ProcessStartInfo StartInfo(string fileName, params string[] arguments)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment.Clear();
        info.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        info.Environment["HOME"] = Path.GetTempPath();
        return info;
    }

    public BootstrapProcess(string path, IDictionary<string, string> environment) : this(With(StartInfo(path), environment))
    {
    }

    public BootstrapProcess(ProcessStartInfo start)
    {
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Exited = _process.WaitForExitAsync();
    }

    /// <summary>Completes when the process ends (it never should while a test plays its invocations).</summary>
    public Task Exited { get; }

    public int ExitCode => _process.ExitCode;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    /// <summary>The command line and everything it wrote, for a failure message.</summary>
    public string Output
    {
        get
        {
            lock (_stdout) lock (_stderr) return $"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}\nstdout:\n{_stdout}\nstderr:\n{_stderr}";
        }
    }

    /// <summary>The log lines whose message starts with <paramref name="message"/>.</summary>
    public List<JsonElement> LogLines(string message) =>
        [.. Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            // EMF metric lines have no message: they are not log lines.
            .Where(e => e.TryGetProperty("message", out var m) && m.GetString()!.StartsWith(message, StringComparison.Ordinal))];

    public int? WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout) ? _process.ExitCode : null;

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5000);
        _process.Dispose();
    }

    private static ProcessStartInfo With(ProcessStartInfo info, IDictionary<string, string> environment)
    {
        foreach (var (k, v) in environment) info.Environment[k] = v;
        return info;
    }
}
