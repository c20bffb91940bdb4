using System.ComponentModel;
using System.Diagnostics;
using Xunit;

namespace Pipeline.TestSupport.Emulators;

/// <summary>
/// Where the npm emulators live (tests/emulators) and how they get installed: tests/test.sh runs `npm ci`
/// there, and so does <see cref="EnsureInstalled"/> when a bare `dotnet test` finds node_modules missing
/// (a fresh clone). Several test assemblies run in parallel, so the install happens under a file lock.
/// </summary>
public static class EmulatorEnvironment
{
    private static readonly Lazy<string?> NodeVersion = new(ProbeNode);
    private static readonly object InstallGate = new();

    /// <summary>tests/emulators in this checkout.</summary>
    public static string Directory => Path.Combine(SharedCorpus.RepositoryRoot, "tests", "emulators");

    /// <summary>"v20.20.2", or null when `node` is not on PATH.</summary>
    public static string? Node => NodeVersion.Value;

    /// <summary>
    /// Skips the calling [SkippableFact] when node is missing, except under CI (CI=true), where a missing
    /// node is a broken machine and must fail loudly rather than quietly skip every emulator test.
    /// </summary>
    public static void RequireNode()
    {
        if (Node is not null) return;
        const string message = "node is not installed (or not on PATH): tests that talk to kinesalite/dynalite need Node.js 20+.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException(message + " CI=true, so this is a failure, not a skip.");
        Skip.If(true, message);
    }

    /// <summary>Runs `npm ci` in tests/emulators once if its node_modules is missing or incomplete.</summary>
    public static void EnsureInstalled()
    {
        if (IsInstalled()) return;
        lock (InstallGate)
        {
            using var fileLock = AcquireFileLock(Path.Combine(Directory, ".install.lock"), TimeSpan.FromMinutes(5));
            if (IsInstalled()) return; // another test process installed it while we waited
            Run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], TimeSpan.FromMinutes(5));
            if (!IsInstalled())
                throw new InvalidOperationException($"`npm ci` in {Directory} finished but node_modules/.package-lock.json is still missing.");
        }
    }

    // npm writes node_modules/.package-lock.json last, so its presence means a finished install.
    private static bool IsInstalled() => File.Exists(Path.Combine(Directory, "node_modules", ".package-lock.json"));

    private static FileStream AcquireFileLock(string path, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (waited.Elapsed < timeout)
            {
                Thread.Sleep(200); // another process holds the install lock
            }
        }
    }

    private static void Run(string fileName, string[] arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"`{fileName} {string.Join(' ', arguments)}` in {Directory} took longer than {timeout.TotalMinutes:0} min.");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"`{fileName} {string.Join(' ', arguments)}` in {Directory} failed ({process.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
    }

    private static string? ProbeNode()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("node", "--version")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null) return null;
            var version = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 ? version : null;
        }
        catch (Win32Exception)
        {
            return null; // not on PATH
        }
    }
}
