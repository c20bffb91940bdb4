using System.Diagnostics;
using System.Text.Json;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Delivery;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;
using Pipeline.Enricher.Configuration;

namespace Pipeline.Lambda.Windows;

/// <summary>Settings of the window handler, whichever host runs it.</summary>
public sealed record KinesisWindowHandlerOptions
{
    /// <summary>The processing core's settings; the dedupe memory is capped lower than a file run's, to fit the window state.</summary>
    public DigestCoreOptions Core { get; init; } = new() { Enricher = new() { Dedupe = new DedupeOptions { MaxEntries = 50_000 } } };

    /// <summary>Largest response (JSON, state included) returned; Lambda's limit on the state is 1 MB per shard.</summary>
    public int StateMaxBytes { get; init; } = LambdaOptions.DefaultStateMaxBytes;

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the bad setting; returns the options, for initializers.</summary>
    public KinesisWindowHandlerOptions Validate()
    {
        Core.Validate();
        if (StateMaxBytes < 1_000) throw new InvalidOptionException($"{{StateMaxBytes}} must be at least 1000 bytes (got {StateMaxBytes}).");
        return this;
    }
}

/// <summary>
/// One batch of one shard's tumbling window in, the window's new state and the records to retry out:
/// the whole Lambda logic, with no knowledge of the Runtime API, so a local host can drive it the same way.
/// </summary>
/// <remarks>
/// <para>Contract: records of one shard arrive in order, in windows. <c>state</c> is what the previous call for
/// the same window returned (empty at a window's start). Each call restores the open bursts, the dedupe memory
/// and the tally from it, runs the Enricher and the Aggregator over the batch, posts the digests that closed,
/// and returns the new state. The final call of a window also closes every open burst (<c>window-end</c>) and
/// returns an empty state.</para>
/// <para>Failures: a record that cannot be read is rejected (counted, logged with its sequence number) and never
/// fails the batch. A failure that a retry can cure (ledger or delivery down, the deadline near) returns the
/// <b>incoming</b> state unchanged and the batch's first sequence number as the failed item, so Lambda retries
/// the whole batch from the same starting point; the ledger stops digests posted before the failure from
/// being posted again.</para>
/// </remarks>
public sealed class KinesisWindowHandler(KinesisWindowHandlerOptions options, IAccountDirectory directory, IDigestLedger ledger, IDigestSink sink, LambdaLog log, IMuteRules? mutes = null, OutboxDrain? drain = null)
{
    private readonly KinesisWindowHandlerOptions _options = options.Validate();

    public async Task<WindowResponse> HandleAsync(KinesisWindowEvent evt, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var state = LoadState(evt);
        var core = new DigestCore(_options.Core, directory, mutes);
        core.Restore(state.Core);
        var before = core.Summary();
        var counters = state.Counters with { Invocations = state.Counters.Invocations + 1 };
        var closed = new List<Digest>();

        WindowResponse response;
        int stateBytes = 0;
        int resent = 0;
        try
        {
            // Digests parked while Slack was down go first, ahead of this batch's (bounded; never fails the batch).
            if (drain is not null) resent = await drain.RunAsync(cancellationToken).ConfigureAwait(false);

            var batch = await core.ProcessAsync(Raw(evt), cancellationToken).ConfigureAwait(false);
            foreach (var outcome in batch.Outcomes)
                if (outcome is EnrichmentOutcome.Rejected r) LogRejected(evt, r);
            closed.AddRange(batch.Digests);

            // The window's last call closes what is still open; any other call carries it, within the state budget.
            CoreState? carried = null;
            if (evt.IsFinalInvokeForWindow) closed.AddRange(core.Flush(BurstCloseReason.WindowEnd));
            else (carried, counters) = FitState(evt, core, counters, closed.Add);

            foreach (var digest in closed)
            {
                if (await DeliverAsync(digest, evt, cancellationToken).ConfigureAwait(false)) counters = counters with { Posted = counters.Posted + 1 };
                else counters = counters with { AlreadyPosted = counters.AlreadyPosted + 1 };
            }

            response = carried is null
                ? new WindowResponse(evt.HasWindow ? WindowResponse.EmptyState : null, [])
                : new WindowResponse(WindowStateCodec.Encode(new WindowState(evt.WindowStart, counters, carried, state.Claimed)), []);
            stateBytes = response.SizeInBytes();
        }
        catch (Exception e) when (IsRetryable(e, cancellationToken))
        {
            var first = evt.Records.Count > 0 ? evt.Records[0].SequenceNumber ?? "" : "";
            log.Error("batch will be retried: " + e.Message, w =>
            {
                w.WriteString("shardId", evt.ShardId);
                w.WriteString("errorType", e.GetType().Name);
                w.WriteString("retryFromSequenceNumber", first);
                w.WriteNumber("records", evt.Records.Count);
                w.WriteNumber("digestsClosed", closed.Count);
            });
            // The incoming state, unchanged: the retry replays this batch from the same point.
            return new WindowResponse(evt.HasWindow ? evt.State : null, [first]);
        }

        var summary = core.Summary();
        log.Info("batch processed", w =>
        {
            WriteWindow(w, evt);
            w.WriteNumber("records", evt.Records.Count);
            w.WriteStartObject("batch");
            w.WriteNumber("received", summary.Received - before.Received);
            w.WriteNumber("rejected", summary.Rejected - before.Rejected);
            w.WriteNumber("duplicates", summary.Duplicates - before.Duplicates);
            w.WriteNumber("muted", summary.Muted - before.Muted);
            w.WriteNumber("accepted", summary.Received - before.Received - (summary.Rejected - before.Rejected) - (summary.Duplicates - before.Duplicates) - (summary.Muted - before.Muted));
            w.WriteEndObject();
            w.WriteStartObject("window");
            RunCountsJson.Write(w, summary, alwaysOpen: true);
            w.WriteNumber("openBursts", core.OpenBursts);
            w.WriteEndObject();
            w.WriteNumber("digestsClosed", closed.Count);
            w.WriteNumber("digestsPosted", counters.Posted - state.Counters.Posted);
            w.WriteNumber("digestsAlreadyPosted", counters.AlreadyPosted - state.Counters.AlreadyPosted);
            w.WriteNumber("outboxResent", resent);
            w.WriteNumber("stateBytes", stateBytes);
            w.WriteNumber("durationMs", clock.Elapsed.TotalMilliseconds);
        });
        if (evt.IsFinalInvokeForWindow) LogWindowEnd(evt, summary, counters);
        return response with { Summary = summary };
    }

