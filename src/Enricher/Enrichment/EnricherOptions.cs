using Pipeline.Enricher.Dedupe;

namespace Pipeline.Enricher.Enrichment;

/// <summary>Settings of the Enricher, validated once at start-up.</summary>
internal sealed record EnricherOptions
{
    public DedupeOptions Dedupe { get; init; } = new();

    /// <summary>Events whose account names are looked up together (DynamoDB answers up to 100 keys per request).</summary>
    public int NamingBatchSize { get; init; } = 100;

    /// <summary>
    /// Longest an event waits for its batch to fill before names are looked up anyway; null waits for
    /// the batch or the end of input (right for files, wrong for a live stream).
    /// </summary>
    public TimeSpan? NamingMaxDelay { get; init; }

    public void Validate()
    {
        Dedupe.Validate();
        if (NamingBatchSize is < 1 or > 100) throw new ArgumentException($"naming batch size must be 1–100 (got {NamingBatchSize}).");
        if (NamingMaxDelay is { } d && d <= TimeSpan.Zero) throw new ArgumentException($"naming delay must be positive (got {d}).");
    }
}
