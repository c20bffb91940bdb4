using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>The run's totals, as printed in the summary line. <see cref="Balanced"/> is the conservation promise.</summary>
internal sealed record RunSummary(
    long Received,
    long Rejected,
    long Duplicates,
    long Muted,
    long Digested,
    long Digests,
    IReadOnlyList<KeyValuePair<string, long>> MutedByRule,
    IReadOnlyList<KeyValuePair<string, long>> RejectedByReason,
    long OpenEvents = 0)
{
    /// <summary>Digests Slack accepted (null when the run did not deliver).</summary>
    public long? Delivered { get; init; }

    /// <summary>Digests kept in the outbox after delivery finally failed (null when the run did not deliver).</summary>
    public long? Outboxed { get; init; }

    /// <summary>received = rejected + duplicates + muted + digested (+ events still in open bursts, for a host that stops mid-window).</summary>
    public bool Balanced => Received == Rejected + Duplicates + Muted + Digested + OpenEvents;
}

/// <summary>Counts every outcome and every digest of a run. Not thread-safe: one pipeline feeds it, in order.</summary>
internal sealed class RunTally
{
    private readonly Dictionary<string, long> _mutedByRule = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _rejectedByReason = new(StringComparer.Ordinal);

    public long Received { get; private set; }
    public long Rejected { get; private set; }
    public long Duplicates { get; private set; }
    public long Muted { get; private set; }
    public long Accepted { get; private set; }
    public long Digested { get; private set; }
    public long Digests { get; private set; }

    public void Count(EnrichmentOutcome outcome)
    {
        Received++;
        switch (outcome)
        {
            case EnrichmentOutcome.Rejected r:
                Rejected++;
                var reasonKey = ReasonKey(r.Reason);
                _rejectedByReason[reasonKey] = _rejectedByReason.GetValueOrDefault(reasonKey) + 1;
                break;
            case EnrichmentOutcome.Duplicate:
                Duplicates++;
                break;
            case EnrichmentOutcome.Muted m:
                Muted++;
                _mutedByRule[m.Rule] = _mutedByRule.GetValueOrDefault(m.Rule) + 1;
                break;
            case EnrichmentOutcome.Accepted:
                Accepted++;
                break;
        }
    }

    public void Count(Digest digest)
    {
        Digests++;
        Digested += digest.EventCount;
    }

    public RunSummary Summary(long openEvents = 0) => new(
        Received, Rejected, Duplicates, Muted, Digested, Digests,
        [.. _mutedByRule.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)],
        [.. _rejectedByReason.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)],
        openEvents);

    /// <summary>Groups reasons that differ only in the quoted value ("account id '12' is not 12 digits").</summary>
    private static string ReasonKey(string reason)
    {
        int quote = reason.IndexOf('\'', StringComparison.Ordinal);
        int colon = reason.IndexOf(": ", StringComparison.Ordinal);
        if (quote >= 0)
        {
            int end = reason.IndexOf('\'', quote + 1);
            if (end > quote) return string.Concat(reason.AsSpan(0, quote), "…", reason.AsSpan(end + 1));
        }
        return colon > 0 ? reason[..colon] : reason;
    }
}
