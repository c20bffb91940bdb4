using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Fuzzing;

/// <summary>
/// Mutated single events straight into <see cref="EventParser.TryParse"/>: it answers (an event, or a reason)
/// and never throws; what it accepts is usable by every later stage (mute patterns, names, dedupe ids).
/// </summary>
public sealed class ParserFuzzTests
{
    [Fact]
    public void Mutated_demo_events_parse_or_are_rejected_with_a_reason()
    {
        var seeds = FuzzSeeds.Demo;
        FuzzRunner.Run("parser-demo", 3000, rng => Event(new Mutator(rng), seeds), input => Check(input.Bytes));
    }

    [SkippableFact]
    public void Mutated_corpus_events_parse_or_are_rejected_with_a_reason()
    {
        var seeds = FuzzSeeds.Corpus;
        FuzzRunner.Run("parser-corpus", 3000, rng => Event(new Mutator(rng), seeds), input => Check(input.Bytes));
    }

    private static FuzzInput Event(Mutator mutator, IReadOnlyList<byte[]> seeds)
    {
        var log = new List<string>();
        var bytes = mutator.MutateEvent(mutator.Pick(seeds), log);
        return new FuzzInput(bytes, string.Join("; ", log));
    }

    internal static void Check(byte[] data)
    {
        if (!EventParser.TryParse(data, out var parsed, out var reason))
        {
            Assert.Null(parsed);
            Assert.False(string.IsNullOrWhiteSpace(reason));
            return;
        }
        using (parsed)
        {
            Assert.Null(reason);
            var evt = parsed!.Event;
            Assert.True(EventParser.IsAccountId(evt.Account));
            Assert.False(string.IsNullOrEmpty(evt.Source));
            Assert.False(string.IsNullOrEmpty(evt.DetailType));
            Assert.NotNull(evt.DedupeId);
            Assert.NotNull(evt.ActionName);
            _ = evt.Principal;
            _ = evt.Region;
            _ = FuzzTargets.DemoRules.FirstMatch(parsed.Envelope);
            var rules = FuzzTargets.BroadRuleSet;
            Assert.Equal(rules.MatchesWithoutIndex(parsed.Envelope), rules.Matches(parsed.Envelope));
            _ = Pipeline.Enricher.Dedupe.Deduplicator.Key(evt.Account, evt.DedupeId);
        }
    }
}
