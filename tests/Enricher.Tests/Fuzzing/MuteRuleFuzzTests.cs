using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Fuzzing;

/// <summary>
/// Mutated rule files into <see cref="MuteRuleSet.Parse(ReadOnlySpan{byte}, string)"/>: a file either loads or
/// fails with a <see cref="MuteRuleException"/> (the one error `--mute` turns into a message); nothing else. A file
/// that loads can match events, and its index agrees with evaluating every rule.
/// </summary>
public sealed class MuteRuleFuzzTests
{
    [Fact]
    public void Mutated_rule_files_load_or_fail_with_a_mute_rule_error()
    {
        var files = FuzzSeeds.MuteRuleFiles();
        FuzzRunner.Run("mute-rules", 1500, rng =>
        {
            var mutator = new Mutator(rng);
            var log = new List<string>();
            var seed = mutator.Pick(files);
            var bytes = mutator.Chance(0.7) ? mutator.MutateJson(seed, log) : mutator.MutateBytes(seed, log);
            return new FuzzInput(bytes, string.Join("; ", log));
        }, input => Check(input.Bytes));
    }

    private static readonly Lazy<List<ParsedEvent>> Events = new(() =>
    {
        var events = new List<ParsedEvent>();
        foreach (var line in FuzzSeeds.Demo.Take(40))
            if (EventParser.TryParse(line, out var parsed, out _)) events.Add(parsed!);
        return events;
    });

    internal static void Check(byte[] file)
    {
        MuteRuleSet rules;
        try
        {
            rules = MuteRuleSet.Parse(file, "fuzz.json");
        }
        catch (MuteRuleException e)
        {
            Assert.StartsWith("fuzz.json: ", e.Message, StringComparison.Ordinal);
            return;
        }
        foreach (var evt in Events.Value)
        {
            lock (evt) Assert.Equal(rules.MatchesWithoutIndex(evt.Envelope), rules.Matches(evt.Envelope));
        }
    }
}
