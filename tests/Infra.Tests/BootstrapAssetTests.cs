using System.Diagnostics;
using System.Runtime.InteropServices;
using Pipeline.Infra.Settings;
using Pipeline.TestSupport;

namespace Pipeline.Infra.Tests;

/// <summary>
/// The function's asset: by default the folder scripts/publish-lambda.sh writes, built for the architecture the stack
/// runs, which synthesis reads from the bootstrap's ELF header. Each test lays out its own repository-shaped folder
/// (infra/ and artifacts/lambda/) so that a bootstrap built in the real checkout changes nothing here.
/// </summary>
public sealed class BootstrapAssetTests : IDisposable
{
    private static readonly string Root = SharedCorpus.RepositoryRoot;
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("bootstrap-asset-");

    public void Dispose() => _root.Delete(recursive: true);

    private string Infra => Directory.CreateDirectory(Path.Combine(_root.FullName, "infra")).FullName;
    private string DefaultAsset => Path.Combine(_root.FullName, "artifacts", "lambda");

    private static Dictionary<string, object?> Context(params (string Key, object Value)[] extra)
    {
        var context = new Dictionary<string, object?>
        {
            ["orgId"] = "o-abc123def456",
            ["securityAccountId"] = "111111111111",
            ["managementAccountId"] = "222222222222",
            ["centralRegion"] = "eu-west-1",
            ["memberOrganizationalUnitIds"] = "ou-ab12-cdefgh34",
            ["memberRegions"] = "eu-west-1",
        };
        foreach (var (key, value) in extra) context[key] = value;
        return context;
    }

    private PipelineSettings Read(Dictionary<string, object?> context) => SettingsReader.Read(key => context.GetValueOrDefault(key), Infra);

    private string AssetProblem(Dictionary<string, object?> context) =>
        Assert.Single(Assert.Throws<SettingsException>(() => Read(context)).Problems, p => p.StartsWith("bootstrapAsset:", StringComparison.Ordinal));

    /// <summary>The first bytes of a 64-bit little-endian ELF executable for <paramref name="machine"/>, as a linker writes them.</summary>
    private static byte[] ElfHeader(ushort machine, byte elfClass = 2)
    {
        var header = new byte[64];
        header[0] = 0x7F; header[1] = (byte)'E'; header[2] = (byte)'L'; header[3] = (byte)'F';
        header[4] = elfClass; header[5] = 1; header[6] = 1;
        header[16] = 2; // ET_EXEC
        header[18] = (byte)machine; header[19] = (byte)(machine >> 8);
        return header;
    }

    private void WriteBootstrap(byte[] content)
    {
        Directory.CreateDirectory(DefaultAsset);
        File.WriteAllBytes(Path.Combine(DefaultAsset, "bootstrap"), content);
    }

    [Fact]
    public void Without_the_setting_the_asset_is_the_folder_the_publish_script_writes_built_for_arm64()
    {
        WriteBootstrap(ElfHeader(0xB7));
        var settings = Read(Context());
        Assert.Equal(DefaultAsset, settings.BootstrapAssetDirectory);
        Assert.Equal(FunctionArchitecture.Arm64, settings.FunctionArchitecture);
        Assert.False(settings.UsesPlaceholderAsset);
    }

