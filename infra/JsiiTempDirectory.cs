using System.Diagnostics;
using System.Globalization;

namespace Pipeline.Infra;

/// <summary>
/// The jsii runtime (the node process behind every CDK call from .NET) unpacks ~66 MB of JavaScript into
/// the temp folder on each start and never removes it. This points TMPDIR, before the first jsii call, at
/// a per-process folder under <c>root</c>, removes the folders of processes that have ended, and removes its
/// own on dispose, so repeated synths and test runs do not pile up wherever TMPDIR happened to point.
/// </summary>
internal sealed class JsiiTempDirectory : IDisposable
{
    private readonly string? _previous;

    private JsiiTempDirectory(string path, string? previous)
    {
        Path = path;
        _previous = previous;
    }

    /// <summary>The folder TMPDIR now points at.</summary>
    public string Path { get; }

    /// <summary>Must run before anything touches a CDK type (that is when jsii starts its node process).</summary>
    public static JsiiTempDirectory Claim(string root)
    {
        Directory.CreateDirectory(root);
        RemoveLeftovers(root);
        var own = System.IO.Path.Combine(root, "pid-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(own);
        var previous = Environment.GetEnvironmentVariable("TMPDIR");
        // .NET's Path.GetTempPath and the node child process (os.tmpdir) both read TMPDIR.
        Environment.SetEnvironmentVariable("TMPDIR", own);
        return new JsiiTempDirectory(own, previous);
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("TMPDIR", _previous);
        TryDelete(Path);
    }

    private static void RemoveLeftovers(string root)
    {
        foreach (var dir in Directory.EnumerateDirectories(root, "pid-*"))
        {
            var name = System.IO.Path.GetFileName(dir);
            if (int.TryParse(name.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && !IsRunning(pid))
                TryDelete(dir);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Another run still uses it; the next claim retries.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
