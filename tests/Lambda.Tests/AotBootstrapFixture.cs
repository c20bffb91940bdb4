using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Pipeline.TestSupport;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The `bootstrap` exactly as Lambda runs it: published NativeAOT by scripts/publish-lambda.sh, once per test run,
/// and reused across runs while the sources are unchanged (artifacts/lambda-test/&lt;hash of src&gt;/bootstrap).
/// A publish that fails fails the tests loudly with its output: it is never a skip, because "the AOT build
/// broke" is exactly what these tests exist to catch.
/// </summary>
public sealed class AotBootstrapFixture
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);

    // Once per test process: several test classes use this binary (BootstrapProcessTests, Arm64BootstrapTests), each
    // with its own fixture instance, and two publishes into the same folder at once would trip over each other.
    private static readonly Lazy<(string Path, bool Published, TimeSpan Time)> HostBootstrap =
        new(() => Publish(RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x86_64", "lambda-test", PublishTimeout));

    public AotBootstrapFixture() => (BootstrapPath, Published, PublishTime) = HostBootstrap.Value;

    public string BootstrapPath { get; }

    /// <summary>True when this run published it (false: reused from an earlier run with the same sources).</summary>
    public bool Published { get; }

    public TimeSpan PublishTime { get; }

    /// <summary>
    /// Publishes the bootstrap for <paramref name="arch"/> with scripts/publish-lambda.sh into
    /// artifacts/&lt;<paramref name="cacheName"/>&gt;/&lt;hash of the sources&gt;/, unless it is already there.
    /// </summary>
    internal static (string Path, bool Published, TimeSpan Time) Publish(string arch, string cacheName, TimeSpan timeout)
    {
        var root = SharedCorpus.RepositoryRoot;
        var hash = SourceHash(root);
        var folder = Path.Combine(root, "artifacts", cacheName, hash);
        var bootstrap = Path.Combine(folder, "bootstrap");
        if (File.Exists(bootstrap)) return (bootstrap, false, TimeSpan.Zero);

        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        info.ArgumentList.Add(Path.Combine(root, "scripts", "publish-lambda.sh"));
        info.ArgumentList.Add(arch);
        info.ArgumentList.Add("--out");
        info.ArgumentList.Add(folder + ".partial");
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"publishing the NativeAOT bootstrap ({arch}) took over {timeout.TotalMinutes} minutes");
        }
        if (process.ExitCode != 0 || !File.Exists(Path.Combine(folder + ".partial", "bootstrap")))
            throw new InvalidOperationException($"publishing the NativeAOT bootstrap ({arch}) failed (exit {process.ExitCode}); a trimming/AOT warning is an error:\n{Tail(stderr.Result)}\n{Tail(stdout.Result)}");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.Move(folder + ".partial", folder);
        // Binaries of older sources are never used again.
        foreach (var stale in Directory.EnumerateDirectories(Path.GetDirectoryName(folder)!).Where(d => d != folder))
            Directory.Delete(stale, recursive: true);
        return (bootstrap, true, clock.Elapsed);
    }

    /// <summary>Everything that goes into the binary: sources, project files, build settings, embedded samples, the script.</summary>
    private static string SourceHash(string root)
    {
        var files = Directory.EnumerateFiles(Path.Combine(root, "src"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "samples"), "*", SearchOption.AllDirectories))
            .Concat(new[] { "Directory.Build.props", "Directory.Packages.props", "scripts/publish-lambda.sh" }.Select(f => Path.Combine(root, f)))
            .Where(File.Exists)
            .Order(StringComparer.Ordinal);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(root, file) + "\n"));
            sha.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : "…" + text[^4000..];
}
