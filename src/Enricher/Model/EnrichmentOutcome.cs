namespace Pipeline.Enricher.Model;

/// <summary>
/// What the Enricher decided about one received record. Exactly one outcome per record is the
/// conservation promise: received = rejected + duplicates + muted + accepted (and accepted = digested).
/// </summary>
public abstract record EnrichmentOutcome(RecordOrigin Origin)
{
    public sealed record Rejected(RecordOrigin Origin, string Reason) : EnrichmentOutcome(Origin);

    public sealed record Duplicate(RecordOrigin Origin, string Account, DateTimeOffset Time) : EnrichmentOutcome(Origin);

    public sealed record Muted(RecordOrigin Origin, string Account, DateTimeOffset Time, string Rule) : EnrichmentOutcome(Origin);

    public sealed record Accepted(RecordOrigin Origin, OrgEvent Event, AccountInfo? AccountInfo) : EnrichmentOutcome(Origin);
}
