using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Configuration;

namespace Pipeline.Enricher.Enrichment;

/// <summary>Settings of the Enricher, validated once at start-up.</summary>
public sealed record EnricherOptions
{
    public DedupeOptions Dedupe { get; init; } = new();

    /// <summary>Events whose account names are looked up together (DynamoDB answers up to 100 keys per request).</summary>
    public int NamingBatchSize { get; init; } = 100;


    public void Validate()
    {
        Dedupe.Validate();
        if (NamingBatchSize is < 1 or > 100) throw new InvalidOptionException($"{{NamingBatchSize}} must be 1–100: DynamoDB answers up to 100 keys per request (got {NamingBatchSize}).");
    }
}