    [Fact]
    public void A_missing_default_asset_says_which_command_builds_it_and_how_to_synthesize_without_it()
    {
        var problem = AssetProblem(Context());
        Assert.Contains(DefaultAsset + " (the default) has no file named bootstrap", problem, StringComparison.Ordinal);
        Assert.Contains("scripts/publish-lambda.sh arm64.", problem, StringComparison.Ordinal);
        Assert.Contains("-c bootstrapAsset=placeholder-asset", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_x86_64_bootstrap_on_the_default_arm64_function_is_refused_naming_both_and_the_fix()
    {
        WriteBootstrap(ElfHeader(0x3E));
        var problem = AssetProblem(Context());
        Assert.Contains("is built for x86_64 but functionArchitecture is arm64 (the default)", problem, StringComparison.Ordinal);
        Assert.Contains("scripts/publish-lambda.sh arm64", problem, StringComparison.Ordinal);
        Assert.Contains("-c functionArchitecture=x86_64", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_arm64_bootstrap_on_an_x86_64_function_is_refused_and_a_given_folder_is_named_in_the_fix()
    {
        WriteBootstrap(ElfHeader(0xB7));
        var problem = AssetProblem(Context(("functionArchitecture", "x86_64"), ("bootstrapAsset", "../artifacts/lambda")));
        Assert.Contains("is built for arm64 but functionArchitecture is x86_64:", problem, StringComparison.Ordinal);
        Assert.Contains($"scripts/publish-lambda.sh x86_64 --out {DefaultAsset}", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_matching_x86_64_bootstrap_is_accepted()
    {
        WriteBootstrap(ElfHeader(0x3E));
        Assert.Equal(FunctionArchitecture.X86_64, Read(Context(("functionArchitecture", "x86_64"))).FunctionArchitecture);
    }

    [Theory]
    [InlineData("#!/bin/sh\necho hello\n", "is a script, not the NativeAOT executable")]
    [InlineData("MZ\u0090\0 a Windows program", "is not an ELF executable")]
    [InlineData("", "is not an ELF executable")]
    public void A_bootstrap_that_is_not_an_ELF_executable_is_refused_saying_what_it_is(string content, string expected)
    {
        WriteBootstrap(System.Text.Encoding.Latin1.GetBytes(content));
        Assert.Contains(expected, AssetProblem(Context()), StringComparison.Ordinal);
    }

    [Fact]
    public void A_32_bit_or_foreign_ELF_is_refused()
    {
        WriteBootstrap(ElfHeader(0x3E, elfClass: 1));
        Assert.Contains("not a 64-bit little-endian executable", AssetProblem(Context()), StringComparison.Ordinal);
        WriteBootstrap(ElfHeader(0xF3)); // RISC-V
        Assert.Contains("machine 0xF3, neither x86_64 (0x3E) nor arm64 (0xB7)", AssetProblem(Context()), StringComparison.Ordinal);
    }

    [Fact]
    public void The_placeholder_is_used_only_when_named_and_is_a_script_either_architecture_may_carry()
    {
        var settings = SettingsReader.Read(key => Context(("bootstrapAsset", "placeholder-asset")).GetValueOrDefault(key), Path.Combine(Root, "infra"));
        Assert.True(settings.UsesPlaceholderAsset);
        Assert.Equal(Path.Combine(Root, "infra", "placeholder-asset"), settings.BootstrapAssetDirectory);
        Assert.Equal("is a script, not the NativeAOT executable scripts/publish-lambda.sh builds",
            BootstrapExecutable.Read(Path.Combine(settings.BootstrapAssetDirectory, "bootstrap")).Problem);
    }

    [Fact]
    public void The_architecture_of_a_real_executable_is_read_from_its_header()
    {
        // The test host itself: a native ELF executable of this machine's architecture.
        var expected = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => FunctionArchitecture.X86_64,
            Architecture.Arm64 => FunctionArchitecture.Arm64,
            var other => throw new InvalidOperationException($"no Lambda architecture for {other}"),
        };
        var (architecture, problem) = BootstrapExecutable.Read(Environment.ProcessPath!);
        Assert.Null(problem);
        Assert.Equal(expected, architecture);
    }

    [Fact]
    public void The_publish_script_by_default_builds_the_stacks_architecture_into_the_folder_the_stack_reads()
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "scripts/publish-lambda.sh", "--dry-run" }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);

        // What the stack does with infra/cdk.json as committed: its architecture, and the default asset folder.
        var committed = SettingsReader.Read(key => key switch
        {
            "functionArchitecture" => CdkJsonContext(key),
            "bootstrapAsset" => SettingsReader.PlaceholderAssetFolder,
            _ => Context().GetValueOrDefault(key),
        }, Path.Combine(Root, "infra"));
        var expectedFolder = Path.GetFullPath(Path.Combine(Root, "infra", SettingsReader.DefaultAssetFolder));
        Assert.Equal($"{BootstrapExecutable.Name(committed.FunctionArchitecture)} {expectedFolder}", output);
    }

    private static object? CdkJsonContext(string key)
    {
        using var cdkJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "infra", "cdk.json")));
        return cdkJson.RootElement.GetProperty("context").TryGetProperty(key, out var value) ? value.GetString() : null;
    }
}
