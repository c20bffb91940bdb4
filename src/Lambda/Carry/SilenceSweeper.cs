using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Accounts;
using Pipeline.Lambda.Delivery;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Carry;

/// <summary>
/// What one silence check did: account-regions seen, newly reported silent (the <c>SilentAccountRegions</c> metric),
/// reported back, and notices the ledger already had (a check repeated after a crash).
/// </summary>
public sealed record SilenceSweep(int Tracked, int SilentAccountRegions, int Back, int AlreadyPosted, DateTimeOffset Watermark);

/// <summary>
/// The silence check of the function and `pipeline run`: the same rule as <see cref="SilenceTracker"/>, over what every
/// shard's windows wrote to the <see cref="ISilenceStore"/>. The organisation's watermark is the newest last event time
/// of any account-region, never the wall clock, so an organisation that goes quiet as a whole reports nothing, and a
/// replay through `run` reports what `digest` reports for the same events.
/// </summary>
/// <remarks>
/// Order of writes, for a check that dies anywhere: mark silent (conditional on no newer event), post through the
/// ledger, mark posted. A marked silence not yet posted is posted by the next check (the ledger refuses a second
/// post). A return is posted, then the mark cleared. Known limit: a shard far behind its stream (iterator age) looks
/// silent to the others once it is more than the threshold behind.
/// </remarks>
internal sealed class SilenceSweeper(SilenceOptions options, ISilenceStore store, IAccountDirectory directory, LedgeredDelivery delivery, LambdaLog log)
{
    public async Task<SilenceSweep> CheckAsync(string owner, CancellationToken cancellationToken)
    {
        var items = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        if (items.Count == 0) return new SilenceSweep(0, 0, 0, 0, DateTimeOffset.MinValue);
        var watermark = items.Max(i => i.Last);
        var work = items.Where(i => i.SilentSince is not null || SilenceTracker.IsSilent(i.First, i.Last, watermark, options.After)).ToList();
        if (work.Count == 0) return new SilenceSweep(items.Count, 0, 0, 0, watermark);

        var names = await directory.LookupAsync([.. work.Select(i => i.Account).Distinct(StringComparer.Ordinal)], cancellationToken).ConfigureAwait(false);
        int silent = 0, back = 0, already = 0;
        foreach (var item in work)
        {
            var since = item.SilentSince;
            if (since is null)
            {
                if (!await store.MarkSilentAsync(item.Account, item.Region, item.Last, cancellationToken).ConfigureAwait(false)) continue; // events came meanwhile
                since = item.Last;
            }
            var info = names.GetValueOrDefault(item.Account);
            if (!item.SilencePosted)
            {
                var notice = Notice(SilenceState.Silent, item, info, since.Value, watermark);
                if (await delivery.DeliverAsync(notice, owner, cancellationToken).ConfigureAwait(false)) silent++;
                else already++;
                await store.MarkPostedAsync(item.Account, item.Region, since.Value, cancellationToken).ConfigureAwait(false);
            }
            if (item.Last > since.Value)
            {
                var notice = Notice(SilenceState.Back, item, info, since.Value, item.Resumed is { } r && r > since.Value ? r : item.Last);
                if (await delivery.DeliverAsync(notice, owner, cancellationToken).ConfigureAwait(false)) back++;
                else already++;
                await store.ClearSilentAsync(item.Account, item.Region, since.Value, cancellationToken).ConfigureAwait(false);
            }
        }
        if (silent + back + already > 0)
        {
            log.Info("silence check done", w =>
            {
                w.WriteString("owner", owner);
                w.WriteNumber("accountRegions", items.Count);
                w.WriteNumber("silentAccountRegions", silent);
                w.WriteNumber("backAccountRegions", back);
                w.WriteNumber("alreadyPosted", already);
                w.WriteString("watermark", watermark);
            });
        }
        return new SilenceSweep(items.Count, silent, back, already, watermark);
    }

    private static SilenceNotice Notice(SilenceState state, SeenItem item, Enricher.Model.AccountInfo? info, DateTimeOffset since, DateTimeOffset observedAt) => new()
    {
        State = state,
        Account = item.Account,
        AccountInfo = info,
        Region = item.Region,
        LastEventTime = since,
        EventCount = item.Count,
        ObservedAt = observedAt,
    };
}
