using System.Text;
using Xunit.Sdk;

namespace Pipeline.TestSupport.Fuzzing;

/// <summary>One generated input and the mutations that made it (printed when a check fails).</summary>
public sealed record FuzzInput(byte[] Bytes, string Description);

/// <summary>
/// Runs a fuzz target: <c>generate</c> builds each case from its own seeded <see cref="Random"/>, <c>check</c>
/// asserts what must hold for it. Each case runs under a time limit (a hang is a failure, not a stuck suite).
/// A failure names the target, seed and case index and saves the input to a file, so it can be replayed alone
/// and kept as a named reproducer test.
/// </summary>
public static class FuzzRunner
{
    /// <summary>Generous: a case takes milliseconds; only a hang (or a pathological slowdown) gets near it.</summary>
    public static readonly TimeSpan CaseTimeLimit = TimeSpan.FromSeconds(30);

    public static int Run(string target, int defaultCases, Func<Random, FuzzInput> generate, Action<FuzzInput> check)
    {
        int baseSeed = FuzzSettings.Seed;
        int cases = FuzzSettings.Cases(defaultCases);
        var failures = new List<string>();
        for (int index = 0; index < cases && failures.Count < 5; index++)
        {
            int seed = FuzzSettings.CaseSeed(baseSeed, target, index);
            var input = generate(new Random(seed));
            var run = Task.Run(() => check(input));
            string? problem = null;
            try
            {
                if (!run.Wait(CaseTimeLimit)) problem = $"did not finish within {CaseTimeLimit.TotalSeconds}s (hang?)";
            }
            catch (AggregateException e)
            {
                problem = e.InnerException!.ToString();
            }
            if (problem is null) continue;
            var saved = Path.Combine(Path.GetTempPath(), $"fuzz-{target}-{baseSeed}-{index}.bin");
            File.WriteAllBytes(saved, input.Bytes);
            failures.Add($"{target} case {index} (PIPELINE_FUZZ_SEED={baseSeed}, case seed {seed}): {input.Description}\n" +
                         $"  input ({input.Bytes.Length} bytes) saved to {saved}; starts: {Preview(input.Bytes)}\n  {problem}");
            if (problem.StartsWith("did not finish", StringComparison.Ordinal)) break; // the stuck task still runs
        }
        if (failures.Count > 0)
            throw new XunitException($"{failures.Count} fuzz failure(s):\n" + string.Join("\n\n", failures));
        return cases;
    }

    private static string Preview(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 300));
        var sb = new StringBuilder();
        foreach (var c in text) sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c);
        return sb.ToString();
    }
}
