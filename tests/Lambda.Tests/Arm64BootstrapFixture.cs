using System.Diagnostics;
using System.Runtime.InteropServices;
using Pipeline.TestSupport;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The arm64 `bootstrap` (Lambda's Graviton architecture), cross-compiled by scripts/publish-lambda.sh once per test
/// run (cached in artifacts/lambda-test-arm64/&lt;hash of src&gt;/ like the x64 one) and started under
/// qemu-user, against Debian's arm64 OpenSSL 3 (what .NET's crypto, and so every signed AWS request, loads).
/// <para>
/// What it needs is installed by tests/test.sh (which sets ARM64_EMULATION=required). There, or under CI=true, a
/// missing piece is a test failure naming it: a green run must not hide a broken install step. A bare `dotnet test`
/// on a machine without the cross toolchain skips instead, saying what to install.
/// </para>
/// </summary>
public sealed class Arm64BootstrapFixture
{
    // Cross-compiling takes ~3 min alone on 2 cores, more while the rest of the suite runs beside it.
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Where qemu finds the aarch64 dynamic loader and glibc (libc6-dev-arm64-cross).</summary>
    public const string CrossPrefix = "/usr/aarch64-linux-gnu";

    private readonly Lazy<(string Path, bool Published, TimeSpan Time)>? _bootstrap;

    public Arm64BootstrapFixture()
    {
        LibSslDirectory = Environment.GetEnvironmentVariable("ARM64_LIBSSL_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(SharedCorpus.RepositoryRoot, "artifacts", "arm64-libssl", "usr", "lib", "aarch64-linux-gnu");
        Qemu = FindOnPath(RuntimeInformation.OSArchitecture == Architecture.Arm64 ? null : "qemu-aarch64-static");
        Missing = FindMissing();
        if (Missing is not null) return;
        // Started now, while the x64 fixture publishes and the other test classes run: the test awaits it.
        var publishing = Task.Run(() => AotBootstrapFixture.Publish("arm64", "lambda-test-arm64", PublishTimeout));
        _bootstrap = new(() => publishing.GetAwaiter().GetResult());
    }

    /// <summary>The folder holding the arm64 libssl.so.3 and libcrypto.so.3 (Debian's libssl3:arm64, unpacked).</summary>
    public string LibSslDirectory { get; }

    /// <summary>qemu-aarch64-static's path; null on an arm64 host, which runs the binary itself.</summary>
    public string? Qemu { get; }

    /// <summary>What is missing to run the arm64 bootstrap, or null.</summary>
    public string? Missing { get; }

    /// <summary>The published arm64 bootstrap; skips or fails (see the class summary) when something is missing.</summary>
    public string BootstrapPath
    {
        get
        {
            Require();
            return _bootstrap!.Value.Path;
        }
    }

    /// <summary>True when this run cross-compiled it (false: reused, the sources being unchanged).</summary>
    public bool Published => _bootstrap?.Value.Published ?? false;

    public TimeSpan PublishTime => _bootstrap?.Value.Time ?? TimeSpan.Zero;

    /// <summary>How to start the binary: qemu with the binary as its argument, or the binary itself on arm64.</summary>
    public ProcessStartInfo StartInfo()
    {
        var path = BootstrapPath;
        var info = Qemu is null ? BootstrapProcess.StartInfo(path) : BootstrapProcess.StartInfo(Qemu, path);
        // The guest's loader and glibc come from the cross prefix; libssl from the unpacked arm64 package. Lambda's
        // provided.al2023 has both itself (glibc 2.34, OpenSSL 3): docs/lambda.md.
        if (Qemu is not null)
        {
            info.Environment["QEMU_LD_PREFIX"] = CrossPrefix;
            info.Environment["LD_LIBRARY_PATH"] = LibSslDirectory;
        }
        return info;
    }

    /// <summary>Skips (a developer's machine without the toolchain) or fails (tests/test.sh, CI) when something is missing.</summary>
    public void Require()
    {
        if (Missing is null) return;
        var required = Environment.GetEnvironmentVariable("ARM64_EMULATION") == "required"
            || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (required)
            throw new InvalidOperationException($"the arm64 bootstrap cannot run under emulation: {Missing}. tests/test.sh installs it (as root, with apt reachable); this is a failure, not a skip.");
        Skip.If(true, $"the arm64 bootstrap cannot run under emulation here: {Missing}. Run `bash tests/test.sh` (as root), which installs it.");
    }

    private string? FindMissing()
    {
        var problems = new List<string>();
        if (Environment.GetEnvironmentVariable("ARM64_SETUP_ERROR") is { Length: > 0 } setup) problems.Add($"tests/test.sh could not install it ({setup})");
        if (RuntimeInformation.OSArchitecture != Architecture.Arm64)
        {
            if (Qemu is null) problems.Add("qemu-aarch64-static is not on PATH (Debian: apt-get install qemu-user-static)");
            if (!File.Exists(Path.Combine(CrossPrefix, "lib", "ld-linux-aarch64.so.1")))
                problems.Add($"the aarch64 glibc is not in {CrossPrefix} (apt-get install libc6-dev-arm64-cross)");
            foreach (var (tool, package) in new[] { ("clang", "clang"), ("ld.lld", "lld"), ("aarch64-linux-gnu-objcopy", "binutils-aarch64-linux-gnu") })
                if (FindOnPath(tool) is null) problems.Add($"{tool} is not on PATH, needed to cross-compile (apt-get install {package})");
            if (!File.Exists(Path.Combine(LibSslDirectory, "libssl.so.3")))
                problems.Add($"no arm64 libssl.so.3 in {LibSslDirectory} (Debian's libssl3:arm64 unpacked with dpkg -x; set ARM64_LIBSSL_DIR to use another folder)");
        }
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    private static string? FindOnPath(string? name) =>
        name is null ? null
        : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
