using Pipeline.Enricher.Configuration;
namespace Pipeline.Enricher.Dedupe;

/// <summary>How long and how many event ids the Enricher remembers to drop redeliveries.</summary>
public sealed record DedupeOptions
{
    /// <summary>
    /// Event time for which an id is remembered. EventBridge retries for up to 24 h, but in practice
    /// redeliveries arrive within minutes; one hour covers Kinesis and Lambda retries with room to spare.
    /// </summary>
    public TimeSpan Horizon { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Hard cap on remembered ids (memory bound under a flood); the oldest go first when it is reached.</summary>
    public int MaxEntries { get; init; } = 2_000_000;

    public void Validate()
    {
        if (Horizon <= TimeSpan.Zero) throw new InvalidOptionException($"{{Horizon}} must be positive (got {Horizon}).");
        if (MaxEntries < 1) throw new InvalidOptionException($"{{MaxEntries}} must be at least 1 (got {MaxEntries}).");
    }
}
