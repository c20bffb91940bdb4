using System.Reactive.Linq;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Corpus;

/// <summary>The team's corpus of real events: every file must parse without a crash, and every reject must be one we can explain.</summary>
public sealed class CorpusTests
{
    /// <summary>The reasons a real-world corpus event may legitimately be rejected. Anything else is a parser bug.</summary>
    private static readonly string[] ExplainedReasons =
    [
        "has no account",         // hand-made test records without recipientAccountId or userIdentity.accountId
        "is not 12 digits",       // sanitised ids such as "123456789"
        "has no time",            // unit-test fixtures that omit eventTime
        "is not a timestamp",
        "not an EventBridge event, a CloudTrail record or a finding",
        "event has no account",
    ];

    [SkippableFact]
    public async Task Every_corpus_file_parses_and_its_rejects_are_explained()
    {
        var corpus = SharedCorpus.RequireDirectory();
        var files = Directory.GetFiles(corpus, "*.jsonl").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        var unexplained = new List<string>();
        long accepted = 0;
        foreach (var file in files)
        {
            var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions(), FileAccountDirectory.Empty);
            var outcomes = await enricher.EnrichAsync([.. RecordReader.ReadFile(file)], default);
            var lines = File.ReadLines(file).Count(l => !string.IsNullOrWhiteSpace(l));
            Assert.True(outcomes.Count >= lines, $"{Path.GetFileName(file)}: {outcomes.Count} outcomes for {lines} lines");
            // Duplicates count as read: the corpus reuses eventIDs across test fixtures, and dropping them is dedupe doing its job.
            accepted += outcomes.Count(o => o is EnrichmentOutcome.Accepted or EnrichmentOutcome.Duplicate);
            foreach (var rejected in outcomes.OfType<EnrichmentOutcome.Rejected>())
                if (!ExplainedReasons.Any(r => rejected.Reason.Contains(r, StringComparison.Ordinal)))
                    unexplained.Add($"{Path.GetFileName(rejected.Origin.Source)}:{rejected.Origin.Line} {rejected.Reason}");
        }
        Assert.True(unexplained.Count == 0, "unexplained rejects:\n" + string.Join('\n', unexplained.Take(20)));
        Assert.True(accepted > 950, $"only {accepted} corpus events read as events");
    }

    [SkippableFact]
    public async Task Without_mute_rules_the_corpus_reads_as_it_does_with_rules_that_mute_nothing()
    {
        // Without rules the event is read alone (no envelope is kept for them): the outcomes must be the same.
        var corpus = SharedCorpus.RequireDirectory();
        var records = Directory.GetFiles(corpus, "*.jsonl").Order(StringComparer.Ordinal).SelectMany(f => RecordReader.ReadFile(f)).ToList();
        var nothing = MuteRuleSet.Parse("""{"rules":[{"name":"nothing","pattern":{"source":["never.a.source"]}}]}""", "test");

        var without = await new Enricher.Enrichment.Enricher(new EnricherOptions(), FileAccountDirectory.Empty).EnrichAsync(records, default);
        var with = await new Enricher.Enrichment.Enricher(new EnricherOptions(), FileAccountDirectory.Empty, nothing).EnrichAsync(records, default);

        Assert.Equal(with.Count, without.Count);
        Assert.Contains(without, o => o is EnrichmentOutcome.Accepted);
        for (int i = 0; i < with.Count; i++)
        {
            Assert.Equal(Comparable(with[i]), Comparable(without[i]));
            Assert.Equal(Ranges(with[i]), Ranges(without[i]));
        }

        // Records compare lists by reference: the ingress ranges are compared by content, apart.
        static EnrichmentOutcome Comparable(EnrichmentOutcome o) => o is EnrichmentOutcome.Accepted { Event.CloudTrail: { } ct } a
            ? a with { Event = a.Event with { CloudTrail = ct with { Facts = ct.Facts with { IngressRanges = [] } } } }
            : o;
        static string[] Ranges(EnrichmentOutcome o) => o is EnrichmentOutcome.Accepted { Event.CloudTrail: { } ct } ? [.. ct.Facts.IngressRanges] : [];
    }
}
