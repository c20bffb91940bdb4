using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Processing;

namespace Pipeline.Aggregator.Rollups;

/// <summary>
/// What a host posts, in order, from what the core produced: a batch's alerts first (they cannot wait), then its
/// silence notices, digests with
/// no automated actor at once, the others once the <see cref="RollupPlanner"/> has decided them (roll-ups before the
/// digests they fold). Counts the Slack messages that makes. One host drives it, in order.
/// </summary>
public sealed class RollupStage(RollupOptions options, BurstWindowOptions window)
{
    private readonly RollupPlanner _planner = new(options, window);

    public long Rollups { get; private set; }
    public long Messages { get; private set; }

    /// <summary>Digests held for a roll-up decision.</summary>
    public int Held => _planner.HeldCount;

    /// <summary>The notices to post after <paramref name="batch"/>, the processing clock now at <paramref name="clock"/>.</summary>
    public IReadOnlyList<Notice> Next(CoreBatch batch, DateTimeOffset clock)
    {
        if (batch.Silences.Count == 0) return Next(batch.Alerts, batch.Digests, clock);
        var first = new List<Notice>(batch.Alerts.Count + batch.Silences.Count);
        first.AddRange(batch.Alerts);
        first.AddRange(batch.Silences);
        return Next(first, batch.Digests, clock);
    }

    public IReadOnlyList<Notice> Next(IReadOnlyList<Notice> alerts, IReadOnlyList<Digest> digests, DateTimeOffset clock)
    {
        var output = new List<Notice>(alerts.Count + digests.Count);
        output.AddRange(alerts);
        foreach (var digest in digests)
            if (!_planner.Offer(digest)) output.Add(digest);
        output.AddRange(_planner.Decide(clock));
        return Counted(output);
    }

    /// <summary>The input ended: everything held is decided now.</summary>
    public IReadOnlyList<Notice> Finish() => Counted(_planner.Flush());

    private List<Notice> Counted(IReadOnlyList<Notice> notices)
    {
        foreach (var notice in notices)
        {
            if (notice is Rollup) Rollups++;
            if (notice.Posted) Messages++;
        }
        return notices as List<Notice> ?? [.. notices];
    }
}
