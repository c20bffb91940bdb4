using System.Reactive.Linq;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Pipeline;
using Pipeline.Aggregator.Rendering;
using Pipeline.Aggregator.Rendering.Slack;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Slack.Delivery;

namespace Pipeline.Cli.Hosting;

internal enum OutputFormat { Text, Json, Slack }

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
/// The file host: reads records, drives the Enricher → Aggregator pipeline, prints digests as they close (and
/// delivers them when a sink is given), then the summary. All the logic is in the core; this class wires I/O to it.
/// </summary>
internal sealed class FileDigestHost(FileDigestOptions options, IAccountDirectory directory, IMuteRules? mutes, TextWriter stdout, TextWriter stderr, IDigestSink? sink = null)
{
    public async Task<RunSummary> RunAsync(IEnumerable<RawRecord> records, CancellationToken cancellationToken)
    {
        var enricher = new Enricher.Enrichment.Enricher(options.Enricher, directory, mutes);
        var aggregator = new BurstAggregator(options.Window);
        var tally = new RunTally();
        int reported = 0;
        long delivered = 0, outboxed = 0;
        using var buffer = new MemoryStream();

        var outcomes = enricher.Enrich(records.ToObservable())
            .Do(outcome =>
            {
                if (outcome is EnrichmentOutcome.Rejected r && reported++ < options.MaxRejectReports)
                    stderr.WriteLine(TextDigestRenderer.Clean($"rejected {r.Origin}: {r.Reason}")); // the reason quotes the record's own (hostile) text
            });

        var digests = outcomes.ToDigests(aggregator, tally);
        if (sink is not null)
        {
            // One delivery at a time, in the order bursts close: per-channel order is what readers rely on.
            digests = digests
                .Select(digest => Observable.FromAsync(async ct =>
                {
                    var result = await sink.DeliverAsync(digest, ct).ConfigureAwait(false);
                    if (result.Delivered) delivered++; else outboxed++;
                    return digest;
                }))
                .Concat();
        }
        await digests.ForEachAsync(digest => Write(digest, buffer), cancellationToken).ConfigureAwait(false);

        if (reported > options.MaxRejectReports)
            stderr.WriteLine($"… {reported - options.MaxRejectReports} more rejected records not listed (see the summary's counts).");

        var summary = tally.Summary() with
        {
            Delivered = sink is null ? null : delivered,
            Outboxed = sink is null ? null : outboxed,
        };
        switch (options.Format)
        {
            case OutputFormat.Json:
                DigestJson.WriteSummary(buffer, summary);
                Flush(buffer);
                break;
            case OutputFormat.Slack:
                stderr.WriteLine(TextDigestRenderer.RenderSummary(summary).TrimEnd()); // stdout holds only payloads
                break;
            default:
                stdout.WriteLine(TextDigestRenderer.RenderSummary(summary).TrimEnd());
                break;
        }
        if (directory.Failures > 0)
            stderr.WriteLine($"warning: {directory.Failures} account-name lookups failed; those events show their account id only.");
        if (enricher.Deduplicator.EvictedEarly > 0)
            stderr.WriteLine($"warning: the dedupe memory reached its cap and forgot {enricher.Deduplicator.EvictedEarly} ids early; raise --dedupe-max-ids if duplicates slip through.");
        if (outboxed > 0)
            stderr.WriteLine($"warning: {outboxed} digests could not be delivered and are in the outbox; send them later with `pipeline outbox send`.");
        return summary;
    }

    private void Write(Digest digest, MemoryStream buffer)
    {
        switch (options.Format)
        {
            case OutputFormat.Json:
                DigestJson.WriteDigest(buffer, digest);
                break;
            case OutputFormat.Slack:
                SlackDigestRenderer.WritePayload(digest, buffer, channel: digest.AccountInfo?.SlackChannel, indented: false);
                buffer.WriteByte((byte)'\n');
                break;
            default:
                stdout.WriteLine(TextDigestRenderer.Render(digest));
                return;
        }
        Flush(buffer);
    }

    private void Flush(MemoryStream buffer)
    {
        stdout.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        stdout.Flush();
        buffer.SetLength(0);
    }
}
