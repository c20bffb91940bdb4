using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Docs;

/// <summary>
/// The build as the README's two commands make it: the program the docs run (`dotnet run --project src/Pipeline`, which
/// builds Debug, as `dotnet test` does) is optimized, and only this repository's src/ is production code, wherever it is
/// checked out.
/// </summary>
public sealed partial class BuildSettingsTests : IDisposable
{
    private static readonly string Root = SharedCorpus.RepositoryRoot;
    private readonly string _dir = Directory.CreateTempSubdirectory("build-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The assembly of each project under src/ (`pipeline` and everything it is built from).</summary>
    public static TheoryData<string> ProgramAssemblies()
    {
        var names = Directory.GetFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(project => AssemblyName().Match(File.ReadAllText(project)) is { Success: true } m ? m.Groups[1].Value : Path.GetFileNameWithoutExtension(project))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(names.Count >= 6, $"src/ has {names.Count} projects: the search for them is broken");
        return [.. names];
    }

    [Theory]
    [MemberData(nameof(ProgramAssemblies))]
    public void Each_assembly_of_the_program_is_optimized_in_the_configuration_the_docs_build(string name)
    {
        // Loaded from this test's output: the Debug build of `dotnet test`, as `dotnet run` makes it.
        var debuggable = Assembly.Load(name).GetCustomAttribute<DebuggableAttribute>();

        Assert.False(debuggable?.IsJITOptimizerDisabled ?? false,
            $"{name} was compiled with optimizations off (Optimize=false), so the JIT leaves its code unoptimized: a replay takes twice as long");
    }

    [Fact]
    public async Task A_checkout_in_a_folder_named_src_builds_its_tests_as_tests_and_its_src_as_production_code()
    {
        // ~/src/<repository>: the repository's own settings, one test project and one production project.
        var checkout = Path.Combine(_dir, "src", "org-digests");
        Directory.CreateDirectory(checkout);
        File.Copy(Path.Combine(Root, "Directory.Build.props"), Path.Combine(checkout, "Directory.Build.props"));
        var test = Project(checkout, "tests/Some.Tests");
        var production = Project(checkout, "src/Enricher");

        var testSettings = await SettingsAsync(test);
        var productionSettings = await SettingsAsync(production);

        // Production code would ban the tests' clock and need them AOT-compatible: they would not build.
        Assert.NotEqual("true", testSettings.IsAotCompatible);
        Assert.Equal("false", testSettings.Optimize);
        Assert.Equal("true", productionSettings.IsAotCompatible);
        Assert.Equal("true", productionSettings.Optimize);
    }

    private static string Project(string checkout, string folder)
    {
        var dir = Path.Combine(checkout, folder);
        Directory.CreateDirectory(dir);
        var project = Path.Combine(dir, Path.GetFileName(folder) + ".csproj");
        File.WriteAllText(project, """<Project Sdk="Microsoft.NET.Sdk"></Project>""");
        return project;
    }

    private async Task<(string IsAotCompatible, string Optimize)> SettingsAsync(string project)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "msbuild", project, "-getProperty:IsAotCompatible", "-getProperty:Optimize" }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // An evaluation takes seconds; a hung one fails the test instead of holding up the whole run.
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet msbuild {project} did not finish within 3 minutes");
        }
        Assert.True(process.ExitCode == 0, $"dotnet msbuild {project}: exit {process.ExitCode}\n{await stdout}{await stderr}");
        using var json = JsonDocument.Parse(await stdout);
        var properties = json.RootElement.GetProperty("Properties");
        return (properties.GetProperty("IsAotCompatible").GetString()!, properties.GetProperty("Optimize").GetString()!);
    }

    [GeneratedRegex(@"<AssemblyName>([^<]+)</AssemblyName>")]
    private static partial Regex AssemblyName();
}
