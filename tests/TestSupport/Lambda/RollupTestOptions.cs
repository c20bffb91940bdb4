using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rollups;
using Pipeline.Lambda.Windows;

namespace Pipeline.TestSupport.Lambda;

/// <summary>
/// Roll-ups are on by default, and the tests' events come from a role session (an automated actor), so a test about
/// windows, carries or delivery turns them off: its digests are then posted as they close instead of held for the sweeper.
/// </summary>
public static class RollupTestOptions
{
    public static readonly RollupOptions Off = new() { MinAccounts = 0 };

    public static DigestCoreOptions WithoutRollups(this DigestCoreOptions options) => options with { Rollup = Off };

    public static KinesisWindowHandlerOptions WithoutRollups(this KinesisWindowHandlerOptions options) => options with { Core = options.Core.WithoutRollups() };
}
