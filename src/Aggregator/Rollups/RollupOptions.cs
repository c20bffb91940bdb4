using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Configuration;

namespace Pipeline.Aggregator.Rollups;

/// <summary>
/// When the same change in many accounts becomes one roll-up message (docs/rollups.md). A burst whose automated actors
/// (a role name, an AWS service, a finding type) also acted in other accounts waits, after it closes, for the same
/// change there; an actor's shares that meet in enough accounts are posted once, as a roll-up.
/// </summary>
public sealed record RollupOptions
{
    /// <summary>Accounts that must show the same change for a roll-up. Default 3; 0 turns roll-ups off; otherwise 2–100000.</summary>
    public int MinAccounts { get; init; } = 3;

    /// <summary>
    /// How far apart, on the events' own times, the same change may be in two accounts and still be one roll-up: a
    /// share joins when its events start within this long after the change's latest event (a StackSet rolling out
    /// account after account stays one roll-up). Also the delay it adds to such bursts' digests: the change is
    /// decided this long after its last burst could close. Default 3m; 1s–1h.
    /// </summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The longest a roll-up keeps gathering accounts after its first: a change that never stops still reports. Default 1h.</summary>
    public TimeSpan MaxSpan { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Extra time before a roll-up is decided, for hosts whose closed bursts reach the planner late (the Lambda's
    /// bursts close on many shards and meet in the carry table, a window and a sweep later). Default 0.
    /// </summary>
    public TimeSpan Settle { get; init; } = TimeSpan.Zero;

    /// <summary>How alike two accounts' calls must be to be the same change: the names they share over the names of the smaller set. Default 0.5.</summary>
    public double MinSimilarity { get; init; } = 0.5;

    public bool Enabled => MinAccounts > 0;

    public void Validate()
    {
        if (MinAccounts != 0 && (MinAccounts < 2 || MinAccounts > 100_000))
            throw new InvalidOptionException($"{{MinAccounts}} must be 0 (off) or 2–100000 (got {MinAccounts}).");
        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromHours(1))
            throw new InvalidOptionException($"{{Window}} must be between 1s and 1h (got {Duration.Format(Window)}).");
        if (MaxSpan < Window || MaxSpan > TimeSpan.FromDays(1))
            throw new InvalidOptionException($"{{MaxSpan}} must be between the roll-up window and 1d (got {Duration.Format(MaxSpan)}).");
        if (Settle < TimeSpan.Zero || Settle > TimeSpan.FromHours(1))
            throw new InvalidOptionException($"{{Settle}} must be between 0s and 1h (got {Duration.Format(Settle)}).");
        if (MinSimilarity is <= 0 or > 1 || double.IsNaN(MinSimilarity))
            throw new InvalidOptionException($"{{MinSimilarity}} must be above 0 and at most 1 (got {MinSimilarity}).");
    }
}
