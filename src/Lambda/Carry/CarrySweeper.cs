using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Lambda.Delivery;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Carry;

/// <summary>What one sweep did.</summary>
public sealed record SweepResult(int Due, int Swept, int Conflicts, int DigestsPosted, int DigestsAlreadyPosted, RunSummary Counts)
{
    /// <summary>Digests of closed carries parked for the roll-up decision (not posted by the carry work).</summary>
    public int DigestsHeld { get; init; }
    /// <summary>Alerts raised while carries were put back, posted now, and those the ledger already had.</summary>
    public int AlertsPosted { get; init; }
    public int AlertsAlreadyPosted { get; init; }
    /// <summary>What the roll-up decision did (null when roll-ups are off, the decision was skipped, or another sweep held the planner's lease).</summary>
    public RollupSweep? Rollups { get; init; }
    /// <summary>What the silence check did (null when it is off, has no store, or could not reach it).</summary>
    public SilenceSweep? Silence { get; init; }
    /// <summary>Account-regions this sweep newly reported silent (the <c>SilentAccountRegions</c> metric).</summary>
    public int SilentAccountRegions => Silence?.SilentAccountRegions ?? 0;
}

/// <summary>
/// One roll-up decision: held digests found, released (decided now, their items deleted), still waiting; roll-ups and
/// digests delivered (posted now or already in the ledger), and released digests a roll-up fully folded (recorded, not posted).
/// </summary>
public sealed record RollupSweep(int Held, int Released, int Waiting, int RollupsPosted, int RollupsAlreadyPosted, int DigestsPosted, int DigestsAlreadyPosted, int Folded, int Unreadable);

