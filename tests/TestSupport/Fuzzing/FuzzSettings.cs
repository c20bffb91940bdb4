using System.Globalization;

namespace Pipeline.TestSupport.Fuzzing;

/// <summary>
/// How much to fuzz. The suite runs a fixed seed and a few thousand cases so it is deterministic and fast;
/// <c>PIPELINE_FUZZ_CASES=200000 PIPELINE_FUZZ_SEED=7 dotnet test …</c> runs longer, or another seed, locally.
/// </summary>
public static class FuzzSettings
{
    public const int DefaultSeed = 20261125;

    /// <summary>The base seed: <c>PIPELINE_FUZZ_SEED</c>, else <see cref="DefaultSeed"/>.</summary>
    public static int Seed => ReadInt("PIPELINE_FUZZ_SEED") ?? DefaultSeed;

    /// <summary>Cases per fuzz target: <c>PIPELINE_FUZZ_CASES</c> when set, else the target's default.</summary>
    public static int Cases(int defaultCases) => ReadInt("PIPELINE_FUZZ_CASES") ?? defaultCases;

    /// <summary>The seed of one case, so a failure can be replayed alone from (base seed, target, index).</summary>
    public static int CaseSeed(int baseSeed, string target, int index)
    {
        unchecked
        {
            int h = baseSeed;
            foreach (var c in target) h = h * 31 + c;
            return h * 1_000_003 + index;
        }
    }

    private static int? ReadInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
}
