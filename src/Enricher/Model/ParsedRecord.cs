using Pipeline.Enricher.Parsing;

namespace Pipeline.Enricher.Model;

/// <summary>
/// A record as <see cref="Enrichment.Enricher.Parse"/> read it: its event, or why it was refused. Not yet deduplicated nor
/// muted; hand it to <see cref="Enrichment.Enricher.Classify(ParsedRecord)"/>, once, in arrival order.
/// </summary>
/// <remarks>Opaque outside the Enricher: a host only hands it on (and may read <see cref="Record"/>).</remarks>
public readonly struct ParsedRecord
{
    internal ParsedRecord(RawRecord record, OrgEvent? evt, ParsedEvent? envelope, string? reason)
    {
        Record = record;
        Event = evt;
        EventWithEnvelope = envelope;
        Reason = reason;
    }

    public RawRecord Record { get; }

    /// <summary>The event; null when the record was refused (<see cref="Reason"/>).</summary>
    internal OrgEvent? Event { get; }

    /// <summary>Why the record was refused; null when it was read.</summary>
    internal string? Reason { get; }

    /// <summary>The event with its envelope, kept for the mute rules only (null without them); disposed by Classify.</summary>
    internal ParsedEvent? EventWithEnvelope { get; }
}