/// <summary>
/// Closes the bursts of accounts that went quiet on a shard that went quiet too: no record reaches the shard, so no
/// window runs to notice that the account's gap (plus the lateness) has passed. Runs on a schedule (an EventBridge
/// Scheduler schedule invokes the function with <c>{"action":"sweep"}</c> every minute; <c>pipeline run</c> on a timer).
/// </summary>
/// <remarks>
/// For each carry due by the wall clock and held by no window: claim it (a lease of its own), move a fresh core's
/// processing clock to now, post what closes through the digest ledger, write back what is left (dedupe memory,
/// waiting counts). A crash anywhere repeats the sweep of that account after its lease, and the ledger keeps the
/// digest from being posted twice. A window that meets the account later claims the carry as usual.
/// </remarks>
public sealed class CarrySweeper(
    DigestCoreOptions options,
    IAccountDirectory directory,
    ICarryStore carries,
    IDigestLedger ledger,
    IDigestSink sink,
    LambdaLog log,
    TimeProvider time,
    IMuteRules? mutes = null,
    ISilenceStore? silence = null)
{
    private readonly LedgeredDelivery _delivery = new(ledger, sink, log);
    // The carries' cores close bursts only; the silence check runs once per sweep, over the silence store.
    private readonly DigestCoreOptions _coreOptions = options with { Silence = SilenceOptions.Off };

    /// <summary>How every sweep's owner name begins in the carry store (<c>sweep:SWEEPID</c>).</summary>
    public const string OwnerPrefix = "sweep:";

    /// <summary>Most carries one sweep takes (the rest wait for the next one, a minute later).</summary>
    public int MaxPerSweep { get; init; } = 500;

    /// <summary>
    /// How long the sweeper holds a carry it took: longer than posting its digest takes (Slack's retries end within about
    /// 20 s), and short, because a window that meets the account meanwhile must wait for it (its batch is retried).
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often sweeps run (the schedule's rate; `run`'s --sweep-interval). With the longest window of the held digests
    /// it sets how long a roll-up group settles before it is decided: a burst that closed on a quiet shard reaches the
    /// held digests only at its window's end, or at the next sweep when it was carried, so a group is decided once that
    /// much time has passed after it stopped gathering (the planner's Settle, unless the options ask for more).
    /// </summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a sweep holds the planner's lease: longer than posting one decision's notices takes.</summary>
    public TimeSpan PlannerLease { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Closes the due carries. With <paramref name="flushAll"/>, every open carry closes now as at the end of input
    /// (`pipeline run --until-idle`, a replay that ends). <paramref name="sweepId"/> names this sweep as the carries' owner.
    /// </summary>
    public Task<SweepResult> SweepAsync(string sweepId, bool flushAll, CancellationToken cancellationToken) =>
        SweepAsync(sweepId, flushAll, decideRollups: true, cancellationToken);

    /// <summary>
    /// As <see cref="SweepAsync(string, bool, CancellationToken)"/>; <paramref name="decideRollups"/> false leaves the held
    /// digests alone (a replay by `run --until-idle` decides them all at its end, as the file host does, rather than by a
    /// wall clock far ahead of the records' times).
    /// </summary>
    /// <param name="accountSwept">
    /// Told each account's counts as soon as its carry is written back (not when the write is refused), before the next
    /// account: a host that keeps totals across restarts beside a carry table (`pipeline run --carry-table`) saves them
    /// there, so a process killed mid-sweep loses at most the account between its write and that save. A carry store
    /// that keeps the counts with the write itself (<see cref="CarryWrite.SweptCounts"/>, the file store) loses none.
    /// </param>
    public async Task<SweepResult> SweepAsync(string sweepId, bool flushAll, bool decideRollups, CancellationToken cancellationToken, Func<RunSummary, Task>? accountSwept = null)
    {
        var now = time.GetUtcNow();
        var owner = OwnerPrefix + sweepId;
        int dueCount = 0, swept = 0, conflicts = 0, posted = 0, already = 0, held = 0, alertsPosted = 0, alertsAlready = 0;
        long carriedIn = 0, digested = 0, digests = 0, carriedOut = 0;
        IReadOnlyList<string> due;
        int sweptBefore;
        do
        {
            sweptBefore = swept;
            // A flush pages through every carry (a replay's end must leave none open); a timed sweep takes one page, the
            // next sweep a minute later takes the rest.
            due = await carries.DueAsync(flushAll ? DateTimeOffset.MaxValue : now, MaxPerSweep, cancellationToken).ConfigureAwait(false);
            dueCount += due.Count;
            foreach (var account in due)
            {
                var token = $"{owner}:{account}";
                IReadOnlyList<ClaimedCarry> claimed;
                try
                {
                    claimed = await carries.ClaimAsync([account], owner, token, now, now + Lease, cancellationToken).ConfigureAwait(false);
                }
                catch (CarryConflictException)
                {
                    conflicts++; // a window took it meanwhile: it closes the burst itself
                    continue;
                }

                // A core per account: each carry stands alone, and its counts add up below.
                var core = new DigestCore(_coreOptions, directory, mutes);
                var closed = new List<Digest>();
                foreach (var carry in claimed)
                {
                    if (carry.Problem is { } problem) log.Error("carry unreadable; deleted (its open burst and dedupe memory are lost): " + problem, w => w.WriteString("account", account));
                    else closed.AddRange(core.Put(carry.Carry));
                }
                closed.AddRange(flushAll ? core.Flush(BurstCloseReason.EndOfInput) : core.AdvanceTo(now));
                // Alerts first, as in a window (a carry put back may raise one); then the digests, or their parking
                // place, before the carry is written back.
                foreach (var alert in core.TakeAlerts())
                {
                    if (await _delivery.DeliverAsync(alert, owner, cancellationToken).ConfigureAwait(false)) alertsPosted++;
                    else alertsAlready++;
                }
                var (post, hold) = RollupHolding.Split(closed, options.Rollup, TimeSpan.Zero, now, (digest, size) =>
                    log.Warn("digest too large to hold for a roll-up decision; posted now", w =>
                    {
                        w.WriteString("digestId", digest.DigestId);
                        w.WriteNumber("bytes", size);
                    }));
                foreach (var digest in post)
                {
                    if (await _delivery.DeliverAsync(digest, owner, cancellationToken).ConfigureAwait(false)) posted++;
                    else already++;
                }
                if (hold.Count > 0)
                {
                    await carries.PutHeldAsync(hold, cancellationToken).ConfigureAwait(false);
                    held += hold.Count;
                }
                var rest = core.TakeAll().FirstOrDefault();
                var summary = core.Summary();
                var accountCounts = new RunSummary(0, 0, 0, 0, summary.Digested, summary.Digests, [], []) { CarriedIn = summary.CarriedIn, CarriedOut = summary.CarriedOut };
                // The sweeper's token names this sweep alone, so no retry will read what it claimed: nothing is kept for one.
                // The counts travel with the write, for a store that keeps them atomically with it (CarryWrite.SweptCounts).
                var write = new CarryWrite(account, rest, rest?.DueAt(options.Window), rest?.ExpiresAt(options.Window, options.Enricher.Dedupe) ?? now) { SweptCounts = accountCounts };
                try
                {
                    await carries.ReleaseAsync([write], owner, token, cancellationToken).ConfigureAwait(false);
                }
                catch (CarryConflictException)
                {
                    // Our lease ran out and a window took the account: its digests are posted, and the window, which read the
                    // carry as it was, counts its events itself when it closes them (the ledger keeps it from posting them
                    // again). Counted here too, they would be counted twice.
                    conflicts++;
                    continue;
                }
                swept++;
                (carriedIn, digested, digests, carriedOut) = (carriedIn + summary.CarriedIn, digested + summary.Digested, digests + summary.Digests, carriedOut + summary.CarriedOut);
                if (accountSwept is not null) await accountSwept(accountCounts).ConfigureAwait(false);
            }
        } while (flushAll && due.Count >= MaxPerSweep && swept > sweptBefore);

        var counts = new RunSummary(0, 0, 0, 0, digested, digests, [], []) { CarriedIn = carriedIn, CarriedOut = carriedOut };
        // Also with roll-ups off: digests held before they were turned off are released as they are.
        var rollups = decideRollups
            ? await DecideRollupsAsync(sweepId, owner, flushAll, now, cancellationToken).ConfigureAwait(false)
            : null;
        SilenceSweep? silent = null;
        if (silence is not null && options.Silence.Enabled)
        {
            try
            {
                silent = await new SilenceSweeper(options.Silence, silence, directory, _delivery, log).CheckAsync(owner, cancellationToken).ConfigureAwait(false);
            }
            catch (CarryStoreUnavailableException e)
            {
                // As a missed sweep: the next one, a minute later, checks again.
                log.Warn("silence check skipped: " + e.Message, w => w.WriteString("sweep", sweepId));
            }
        }
        if (dueCount > 0 || rollups is { Held: > 0 })
        {
            log.Info("sweep done", w =>
            {
                w.WriteString("sweep", sweepId);
                w.WriteBoolean("flushAll", flushAll);
                w.WriteNumber("due", dueCount);
                w.WriteNumber("swept", swept);
                w.WriteNumber("conflicts", conflicts);
                w.WriteNumber("digestsPosted", posted);
                w.WriteNumber("digestsAlreadyPosted", already);
                w.WriteNumber("digestsHeld", held);
                w.WriteNumber("alertsPosted", alertsPosted);
                w.WriteNumber("alertsAlreadyPosted", alertsAlready);
                if (rollups is not null)
                {
                    w.WriteStartObject("rollups");
                    w.WriteNumber("held", rollups.Held);
                    w.WriteNumber("released", rollups.Released);
                    w.WriteNumber("waiting", rollups.Waiting);
                    w.WriteNumber("rollupsPosted", rollups.RollupsPosted);
                    w.WriteNumber("rollupsAlreadyPosted", rollups.RollupsAlreadyPosted);
                    w.WriteNumber("digestsPosted", rollups.DigestsPosted);
                    w.WriteNumber("digestsAlreadyPosted", rollups.DigestsAlreadyPosted);
                    w.WriteNumber("digestsFolded", rollups.Folded);
                    w.WriteEndObject();
                }
                Aggregator.Rendering.RunCountsJson.Write(w, counts, alwaysOpen: true);
                // Held digests were counted as digested when their bursts closed: holding them moves no event.
                w.WriteBoolean("balanced", counts.Balanced);
            });
        }
        return new SweepResult(dueCount, swept, conflicts, posted, already, counts)
        {
            DigestsHeld = held,
            AlertsPosted = alertsPosted,
            AlertsAlreadyPosted = alertsAlready,
            Rollups = rollups,
            Silence = silent,
        };
    }

    /// <summary>
    /// Decides the held digests of every shard: under the planner's lease (two overlapping sweeps must not both decide),
    /// a fresh <see cref="RollupPlanner"/> is offered every held digest in (closedAt, digestId) order and decides by
    /// <paramref name="now"/> (or everything, for a flush); each notice goes through the ledger in order, roll-ups
    /// first; only then are the released items deleted.
    /// </summary>
    /// <remarks>
    /// Rebuilding the planner from the held items is deterministic, and a group is released whole: a sweep that dies
    /// after posting and before deleting is followed by one that decides the same group again, makes the same roll-up
    /// id and the same marked digests, and the ledger says they are posted. The limit: a digest parked after its group
    /// was decided (a shard later than the settle time) joins nothing and is posted on its own.
    /// </remarks>
    private async Task<RollupSweep?> DecideRollupsAsync(string sweepId, string owner, bool flushAll, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!await carries.TryLeasePlannerAsync(owner, now, now + PlannerLease, cancellationToken).ConfigureAwait(false))
        {
            log.Info("another sweep holds the roll-up planner's lease; this sweep leaves the held digests to it", w => w.WriteString("sweep", sweepId));
            return null;
        }
        try
        {
            var stored = await carries.ListHeldAsync(cancellationToken).ConfigureAwait(false);
            var unreadable = stored.Where(h => h.Held is null).ToList();
            foreach (var bad in unreadable)
                log.Error("held digest unreadable; deleted (its digest is lost): " + bad.Problem, w => w.WriteString("digestId", bad.DigestId));
            var held = stored.Select(h => h.Held).OfType<HeldDigest>()
                .OrderBy(h => h.Digest.ClosedAt).ThenBy(h => h.Digest.DigestId, StringComparer.Ordinal)
                .ToList();
            if (held.Count == 0)
            {
                if (unreadable.Count > 0) await carries.DeleteHeldAsync([.. unreadable.Select(u => u.DigestId)], cancellationToken).ConfigureAwait(false);
                return new RollupSweep(0, 0, 0, 0, 0, 0, 0, 0, unreadable.Count);
            }

            IReadOnlyList<Notice> notices;
            if (options.Rollup.Enabled)
            {
                var planner = new RollupPlanner(PlannerOptions(held), options.Window);
                foreach (var h in held) planner.Offer(h.Digest);
                notices = flushAll ? planner.Flush() : planner.Decide(now);
            }
            else
            {
                notices = [.. held.Select(h => h.Digest)]; // roll-ups turned off since these were held: posted as they are
            }

            int rollupsPosted = 0, rollupsAlready = 0, digestsPosted = 0, digestsAlready = 0, folded = 0;
            var released = new List<string>();
            foreach (var notice in notices)
            {
                bool fresh = await _delivery.DeliverAsync(notice, owner, cancellationToken).ConfigureAwait(false);
                switch (notice)
                {
                    case Rollup:
                        if (fresh) rollupsPosted++; else rollupsAlready++;
                        break;
                    case Digest digest:
                        released.Add(digest.DigestId);
                        if (!digest.Posted) folded++;
                        else if (fresh) digestsPosted++;
                        else digestsAlready++;
                        break;
                }
            }
            // Only after every notice of the decided groups is safe: a crash before this decides them again, the same way.
            var delete = released.Concat(unreadable.Select(u => u.DigestId)).ToList();
            if (delete.Count > 0) await carries.DeleteHeldAsync(delete, cancellationToken).ConfigureAwait(false);
            return new RollupSweep(held.Count, released.Count, held.Count - released.Count, rollupsPosted, rollupsAlready, digestsPosted, digestsAlready, folded, unreadable.Count);
        }
        finally
        {
            try
            {
                await carries.ReleasePlannerAsync(owner, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CarryStoreUnavailableException e)
            {
                // The lease runs out by itself; the next sweep waits for it at most PlannerLease.
                log.Warn("could not end the roll-up planner's lease: " + e.Message, w => w.WriteString("sweep", sweepId));
            }
        }
    }

    /// <summary>
    /// The planner's options for this decision: the configured ones, with Settle at least the longest window of the held
    /// digests plus the sweep interval (how late a closed burst may reach the held digests). The host need not set it.
    /// </summary>
    private static readonly TimeSpan MaxSettle = TimeSpan.FromHours(1); // RollupOptions' own bound

    private RollupOptions PlannerOptions(IReadOnlyList<HeldDigest> held)
    {
        var settle = held.Max(h => h.Window) + SweepInterval;
        if (settle > MaxSettle) settle = MaxSettle;
        return settle > options.Rollup.Settle ? options.Rollup with { Settle = settle } : options.Rollup;
    }
}
