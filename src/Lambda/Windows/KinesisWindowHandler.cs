using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rendering;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Delivery;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;
using Pipeline.Enricher.Configuration;
using Pipeline.Lambda.Carry;

namespace Pipeline.Lambda.Windows;

/// <summary>Settings of the window handler, whichever host runs it.</summary>
public sealed record KinesisWindowHandlerOptions
{
    /// <summary>The processing core's settings; the dedupe memory is capped lower than a file run's, to fit the window state.</summary>
    public DigestCoreOptions Core { get; init; } = new() { Enricher = new() { Dedupe = new DedupeOptions { MaxEntries = 50_000 } } };

    /// <summary>Largest response (JSON, state included) returned; Lambda's limit on the state is 1 MB per shard.</summary>
    public int StateMaxBytes { get; init; } = LambdaOptions.DefaultStateMaxBytes;

    /// <summary>
    /// How long past its window's end a window holds the carries it claimed. The sweeper leaves them alone meanwhile, so
    /// make it longer than a window's final call can take with its retries.
    /// </summary>
    public TimeSpan CarryLease { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the bad setting; returns the options, for initializers.</summary>
    public KinesisWindowHandlerOptions Validate()
    {
        Core.Validate();
        if (StateMaxBytes < 1_000) throw new InvalidOptionException($"{{StateMaxBytes}} must be at least 1000 bytes (got {StateMaxBytes}).");
        if (CarryLease < TimeSpan.FromMinutes(1)) throw new InvalidOptionException($"{{CarryLease}} must be at least 1m (got {Duration.Format(CarryLease)}).");
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
/// and the tally from it, claims the carries (<see cref="ICarryStore"/>) of the accounts it meets for the first time
/// in the window (open bursts and dedupe memory left by an earlier window, perhaps of another shard before a reshard),
/// runs the core over the batch, posts the digests that closed, and returns the new state. A window's end is not a
/// burst's: the final call moves the processing clock to the window's end, posts what that closes, and writes what is
/// still open back to the carry store for the next window or the sweeper (<see cref="CarrySweeper"/>).</para>
/// <para>Failures: a record that cannot be read is rejected (counted, logged with its sequence number) and never
/// fails the batch. A failure that a retry can cure (ledger, carry store or delivery down, the deadline near) returns
/// the <b>incoming</b> state unchanged and the batch's first sequence number as the failed item, so Lambda retries
/// the whole batch from the same starting point; the ledger stops digests posted before the failure from being
/// posted again, and the carry store's release token lets a retried final call see the carries as it claimed them.</para>
/// </remarks>
public sealed class KinesisWindowHandler(
    KinesisWindowHandlerOptions options,
    IAccountDirectory directory,
    IDigestLedger ledger,
    ICarryStore carries,
    IDigestSink sink,
    LambdaLog log,
    TimeProvider time,
    IMuteRules? mutes = null,
    OutboxDrain? drain = null,
    ISilenceStore? silence = null)
{
    private readonly KinesisWindowHandlerOptions _options = options.Validate();
    // A shard's core sees only its own accounts, and a silent account's shard gets no records at all: the silence
    // check is the sweeper's, over what every window writes to the silence store (its final call).
    private readonly DigestCoreOptions _coreOptions = options.Core with { Silence = SilenceOptions.Off };
    private readonly ISilenceStore? _silence = options.Core.Silence.Enabled ? silence : null;
    private readonly LedgeredDelivery _delivery = new(ledger, sink, log);

    public async Task<WindowResponse> HandleAsync(KinesisWindowEvent evt, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var state = LoadState(evt);
        var core = new DigestCore(_coreOptions, directory, mutes);
        core.Restore(state.Core);
        var sightings = new Sightings(state.Sightings);
        if (_silence is not null) core.RecordSightingsInto(sightings);
        var before = core.Summary();
        var counters = state.Counters with { Invocations = state.Counters.Invocations + 1 };
        var closed = new List<Digest>();
        var alerts = new List<Alert>();

        WindowResponse response;
        int stateBytes = 0;
        int resent = 0;
        var claimed = new HashSet<string>(state.Claimed, StringComparer.Ordinal);
        var token = ReleaseToken(evt);
        try
        {
            // Digests parked while Slack was down go first, ahead of this batch's (bounded; never fails the batch).
            if (drain is not null) resent = await drain.RunAsync(cancellationToken).ConfigureAwait(false);

            // The stream is partitioned by account: the partition keys name the accounts whose carries to take over
            // before their records are deduplicated and windowed.
            var claimedNow = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            // A key with '#' is never an account's: it would name a held digest or the planner's lease in the carry table.
            var newAccounts = evt.Records.Select(r => r.PartitionKey).OfType<string>()
                .Where(k => !claimed.Contains(k) && !HeldKeys.IsReserved(k)).Distinct(StringComparer.Ordinal).ToList();
            // Claiming is a round trip per account, and reading the records needs none of it: they are parsed while the
            // claims are in flight, and only deduplicated (against the carried ids) once the carries are in the core.
            var claiming = ClaimAsync(evt, newAccounts, token, cancellationToken);
            // Rented, and given back once the batch is processed: a 10,000-record batch's array is 880 KB, a large object
            // that was made afresh for every batch (its pages zeroed and faulted in).
            int count = evt.Records.Count;
            var parsed = ArrayPool<ParsedRecord>.Shared.Rent(count);
            CoreBatch batch;
            try
            {
                try
                {
                    for (int i = 0; i < count; i++) parsed[i] = core.Parse(Raw(evt, i));
                }
                catch
                {
                    // Parsing does not throw (a record it cannot read is rejected); if it ever did (a defect), no claim is
                    // left writing behind the failed invocation with its fault unobserved: they are waited for, and the
                    // parse's error goes on. The rented array goes back below.
                    await Task.WhenAny(claiming).ConfigureAwait(false);
                    _ = claiming.Exception;
                    throw;
                }
                closed.AddRange(TakeOver(evt, core, newAccounts, await claiming.ConfigureAwait(false), claimed, claimedNow));

                batch = await core.ProcessAsync(new ArraySegment<ParsedRecord>(parsed, 0, count), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Array.Clear(parsed, 0, count);
                ArrayPool<ParsedRecord>.Shared.Return(parsed);
            }
            foreach (var outcome in batch.Outcomes)
                if (outcome is EnrichmentOutcome.Rejected r) LogRejected(evt, r);
            closed.AddRange(batch.Digests);
            alerts.AddRange(batch.Alerts);
            // Records without arrival times (a captured event replayed) may wait for the clock; a call ends here.
            closed.AddRange(core.SettleHeld());

            IReadOnlyList<CarryWrite> writes = [];
            FittedState? carried = null;
            if (evt.IsFinalInvokeForWindow)
            {
                // No record of this window arrived after its end: the processing clock may stand there.
                if (evt.WindowEnd is { } end) closed.AddRange(core.AdvanceTo(end));
                // Accounts whose partition key was not their id: their carries are found only now (older bursts close at once).
                var late = core.Accounts.Where(a => !claimed.Contains(a)).ToList();
                closed.AddRange(TakeOver(evt, core, late, await ClaimAsync(evt, late, token, cancellationToken).ConfigureAwait(false), claimed, claimedNow));
                writes = FinalWrites(evt, core, claimed, claimedNow, closed, ref counters);
            }
            else
            {
                carried = FitState(evt, core, [.. claimed], sightings.ToList(), counters, closed.Add);
                counters = carried.Counters;
            }

            // Alerts raised after the batch (records settled, the clock moved, carries put back) join the batch's.
            alerts.AddRange(core.TakeAlerts());
            // Alerts cannot wait for their burst: first, before this call's digests. A retried batch raises the same
            // ids again, and the ledger stops a second post.
            foreach (var alert in alerts)
            {
                if (await _delivery.DeliverAsync(alert, evt.ShardId, cancellationToken).ConfigureAwait(false)) counters = counters with { AlertsPosted = counters.AlertsPosted + 1 };
                else counters = counters with { AlertsAlreadyPosted = counters.AlertsAlreadyPosted + 1 };
            }
            counters = await DispatchAsync(evt, closed, counters, cancellationToken).ConfigureAwait(false);
            // Only after every digest is safe (posted, or held in the shared store): what stays open goes back to the
            // store for the next window or the sweeper.
            if (writes.Count > 0) counters = await ReleaseAsync(evt, writes, token, counters, cancellationToken).ConfigureAwait(false);
            // The window's sightings, once, at its end (a retried final call has the same token: counted once).
            if (evt.IsFinalInvokeForWindow && _silence is not null && sightings.Count > 0)
                await _silence.RecordAsync(sightings.ToList(), token, cancellationToken).ConfigureAwait(false);

            if (carried is null)
            {
                response = new WindowResponse(evt.HasWindow ? WindowResponse.EmptyState : null, []);
                stateBytes = response.SizeInBytes();
            }
            else if (counters == carried.Counters)
            {
                // Nothing was posted or held since the state was fitted (the usual batch): the response as measured (its JSON written once) is the answer.
                response = carried.Response;
                stateBytes = carried.Bytes;
            }
            else
            {
                response = new WindowResponse(WindowStateCodec.Encode(new WindowState(evt.WindowStart, counters, carried.State, [.. claimed]) { Sightings = carried.Sightings }), []);
                stateBytes = response.SizeInBytes();
            }
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
                w.WriteNumber("alertsRaised", alerts.Count);
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
            w.WriteNumber("carriesClaimed", claimed.Count - state.Claimed.Count);
            w.WriteNumber("digestsPosted", counters.Posted - state.Counters.Posted);
            w.WriteNumber("digestsAlreadyPosted", counters.AlreadyPosted - state.Counters.AlreadyPosted);
            w.WriteNumber("digestsHeld", counters.Held - state.Counters.Held);
            w.WriteNumber("alertsPosted", counters.AlertsPosted - state.Counters.AlertsPosted);
            w.WriteNumber("alertsAlreadyPosted", counters.AlertsAlreadyPosted - state.Counters.AlertsAlreadyPosted);
            w.WriteNumber("outboxResent", resent);
            w.WriteNumber("stateBytes", stateBytes);
            w.WriteNumber("durationMs", clock.Elapsed.TotalMilliseconds);
        });
        if (evt.IsFinalInvokeForWindow) LogWindowEnd(evt, summary, counters);
        var batchCounts = new RunSummary(summary.Received - before.Received, summary.Rejected - before.Rejected,
            summary.Duplicates - before.Duplicates, summary.Muted - before.Muted, summary.Digested - before.Digested, summary.Digests - before.Digests, [], []);
        return response with { Summary = summary, Batch = batchCounts };
    }

    /// <summary>The state that fits the budget, encoded as the response carries it (<c>Bytes</c>: that response's size).</summary>
    private sealed record FittedState(CoreState State, WindowCounters Counters, WindowResponse Response, int Bytes, IReadOnlyList<Sighting> Sightings);

    /// <summary>
    /// Keeps the state under the budget: the dedupe memory may take at most half of it (oldest ids go first);
    /// then, while the encoded response is too large, the oldest bursts close early (their digests are posted
    /// with <c>window-end</c>), and when no burst is left, more dedupe ids go.
    /// </summary>
    private FittedState FitState(KinesisWindowEvent evt, DigestCore core, IReadOnlyList<string> claimed, IReadOnlyList<Sighting> sightings, WindowCounters counters, Action<Digest> close)
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
            var encoded = WindowStateCodec.Encode(new WindowState(evt.WindowStart, probe, fitted, claimed) { Sightings = sightings });
            var measured = new WindowResponse(encoded, []);
            var size = measured.SizeInBytes();
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
                return new FittedState(fitted, probe, measured, size, sightings);
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

    /// <summary>Claims the carries of accounts met for the first time in this window (I/O only: nothing is handed to the core yet).</summary>
    private Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(KinesisWindowEvent evt, IReadOnlyList<string> accounts, string token, CancellationToken cancellationToken)
    {
        if (accounts.Count == 0) return Task.FromResult<IReadOnlyList<ClaimedCarry>>([]);
        var leaseUntil = (evt.WindowEnd ?? time.GetUtcNow()) + _options.CarryLease;
        return carries.ClaimAsync(accounts, evt.ShardId, token, time.GetUtcNow(), leaseUntil, cancellationToken);
    }

    /// <summary>Hands the claimed carries to the core; returns what closes at once (a carried burst of an account already open here).</summary>
    private List<Digest> TakeOver(
        KinesisWindowEvent evt, DigestCore core, IReadOnlyList<string> accounts, IReadOnlyList<ClaimedCarry> found,
        HashSet<string> claimed, Dictionary<string, byte[]> claimedNow)
    {
        var closed = new List<Digest>();
        foreach (var account in accounts) claimed.Add(account);
        foreach (var carry in found)
        {
            claimedNow[carry.Carry.Account] = carry.Bytes;
            if (carry.Problem is { } problem)
            {
                // As with an unreadable window state: failing would block the shard; start the account afresh and say so.
                log.Error("carry unreadable; the account starts afresh (its open burst and dedupe memory are lost): " + problem, w =>
                {
                    w.WriteString("shardId", evt.ShardId);
                    w.WriteString("account", carry.Carry.Account);
                });
                continue;
            }
            closed.AddRange(core.Put(carry.Carry));
        }
        return closed;
    }

    /// <summary>
    /// The final call's carries: every claimed account's open burst, waiting counts and dedupe memory, or a delete when
    /// nothing is left. Empties the core.
    /// </summary>
    private List<CarryWrite> FinalWrites(KinesisWindowEvent evt, DigestCore core, HashSet<string> claimed, Dictionary<string, byte[]> claimedNow, List<Digest> closed, ref WindowCounters counters)
    {
        // An item left only for a retry of this call (see CarryTable.IsDelete) expires a day after the window.
        var retryHorizon = (evt.WindowEnd ?? time.GetUtcNow()) + TimeSpan.FromDays(1);
        var handOff = core.TakeAll(AccountCarryCodec.MaxStoredBytes);
        if (handOff.ClosedEarly.Count > 0 || handOff.DedupeIdsDropped > 0)
        {
            closed.AddRange(handOff.ClosedEarly);
            counters = counters with { ClosedEarly = counters.ClosedEarly + handOff.ClosedEarly.Count, DedupeIdsDropped = counters.DedupeIdsDropped + handOff.DedupeIdsDropped };
            log.Warn("carries over the item size: oldest dedupe ids dropped, bursts too large to carry closed now", w =>
            {
                WriteWindow(w, evt);
                w.WriteNumber("maxCarryBytes", AccountCarryCodec.MaxStoredBytes);
                w.WriteNumber("burstsClosedEarly", handOff.ClosedEarly.Count);
                w.WriteNumber("dedupeIdsDropped", handOff.DedupeIdsDropped);
            });
        }
        var taken = handOff.Carries.ToDictionary(c => c.Account, StringComparer.Ordinal);
        var window = _options.Core.Window;
        var dedupe = _options.Core.Enricher.Dedupe;
        var writes = new List<CarryWrite>(claimed.Count);
        foreach (var account in claimed.Union(taken.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var carry = taken.GetValueOrDefault(account);
            writes.Add(new CarryWrite(account, carry, carry?.DueAt(window), carry is { IsEmpty: false } ? carry.ExpiresAt(window, dedupe) : retryHorizon,
                claimedNow.GetValueOrDefault(account)));
        }
        return writes;
    }

    /// <summary>
    /// Writes the carries back. An account another owner took meanwhile (this window outlived its lease) cannot be
    /// written: its open burst is posted now instead, so nothing it holds is lost.
    /// </summary>
    private async Task<WindowCounters> ReleaseAsync(KinesisWindowEvent evt, IReadOnlyList<CarryWrite> writes, string token, WindowCounters counters, CancellationToken cancellationToken)
    {
        try
        {
            await carries.ReleaseAsync(writes, evt.ShardId, token, cancellationToken).ConfigureAwait(false);
            return counters;
        }
        catch (CarryConflictException e)
        {
            log.Error("carries taken by another owner while this window held them; their open bursts are posted now: " + e.Message, w =>
            {
                WriteWindow(w, evt);
                w.WriteNumber("carryConflicts", e.Accounts.Count);
            });
            var digests = writes.Where(w => e.Accounts.Contains(w.Account) && w.Carry?.Open is not null)
                .Select(write => write.Carry!.Open!.ToDigest(BurstCloseReason.WindowEnd, _options.Core.Window, evt.WindowEnd ?? time.GetUtcNow()))
                .ToList();
            counters = await DispatchAsync(evt, digests, counters, cancellationToken).ConfigureAwait(false);
            return counters with { CarryConflicts = counters.CarryConflicts + e.Accounts.Count };
        }
    }

    /// <summary>
    /// Posts the closed digests through the ledger, except those the roll-up planner would hold: with roll-ups on, a
    /// digest with an automated actor's share is parked in the carry table (idempotent by digest id), where the sweeper
    /// decides it with every other shard's (<see cref="CarrySweeper"/>). The caller releases its carries only after this.
    /// </summary>
    private async Task<WindowCounters> DispatchAsync(KinesisWindowEvent evt, IReadOnlyList<Digest> closed, WindowCounters counters, CancellationToken cancellationToken)
    {
        var window = evt.WindowStart is { } start && evt.WindowEnd is { } end ? end - start : TimeSpan.Zero;
        var (post, hold) = RollupHolding.Split(closed, _options.Core.Rollup, window, time.GetUtcNow(), (digest, size) =>
            log.Warn("digest too large to hold for a roll-up decision; posted now", w =>
            {
                w.WriteString("shardId", evt.ShardId);
                w.WriteString("digestId", digest.DigestId);
                w.WriteNumber("bytes", size);
                w.WriteNumber("maxBytes", HeldDigest.MaxBytes);
            }));
        foreach (var digest in post)
        {
            if (await _delivery.DeliverAsync(digest, evt.ShardId, cancellationToken).ConfigureAwait(false)) counters = counters with { Posted = counters.Posted + 1 };
            else counters = counters with { AlreadyPosted = counters.AlreadyPosted + 1 };
        }
        if (hold.Count > 0)
        {
            await carries.PutHeldAsync(hold, cancellationToken).ConfigureAwait(false);
            counters = counters with { Held = counters.Held + hold.Count };
        }
        return counters;
    }

    /// <summary>Names this call for the carry store: a retry of the same final call carries the same token.</summary>
    private static string ReleaseToken(KinesisWindowEvent evt) =>
        evt.WindowStart is { } start
            ? $"{evt.ShardId}|{start.UtcTicks}"
            : $"{evt.ShardId}|{(evt.Records.Count > 0 ? evt.Records[0].SequenceNumber : "")}";

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
        bool balanced = summary.Balanced; // what is still open at a window's end is carried out
        log.Write(balanced ? "INFO" : "ERROR", balanced ? "window closed" : "window closed with counts that do not add up (a bug)", w =>
        {
            WriteWindow(w, evt);
            RunCountsJson.Write(w, summary, alwaysOpen: true);
            w.WriteBoolean("balanced", balanced);
            w.WriteString("identity", $"received {summary.Received} + carried in {summary.CarriedIn} = rejected {summary.Rejected} + duplicates {summary.Duplicates} + muted {summary.Muted} + digested {summary.Digested} + carried out {summary.CarriedOut}");
            w.WriteNumber("digestsPosted", counters.Posted);
            w.WriteNumber("digestsAlreadyPosted", counters.AlreadyPosted);
            w.WriteNumber("digestsHeld", counters.Held);
            w.WriteNumber("alertsPosted", counters.AlertsPosted);
            w.WriteNumber("alertsAlreadyPosted", counters.AlertsAlreadyPosted);
            w.WriteNumber("burstsClosedEarly", counters.ClosedEarly);
            w.WriteNumber("dedupeIdsDropped", counters.DedupeIdsDropped);
            w.WriteNumber("carryConflicts", counters.CarryConflicts);
            w.WriteNumber("invocations", counters.Invocations);
            w.WriteBoolean("terminatedEarly", evt.IsWindowTerminatedEarly);
        });
    }

    private static RawRecord Raw(KinesisWindowEvent evt, int i)
    {
        var r = evt.Records[i];
        return new RawRecord(r.Data, new RecordOrigin(evt.ShardId, 0, i, r.SequenceNumber), r.ReadError) { ArrivalTime = r.ArrivalTime };
    }

    private static bool IsRetryable(Exception e, CancellationToken deadline) =>
        e is LedgerUnavailableException or DigestPostException or HttpRequestException or TimeoutException
        or CarryConflictException or CarryStoreUnavailableException
        || (e is OperationCanceledException && deadline.IsCancellationRequested);

    private static void WriteWindow(Utf8JsonWriter w, KinesisWindowEvent evt)
    {
        w.WriteString("shardId", evt.ShardId);
        if (evt.WindowStart is { } s) w.WriteString("windowStart", s);
        if (evt.WindowEnd is { } e) w.WriteString("windowEnd", e);
        w.WriteBoolean("final", evt.IsFinalInvokeForWindow);
    }
}
