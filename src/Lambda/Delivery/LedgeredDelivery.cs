using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Rendering;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Delivery;

/// <summary>
/// Posts a digest at most once, whoever closes it (a window's call, its retry, the sweeper): claim it in the ledger,
/// deliver it, mark it posted. Shared by the window handler and the sweeper so both keep the same promise.
/// </summary>
internal sealed class LedgeredDelivery(IDigestLedger ledger, IDigestSink sink, LambdaLog log)
{
    /// <summary>Claims, posts, confirms. True when posted now, false when an earlier attempt already had.
    /// Throws <see cref="DigestPostException"/> when a retry may still deliver it.</summary>
    public async Task<bool> DeliverAsync(Notice notice, string shardId, CancellationToken cancellationToken)
    {
        var claim = await ledger.TryClaimAsync(notice.NoticeId, cancellationToken).ConfigureAwait(false);
        switch (claim.Status)
        {
            case ClaimStatus.AlreadyPosted:
                log.Info($"{notice.Kind} already posted by an earlier attempt; not posted again", w =>
                {
                    w.WriteString("shardId", shardId);
                    w.WriteString(notice.Kind + "Id", notice.NoticeId);
                });
                return false;
            case ClaimStatus.InProgress:
                throw new DigestPostException($"{notice.Kind} {notice.NoticeId} is claimed by another attempt that has not finished; the batch is retried after its lease");
        }

        try
        {
            DeliveryOutcome outcome;
            try
            {
                outcome = await sink.DeliverAsync(notice, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                // Whatever the sink throws means "neither delivered nor parked": a retry may cure it.
                throw new DigestPostException($"{notice.Kind} {notice.NoticeId} not delivered: {e.Message}", e);
            }
            // Delivered or parked: both are safe. Failed: only a retry of the batch can still deliver it.
            if (outcome.Status == DeliveryStatus.Failed)
                throw new DigestPostException($"{notice.Kind} {notice.NoticeId} not delivered: {outcome.Detail}");
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
                log.Warn("could not release the claim; a retry waits for its lease", w => w.WriteString(notice.Kind + "Id", notice.NoticeId));
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
            log.Warn($"{notice.Kind} posted but not recorded in the ledger: " + e.Message, w => w.WriteString(notice.Kind + "Id", notice.NoticeId));
        }
        log.Info(notice.Posted ? $"{notice.Kind} posted" : "digest folded into a roll-up; recorded, not posted on its own", w =>
        {
            w.WriteString("shardId", shardId);
            w.WriteString(notice.Kind + "Id", notice.NoticeId);
            switch (notice)
            {
                case Digest digest:
                    w.WriteString("account", digest.Account);
                    w.WriteNumber("eventCount", digest.EventCount);
                    w.WriteString("closedBy", DigestJson.CloseReasonName(digest.ClosedBy));
                    if (digest.RollupId is not null) w.WriteString("rollupId", digest.RollupId);
                    if (digest.SkewedCount > 0) w.WriteNumber("skewedEvents", digest.SkewedCount);
                    if (digest.LateCount > 0) w.WriteNumber("lateEvents", digest.LateCount);
                    break;
                case Rollup rollup:
                    w.WriteString("actor", rollup.ActorKey);
                    w.WriteNumber("accountCount", rollup.Accounts.Count);
                    w.WriteNumber("eventCount", rollup.EventCount);
                    break;
                case Alert alert:
                    w.WriteString("account", alert.Account);
                    w.WriteString("eventName", alert.Event.EventName);
                    w.WriteString("severity", alert.Event.Severity.ToString().ToLowerInvariant());
                    break;
            }
        });
        return true;
    }
}
