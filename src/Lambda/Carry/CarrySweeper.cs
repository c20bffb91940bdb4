using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Lambda.Delivery;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Carry;

/// <summary>What one sweep did.</summary>
public sealed record SweepResult(int Due, int Swept, int Conflicts, int DigestsPosted, int DigestsAlreadyPosted, RunSummary Counts);

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
    IMuteRules? mutes = null)
{
    private readonly LedgeredDelivery _delivery = new(ledger, sink, log);

    /// <summary>How every sweep's owner name begins in the carry store (<c>sweep:SWEEPID</c>).</summary>
    public const string OwnerPrefix = "sweep:";

    /// <summary>Most carries one sweep takes (the rest wait for the next one, a minute later).</summary>
    public int MaxPerSweep { get; init; } = 500;

    /// <summary>How long the sweeper holds a carry it took: longer than posting its digest can take.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Closes the due carries. With <paramref name="flushAll"/>, every open carry closes now as at the end of input
    /// (`pipeline run --until-idle`, a replay that ends). <paramref name="sweepId"/> names this sweep as the carries' owner.
    /// </summary>
    public async Task<SweepResult> SweepAsync(string sweepId, bool flushAll, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var due = await carries.DueAsync(flushAll ? DateTimeOffset.MaxValue : now, MaxPerSweep, cancellationToken).ConfigureAwait(false);
        int swept = 0, conflicts = 0, posted = 0, already = 0;
        var core = new DigestCore(options, directory, mutes);
        foreach (var account in due)
        {
            var owner = OwnerPrefix + sweepId;
            var token = $"sweep:{sweepId}:{account}";
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

            var closed = new List<Digest>();
            foreach (var carry in claimed) closed.AddRange(core.Put(carry.Carry));
            closed.AddRange(flushAll ? core.Flush(BurstCloseReason.EndOfInput) : core.AdvanceTo(now));
            foreach (var digest in closed)
            {
                if (await _delivery.DeliverAsync(digest, owner, cancellationToken).ConfigureAwait(false)) posted++;
                else already++;
            }
            var rest = core.TakeAll().FirstOrDefault(c => c.Account == account);
            // The sweeper's token names this sweep alone, so no retry will read what it claimed: nothing is kept for one.
            var write = new CarryWrite(account, rest, rest?.DueAt(options.Window), rest?.ExpiresAt(options.Window, options.Enricher.Dedupe) ?? now);
            try
            {
                await carries.ReleaseAsync([write], owner, token, cancellationToken).ConfigureAwait(false);
            }
            catch (CarryConflictException)
            {
                conflicts++; // our lease ran out and a window took the account: its digest is posted; the window has the rest
            }
            swept++;
            // One core for the whole sweep: TakeAll left it with no burst, and its tally adds up every account's counts.
        }

        var counts = core.Summary();
        if (due.Count > 0)
        {
            log.Info("sweep done", w =>
            {
                w.WriteString("sweep", sweepId);
                w.WriteBoolean("flushAll", flushAll);
                w.WriteNumber("due", due.Count);
                w.WriteNumber("swept", swept);
                w.WriteNumber("conflicts", conflicts);
                w.WriteNumber("digestsPosted", posted);
                w.WriteNumber("digestsAlreadyPosted", already);
                Aggregator.Rendering.RunCountsJson.Write(w, counts, alwaysOpen: true);
            });
        }
        return new SweepResult(due.Count, swept, conflicts, posted, already, counts);
    }
}
