using System.Reactive.Linq;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Pipeline;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;

namespace Pipeline.Cli.Hosting;

internal enum OutputFormat { Text, Json }

/// <summary>Everything one `pipeline digest` run needs, validated before the first record is read.</summary>
internal sealed record FileDigestOptions
{
    public required BurstWindowOptions Window { get; init; }
    public required EnricherOptions Enricher { get; init; }
    public OutputFormat Format { get; init; } = OutputFormat.Text;
    /// <summary>How many rejected records are described one by one on stderr before the rest are only counted.</summary>
    public int MaxRejectReports { get; init; } = 1000;
}

/// <summary>
/// The file host: reads records, drives the Enricher → Aggregator pipeline, writes digests as they close and the
/// summary at the end. All the logic is in the core; this class only wires I/O to it.
/// </summary>
internal sealed class FileDigestHost(FileDigestOptions options, IAccountDirectory directory, IMuteRules? mutes, TextWriter stdout, TextWriter stderr)
{
    public async Task<RunSummary> RunAsync(IEnumerable<RawRecord> records, CancellationToken cancellationToken)
    {
        var enricher = new Enricher.Enrichment.Enricher(options.Enricher, directory, mutes);
        var aggregator = new BurstAggregator(options.Window);
        var tally = new RunTally();
        int reported = 0;
        using var json = options.Format == OutputFormat.Json ? new MemoryStream() : null;

        var outcomes = enricher.Enrich(records.ToObservable())
            .Do(outcome =>
            {
                if (outcome is EnrichmentOutcome.Rejected r && reported++ < options.MaxRejectReports)
                    stderr.WriteLine($"rejected {r.Origin}: {r.Reason}");
            });

        await outcomes.ToDigests(aggregator, tally).ForEachAsync(digest => Write(digest, json), cancellationToken).ConfigureAwait(false);

        if (reported > options.MaxRejectReports)
            stderr.WriteLine($"… {reported - options.MaxRejectReports} more rejected records not listed (see the summary's counts).");

        var summary = tally.Summary();
        if (json is not null)
        {
            DigestJson.WriteSummary(json, summary);
            Flush(json);
        }
        else
        {
            stdout.WriteLine(TextDigestRenderer.RenderSummary(summary).TrimEnd());
        }
        if (directory.Failures > 0)
            stderr.WriteLine($"warning: {directory.Failures} account-name lookups failed; those events show their account id only.");
        if (enricher.Deduplicator.EvictedEarly > 0)
            stderr.WriteLine($"warning: the dedupe memory reached its cap and forgot {enricher.Deduplicator.EvictedEarly} ids early; raise --dedupe-max-ids if duplicates slip through.");
        return summary;
    }

    private void Write(Digest digest, MemoryStream? json)
    {
        if (json is null)
        {
            stdout.WriteLine(TextDigestRenderer.Render(digest));
            return;
        }
        DigestJson.WriteDigest(json, digest);
        Flush(json);
    }

    private void Flush(MemoryStream json)
    {
        stdout.Write(System.Text.Encoding.UTF8.GetString(json.GetBuffer(), 0, (int)json.Length));
        stdout.Flush();
        json.SetLength(0);
    }
}
