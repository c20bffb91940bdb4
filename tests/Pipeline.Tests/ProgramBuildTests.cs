using System.Diagnostics;
using System.Reflection;

namespace Pipeline.Tests;

/// <summary>
/// The program as the docs run it (`dotnet run --project src/Pipeline`, which builds Debug, as `dotnet test` does) is
/// compiled to optimized code. Unoptimized, a replay of 1M events took more than twice as long (docs/performance.md,
/// "Speed, fifteenth session").
/// </summary>
public sealed class ProgramBuildTests
{
    /// <summary>The assemblies of `pipeline` built from this repository (the Lambda's handler too: `pipeline run` drives it).</summary>
    public static TheoryData<string> ProgramAssemblies() =>
        ["pipeline", "Pipeline.Enricher", "Pipeline.Aggregator", "Pipeline.Slack", "Pipeline.Kinesis", "bootstrap"];

    [Theory]
    [MemberData(nameof(ProgramAssemblies))]
    public void Each_assembly_of_the_program_is_optimized_in_the_configuration_the_docs_build(string name)
    {
        var assembly = Assembly.Load(name);
        var debuggable = assembly.GetCustomAttribute<DebuggableAttribute>();

        Assert.False(debuggable?.IsJITOptimizerDisabled ?? false,
            $"{name} was compiled with optimizations off (Optimize=false), so the JIT leaves its code unoptimized");
    }
}
