using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>The run's totals, as printed in the summary line. <see cref="Balanced"/> is the conservation promise.</summary>
public sealed record RunSummary(
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

    /// <summary>Immediate alerts raised (each also counted in its burst's digest).</summary>
    public long Alerts { get; init; }

    /// <summary>
    /// Slack messages the run posts: alerts, roll-ups, and digests not wholly explained by a roll-up (null when the host
    /// does not count them). Set by the host, which runs the roll-up planner.
    /// </summary>
    public long? Messages { get; init; }

    /// <summary>Silence notices made: account-regions gone silent, and back (null when the host does not run the silence check). Not events.</summary>
    public long? Silences { get; init; }

    /// <summary>Roll-ups made (null when the host does not make them).</summary>
    public long? Rollups { get; init; }

    /// <summary>Events of open bursts taken over from an earlier window or run (a carry): received there, digested or open here.</summary>
    public long CarriedIn { get; init; }

    /// <summary>Events of open bursts handed on to the next window or run (a carry): received here, digested there.</summary>
    public long CarriedOut { get; init; }

    /// <summary>
    /// received = rejected + duplicates + muted + digested, for a file run. A host that carries open bursts across
    /// windows balances received + carried in = rejected + duplicates + muted + digested + open + carried out.
    /// </summary>
    public bool Balanced => Received + CarriedIn == Rejected + Duplicates + Muted + Digested + OpenEvents + CarriedOut;
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
    public long CarriedIn { get; private set; }
    public long CarriedOut { get; private set; }
    public long Alerts { get; private set; }

    public void CountAlerts(int alerts) => Alerts += alerts;

    public void CountCarriedIn(long events) => CarriedIn += events;

    public void CountCarriedOut(long events) => CarriedOut += events;

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
        openEvents)
    {
        CarriedIn = CarriedIn,
        CarriedOut = CarriedOut,
        Alerts = Alerts,
    };

    /// <summary>Continues counting from a summary (a host that carries the tally between invocations).</summary>
    public static RunTally Restore(RunSummary summary)
    {
        var tally = new RunTally
        {
            Received = summary.Received,
            Rejected = summary.Rejected,
            Duplicates = summary.Duplicates,
            Muted = summary.Muted,
            Digested = summary.Digested,
            Digests = summary.Digests,
            CarriedIn = summary.CarriedIn,
            CarriedOut = summary.CarriedOut,
            Alerts = summary.Alerts,
            // Accepted events are either digested, still in an open burst or carried on (less those carried in).
            Accepted = summary.Digested + summary.OpenEvents + summary.CarriedOut - summary.CarriedIn,
        };
        foreach (var (rule, count) in summary.MutedByRule) tally._mutedByRule[rule] = count;
        foreach (var (reason, count) in summary.RejectedByReason) tally._rejectedByReason[reason] = count;
        return tally;
    }

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
