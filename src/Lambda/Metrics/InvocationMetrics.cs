using Pipeline.Aggregator.Bursts;

namespace Pipeline.Lambda.Metrics;

/// <summary>
/// What one invocation (a window call or a sweep) did, as the function reports it in CloudWatch
/// (<see cref="Configuration.FunctionMetrics"/>). The record conserves: <c>Received = Rejected + Duplicates + Muted +
/// Digested</c>, where <see cref="Digested"/> counts this invocation's records that entered a burst (each reaches a
/// digest in this invocation or a later one), so the identity holds per invocation and not only per window.
/// </summary>
public sealed record InvocationMetrics
{
    /// <summary>"window" (a Kinesis batch) or "sweep" (the schedule's call): written beside the metrics, not a dimension.</summary>
    public required string Kind { get; init; }
    public long Received { get; init; }
    public long Rejected { get; init; }
    public long Duplicates { get; init; }
    public long Muted { get; init; }
    public long Digested { get; init; }
    /// <summary>Slack messages (digests, roll-ups, alerts) Slack took in this invocation.</summary>
    public long DigestsPosted { get; init; }
    /// <summary>Slack messages parked in the outbox because Slack did not take them.</summary>
    public long DigestsParked { get; init; }
    /// <summary>Per posted or parked message: from its newest event's time to that moment, in milliseconds.</summary>
    public IReadOnlyList<double> DigestLagMs { get; init; } = [];
    /// <summary>Bytes of the window state returned to Lambda; null for a sweep or a call without a tumbling window (nothing to measure).</summary>
    public long? WindowStateBytes { get; init; }
    /// <summary>Bytes of the carries written to the carry table.</summary>
    public long CarryBytes { get; init; }
    public long LedgerErrors { get; init; }
    public long CarryStoreErrors { get; init; }
    /// <summary>Account-regions newly reported silent. Set by the silence check; 0 until it reports one.</summary>
    public long SilentAccountRegions { get; init; }

    /// <summary>
    /// This batch's own counts, the difference of the window's totals after and before it. A batch that failed (to be
    /// retried by Lambda) brings none: its records are counted once, by the call that succeeds.
    /// </summary>
    public InvocationMetrics WithBatch(RunSummary? batch)
    {
        if (batch is null) return this;
        long accepted = batch.Received - batch.Rejected - batch.Duplicates - batch.Muted;
        return this with
        {
            Received = batch.Received,
            Rejected = batch.Rejected,
            Duplicates = batch.Duplicates,
            Muted = batch.Muted,
            Digested = accepted,
        };
    }
}
