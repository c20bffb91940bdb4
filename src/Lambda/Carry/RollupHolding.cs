using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;

namespace Pipeline.Lambda.Carry;

/// <summary>
/// Which closed digests the Lambda's handler and sweeper park in the carry table for the roll-up decision instead of
/// posting: those <see cref="RollupPlanner.Offer"/> would hold (roll-ups on, a share by an automated actor). Bursts close
/// on many shards, and only the sweeper sees them all, so no single call may decide; it parks them.
/// </summary>
public static class RollupHolding
{
    /// <summary>How long a held item may stay if no sweep ever releases it (DynamoDB TTL: a safety net, not a schedule).</summary>
    public static readonly TimeSpan Ttl = TimeSpan.FromDays(7);

    /// <summary>True when the planner would hold <paramref name="digest"/> (its rule, kept in one place with it).</summary>
    public static bool WouldHold(RollupOptions options, Digest digest) =>
        options.Enabled && digest.Parts.Any(p => p.ActorKey is not null);

    /// <summary>
    /// Splits closed digests into those to post now and those to park, in their order. A digest too large for an item
    /// (<see cref="HeldDigest.MaxBytes"/> encoded) is posted now and reported to <paramref name="oversized"/>: holding
    /// it would fail the call on every retry.
    /// </summary>
    public static (List<Digest> Post, List<HeldDigest> Hold) Split(
        IEnumerable<Digest> closed, RollupOptions options, TimeSpan window, DateTimeOffset now, Action<Digest, int> oversized)
    {
        var post = new List<Digest>();
        var hold = new List<HeldDigest>();
        foreach (var digest in closed)
        {
            if (!WouldHold(options, digest))
            {
                post.Add(digest);
                continue;
            }
            var held = new HeldDigest(digest, window, now + Ttl);
            int size = held.Encode().Length;
            if (size > HeldDigest.MaxBytes)
            {
                oversized(digest, size);
                post.Add(digest);
            }
            else
            {
                hold.Add(held);
            }
        }
        return (post, hold);
    }
}
