using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Configuration;

namespace Pipeline.Aggregator.Silence;

/// <summary>
/// When an account-region that used to send events and stopped is reported (docs/silence.md). A member account can
/// blind the pipeline by disabling its forwarding rule or deleting its StackSet instance: nothing arrives, so nothing
/// else would say so.
/// </summary>
public sealed record SilenceOptions
{
    /// <summary>The default: long enough for the nightly lull of an ordinary account-region, short enough to matter.</summary>
    public static readonly TimeSpan DefaultAfter = TimeSpan.FromHours(6);

    public static readonly SilenceOptions Off = new() { After = TimeSpan.Zero };

    /// <summary>
    /// How long an account-region may send nothing while the rest of the organisation's events move on before it is
    /// reported silent. Default 6h; 0 turns the check off; otherwise 1m–14d (the last-seen items are kept 30 days: a longer threshold could outlive them).
    /// </summary>
    public TimeSpan After { get; init; } = DefaultAfter;

    public bool Enabled => After > TimeSpan.Zero;

    public void Validate()
    {
        if (After != TimeSpan.Zero && (After < TimeSpan.FromMinutes(1) || After > TimeSpan.FromDays(14)))
            throw new InvalidOptionException($"{{SilenceAfter}} must be 0 (off) or between 1m and 14d (got {Duration.Format(After)}).");
    }
}