    /// <summary>Claims, posts, confirms. True when posted now, false when an earlier attempt already had.</summary>
    private async Task<bool> DeliverAsync(Digest digest, KinesisWindowEvent evt, CancellationToken cancellationToken)
    {
        var claim = await ledger.TryClaimAsync(digest.DigestId, cancellationToken).ConfigureAwait(false);
        switch (claim.Status)
        {
            case ClaimStatus.AlreadyPosted:
                log.Info("digest already posted by an earlier attempt; not posted again", w =>
                {
                    w.WriteString("shardId", evt.ShardId);
                    w.WriteString("digestId", digest.DigestId);
                });
                return false;
            case ClaimStatus.InProgress:
                throw new DigestPostException($"digest {digest.DigestId} is claimed by another attempt that has not finished; the batch is retried after its lease");
        }

        try
        {
            DeliveryOutcome outcome;
            try
            {
                outcome = await sink.DeliverAsync(digest, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                // Whatever the sink throws means "neither delivered nor parked": a retry may cure it.
                throw new DigestPostException($"digest {digest.DigestId} not delivered: {e.Message}", e);
            }
            // Delivered or parked: both are safe. Failed: only a retry of the batch can still deliver it.
            if (outcome.Status == DeliveryStatus.Failed)
                throw new DigestPostException($"digest {digest.DigestId} not delivered: {outcome.Detail}");
        }
        catch
        {
            // Free the claim so the retry can post at once; if even that fails the lease frees it later.
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await ledger.ReleaseAsync(claim, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is LedgerUnavailableException or OperationCanceledException)
            {
                log.Warn("could not release the digest's claim; a retry waits for its lease", w => w.WriteString("digestId", digest.DigestId));
            }
            throw;
        }

        try
        {
            await ledger.MarkPostedAsync(claim, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is LedgerUnavailableException or OperationCanceledException)
        {
            // Posted but not recorded: failing the batch now would make the retry post it again.
            log.Warn("digest posted but not recorded in the ledger: " + e.Message, w => w.WriteString("digestId", digest.DigestId));
        }
        log.Info("digest posted", w =>
        {
            w.WriteString("shardId", evt.ShardId);
            w.WriteString("digestId", digest.DigestId);
            w.WriteString("account", digest.Account);
            w.WriteNumber("eventCount", digest.EventCount);
            w.WriteString("closedBy", DigestJson.CloseReasonName(digest.ClosedBy));
        });
        return true;
    }

    /// <summary>
    /// Keeps the state under the budget: the dedupe memory may take at most half of it (oldest ids go first);
    /// then, while the encoded response is too large, the oldest bursts close early (their digests are posted
    /// with <c>window-end</c>), and when no burst is left, more dedupe ids go.
    /// </summary>
    private (CoreState State, WindowCounters Counters) FitState(KinesisWindowEvent evt, DigestCore core, WindowCounters counters, Action<Digest> close)
    {
        int budget = _options.StateMaxBytes;
        int closedEarly = 0, dropped = 0;
        var state = core.Snapshot();
        var dedupe = state.Dedupe;
        int maxEntries = budget / 2 / WindowStateCodec.ApproxBytesPerDedupeEntry;
        if (dedupe.Count > maxEntries)
        {
            dropped += dedupe.Count - maxEntries;
            dedupe = [.. dedupe.Skip(dedupe.Count - maxEntries)];
        }
        while (true)
        {
            var probe = counters with { ClosedEarly = counters.ClosedEarly + closedEarly, DedupeIdsDropped = counters.DedupeIdsDropped + dropped };
            var fitted = state with { Dedupe = dedupe };
            var size = new WindowResponse(WindowStateCodec.Encode(new WindowState(evt.WindowStart, probe, fitted, [])), []).SizeInBytes();
            if (size <= budget)
            {
                if (closedEarly > 0 || dropped > 0)
                {
                    log.Warn("window state over its budget: oldest bursts closed early and oldest dedupe ids dropped", w =>
                    {
                        w.WriteString("shardId", evt.ShardId);
                        w.WriteNumber("budgetBytes", budget);
                        w.WriteNumber("stateBytes", size);
                        w.WriteNumber("burstsClosedEarly", closedEarly);
                        w.WriteNumber("dedupeIdsDropped", dropped);
                    });
                }
                return (fitted, probe);
            }
            if (core.OpenBursts > 0)
            {
                for (int n = Math.Max(1, core.OpenBursts / 8); n > 0 && core.CloseOldest(BurstCloseReason.WindowEnd) is { } early; n--)
                {
                    close(early);
                    closedEarly++;
                }
                state = core.Snapshot() with { Dedupe = dedupe };
            }
            else if (dedupe.Count > 0)
            {
                int drop = Math.Max(1, dedupe.Count / 2);
                dedupe = [.. dedupe.Skip(drop)];
                dropped += drop;
            }
            else
            {
                throw new InvalidOperationException($"the window state needs {size} bytes with no burst open and no dedupe id kept; the budget is {budget}.");
            }
        }
    }

    private WindowState LoadState(KinesisWindowEvent evt)
    {
        try
        {
            var state = WindowStateCodec.Decode(evt.State);
            if (state is null) return WindowState.Empty(evt.WindowStart);
            if (state.WindowStart != evt.WindowStart)
            {
                log.Warn("window state belongs to another window; starting afresh", w => WriteWindow(w, evt));
                return WindowState.Empty(evt.WindowStart);
            }
            return state;
        }
        catch (FormatException e)
        {
            // Failing would block the shard on every retry: start the window afresh and say what was lost.
            log.Error("window state unreadable; starting the window afresh (its open bursts are lost): " + e.Message, w => WriteWindow(w, evt));
            return WindowState.Empty(evt.WindowStart);
        }
    }

    private void LogRejected(KinesisWindowEvent evt, EnrichmentOutcome.Rejected r) =>
        log.Warn("record rejected", w =>
        {
            w.WriteString("shardId", evt.ShardId);
            if (r.Origin.SequenceNumber is { } seq) w.WriteString("sequenceNumber", seq); else w.WriteNull("sequenceNumber");
            w.WriteNumber("index", r.Origin.Index ?? -1);
            w.WriteString("reason", r.Reason);
        });

    private void LogWindowEnd(KinesisWindowEvent evt, RunSummary summary, WindowCounters counters)
    {
        bool balanced = summary.Balanced; // nothing is open at a window's end
        log.Write(balanced ? "INFO" : "ERROR", balanced ? "window closed" : "window closed with counts that do not add up (a bug)", w =>
        {
            WriteWindow(w, evt);
            RunCountsJson.Write(w, summary, alwaysOpen: true);
            w.WriteBoolean("balanced", balanced);
            w.WriteString("identity", $"received {summary.Received} = rejected {summary.Rejected} + duplicates {summary.Duplicates} + muted {summary.Muted} + digested {summary.Digested}");
            w.WriteNumber("digestsPosted", counters.Posted);
            w.WriteNumber("digestsAlreadyPosted", counters.AlreadyPosted);
            w.WriteNumber("burstsClosedEarly", counters.ClosedEarly);
            w.WriteNumber("dedupeIdsDropped", counters.DedupeIdsDropped);
            w.WriteNumber("invocations", counters.Invocations);
            w.WriteBoolean("terminatedEarly", evt.IsWindowTerminatedEarly);
        });
    }

    private static RawRecord[] Raw(KinesisWindowEvent evt)
    {
        var records = new RawRecord[evt.Records.Count];
        for (int i = 0; i < records.Length; i++)
        {
            var r = evt.Records[i];
            records[i] = new RawRecord(r.Data, new RecordOrigin(evt.ShardId, 0, i, r.SequenceNumber), r.ReadError);
        }
        return records;
    }

    private static bool IsRetryable(Exception e, CancellationToken deadline) =>
        e is LedgerUnavailableException or DigestPostException or HttpRequestException or TimeoutException
        || (e is OperationCanceledException && deadline.IsCancellationRequested);

    private static void WriteWindow(Utf8JsonWriter w, KinesisWindowEvent evt)
    {
        w.WriteString("shardId", evt.ShardId);
        if (evt.WindowStart is { } s) w.WriteString("windowStart", s);
        if (evt.WindowEnd is { } e) w.WriteString("windowEnd", e);
        w.WriteBoolean("final", evt.IsFinalInvokeForWindow);
    }
}
