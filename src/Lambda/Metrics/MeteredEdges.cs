using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Ledger;

namespace Pipeline.Lambda.Metrics;

// The function's edges, metered where they are built (FunctionHost), so the window handler and the sweeper need no
// counting code of their own: every message, ledger call and carry write passes through one of these.

/// <summary>Counts the messages Slack took or the outbox kept, and each one's lag from its newest event.</summary>
internal sealed class MeteredDigestSink(IDigestSink inner, InvocationMeter meter) : IDigestSink
{
    public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        var outcome = await inner.DeliverAsync(notice, cancellationToken).ConfigureAwait(false);
        // A digest folded into a roll-up is recorded, not posted: no message, nothing to count.
        if (notice.Posted && NewestEvent(notice) is { } newest)
        {
            if (outcome.Status == DeliveryStatus.Delivered) meter.Posted(newest);
            else if (outcome.Status == DeliveryStatus.Parked) meter.Parked(newest);
        }
        return outcome;
    }

    internal static DateTimeOffset? NewestEvent(Notice notice) => notice switch
    {
        Digest d => d.LastEventTime,
        Rollup r => r.LastEventTime,
        Alert a => a.Event.EventTime,
        SilenceNotice s => s.ObservedAt,
        _ => null,
    };
}

/// <summary>Counts ledger calls that failed after the client's retries (the ledger reports them as unavailable).</summary>
internal sealed class MeteredDigestLedger(IDigestLedger inner, InvocationMeter meter) : IDigestLedger
{
    public Task<LedgerClaim> TryClaimAsync(string digestId, CancellationToken cancellationToken) =>
        Counted(() => inner.TryClaimAsync(digestId, cancellationToken));

    public Task MarkPostedAsync(LedgerClaim claim, CancellationToken cancellationToken) =>
        Counted(async () => { await inner.MarkPostedAsync(claim, cancellationToken).ConfigureAwait(false); return true; });

    public Task ReleaseAsync(LedgerClaim claim, CancellationToken cancellationToken) =>
        Counted(async () => { await inner.ReleaseAsync(claim, cancellationToken).ConfigureAwait(false); return true; });

    private async Task<T> Counted<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            meter.LedgerError();
            throw;
        }
    }
}

/// <summary>
/// Counts carry-store calls that failed (the store unreachable; a conflict between owners is the protocol at work, not an
/// error) and the bytes of the carries written back.
/// </summary>
internal sealed class MeteredCarryStore(ICarryStore inner, InvocationMeter meter) : ICarryStore
{
    public Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        Counted(() => inner.ClaimAsync(accounts, owner, token, now, leaseUntil, cancellationToken));

    public Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken) =>
        Counted(async () =>
        {
            await inner.ReleaseAsync(writes, owner, token, cancellationToken).ConfigureAwait(false);
            // Measured as the store encodes them (an empty carry deletes its item: no bytes). Only at a window's end or a
            // sweep, so encoding once more costs little.
            long bytes = 0;
            foreach (var write in writes)
                if (write.Carry is { IsEmpty: false } carry) bytes += AccountCarryCodec.Encode(carry).Length;
            meter.CarryWritten(bytes);
            return true;
        });

    public Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Counted(() => inner.DueAsync(now, limit, cancellationToken));

    public Task PutHeldAsync(IReadOnlyList<HeldDigest> digests, CancellationToken cancellationToken) =>
        Counted(async () => { await inner.PutHeldAsync(digests, cancellationToken).ConfigureAwait(false); return true; });

    public Task<IReadOnlyList<StoredHeld>> ListHeldAsync(CancellationToken cancellationToken) =>
        Counted(() => inner.ListHeldAsync(cancellationToken));

    public Task DeleteHeldAsync(IReadOnlyCollection<string> digestIds, CancellationToken cancellationToken) =>
        Counted(async () => { await inner.DeleteHeldAsync(digestIds, cancellationToken).ConfigureAwait(false); return true; });

    public Task<bool> TryLeasePlannerAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        Counted(() => inner.TryLeasePlannerAsync(owner, now, leaseUntil, cancellationToken));

    public Task ReleasePlannerAsync(string owner, CancellationToken cancellationToken) =>
        Counted(async () => { await inner.ReleasePlannerAsync(owner, cancellationToken).ConfigureAwait(false); return true; });

    private async Task<T> Counted<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (CarryStoreUnavailableException)
        {
            meter.CarryStoreError();
            throw;
        }
    }
}
