using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;

namespace Pipeline.Cli.Hosting;

/// <summary>Everything one `pipeline digest` run needs, validated before the first record is read.</summary>
internal sealed record FileDigestOptions
{
    public required DigestCoreOptions Core { get; init; }
    public OutputFormat Format { get; init; } = OutputFormat.Text;
    /// <summary>How many rejected records are described one by one on stderr before the rest are only counted.</summary>
    public int MaxRejectReports { get; init; } = 1000;
    /// <summary>Called after each batch's notices are out, in their order: where a progress bar is drawn.</summary>
    public Action? AfterBatch { get; init; }
}

/// <summary>
/// The file host: reads records, runs them through the processing core, prints digests as they close (and
/// delivers them when a sink is given), then the summary. All the logic is in the core; this class wires I/O to it.
/// </summary>
internal sealed class FileDigestHost(FileDigestOptions options, IAccountDirectory directory, IMuteRules? mutes, TextWriter stdout, TextWriter stderr, IDigestSink? delivery = null)
{
    public async Task<RunSummary> RunAsync(IEnumerable<RawRecord> records, CancellationToken cancellationToken)
    {
        var core = new DigestCore(options.Core, directory, mutes);
        var stage = new RollupStage(options.Core.Rollup, options.Core.Window);
        var renderer = options.Format.Renderer();
        var counted = delivery is null ? null : new CountingSink(delivery);
        // Slack first, then the output: a digest printed is one whose delivery has been settled.
        // Printed notices are flushed once per batch, below (each batch's notices leave together anyway). With Slack, each one
        // as soon as it is posted: a batch can wait minutes on rate limits, and what was posted should show meanwhile.
        var printed = new WriterSink(renderer, stdout, flushEach: counted is not null);
        IDigestSink sink = counted is null ? printed : new FanOutSink([counted, printed]);
        int reported = 0;
        long silences = 0;

        // One delivery at a time, in the order bursts close: per-channel order is what readers rely on.
        // The token (Ctrl-C) stops the reading, not the run (a read that can block is made stoppable by the command: StoppableReading): the input ends there, every open burst closes as at the end
        // of input, and each notice still reaches the sink, with the cancelled token, which Slack's sink takes as "park
        // it" and the terminal's ignores. So a stopped run still prints its summary, and the summary still balances.
        // The records are read and parsed a few batches ahead on a task of their own (ParseAhead: on two cores the parse runs
        // beside the rest); dedupe, bursts and the roll-up decisions stay here, in order, and delivery follows in order.
        // The batches are pushed on this thread by the immediate scheduler: the default for an enumerable, the
        // current-thread trampoline, schedules every item (measured alone on 500k records: 4.5 s against 3.5 s;
        // docs/performance.md, "Rx's own cost").
        await ParseAhead.Batches(records, core, cancellationToken).ToObservable(Scheduler.Immediate)
            .Through(core)
            .Select(batch =>
            {
                // Decided here, on this batch's clock, as the batch comes out of the core. Delivery runs behind (Concat queues
                // it while a slow Slack answers, and the core goes on); deciding there read a clock already ahead of the
                // digests still queued, so a roll-up could be decided before some of its members were offered.
                var notices = stage.Next(batch, core.Clock);
                return Observable.FromAsync(async () =>
                {
                    foreach (var outcome in batch.Outcomes)
                    {
                        if (outcome is EnrichmentOutcome.Rejected r && reported++ < options.MaxRejectReports)
                            await stderr.WriteLineAsync(TextDigestRenderer.Clean($"rejected {r.Origin}: {r.Reason}")).ConfigureAwait(false); // the reason quotes the record's own (hostile) text
                    }
                    silences += batch.Silences.Count;
                    await DeliverAsync(notices, cancellationToken).ConfigureAwait(false);
                    // Out before the progress bar is drawn under them; without a token, as the notices themselves go out at Ctrl-C.
                    await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    options.AfterBatch?.Invoke();
                    return batch;
                });
            })
            .Concat()
            .LastOrDefaultAsync()
            .ToTask().ConfigureAwait(false);
        // The input ended: digests waiting for a roll-up decision are decided now.
        await DeliverAsync(stage.Finish(), cancellationToken).ConfigureAwait(false);
        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);

        if (reported > options.MaxRejectReports)
            await stderr.WriteLineAsync($"… {reported - options.MaxRejectReports} more rejected records not listed (see the summary's counts).").ConfigureAwait(false);

        var summary = core.Summary() with
        {
            Delivered = counted?.Delivered,
            Outboxed = counted?.Parked,
            Rollups = stage.Rollups,
            Messages = stage.Messages,
            Silences = core.Silence is null ? null : silences,
        };
        renderer.WriteSummary(summary, stdout, stderr);
        await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        if (directory.Failures > 0)
            await stderr.WriteLineAsync($"warning: {directory.Failures} account-name lookups failed; those events show their account id only.").ConfigureAwait(false);
        if (core.DedupeEvictedEarly > 0)
            await stderr.WriteLineAsync($"warning: the dedupe memory reached its cap and forgot {core.DedupeEvictedEarly} ids early; raise --dedupe-max-ids if duplicates slip through.").ConfigureAwait(false);
        if (summary.Outboxed > 0)
            await stderr.WriteLineAsync($"warning: {summary.Outboxed} digests could not be delivered and are in the outbox; send them later with `pipeline outbox send`.").ConfigureAwait(false);
        return summary;

        async Task DeliverAsync(IReadOnlyList<Notice> notices, CancellationToken ct)
        {
            foreach (var notice in notices)
            {
                var outcome = await sink.DeliverAsync(notice, ct).ConfigureAwait(false);
                if (outcome.Status == DeliveryStatus.Failed)
                    throw new DeliveryFailedException($"{notice.Kind} {notice.NoticeId} could not be posted: {outcome.Detail?.TrimEnd('.')}");
            }
        }
    }
}

/// <summary>A digest could be neither delivered nor parked in the outbox: the run stops rather than lose it silently.</summary>
internal sealed class DeliveryFailedException(string message) : Exception(message);
