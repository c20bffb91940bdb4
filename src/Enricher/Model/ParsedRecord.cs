using Pipeline.Enricher.Parsing;

namespace Pipeline.Enricher.Model;

/// <summary>
/// A record as <see cref="Enrichment.Enricher.Parse"/> read it: its event, or why it was refused. Not yet deduplicated nor
/// muted; hand it to <see cref="Enrichment.Enricher.Classify(ParsedRecord)"/>, once, in arrival order.
/// </summary>
/// <remarks>
/// Opaque outside the Enricher: a host only hands it on (and may read where the record came from). The record's bytes are
/// not part of it: <see cref="Enrichment.Enricher.Parse"/> is done with them, except for the envelope the mute rules read
/// (<see cref="Enrichment.Enricher.ParseKeepsBytes"/>), so a reader may reuse them once the record is parsed.
/// </remarks>
public readonly struct ParsedRecord
{
    internal ParsedRecord(RawRecord record, OrgEvent? evt, ParsedEvent? envelope, string? reason)
    {
        // Where and when, not the record itself: a transient reader hands the same record out again for the next line.
        Origin = record.Origin;
        ArrivalTime = record.ArrivalTime;
        Event = evt;
        EventWithEnvelope = envelope;
        Reason = reason;
        IsMade = true;
    }

    /// <summary>Where the record came from.</summary>
    public RecordOrigin Origin { get; }

    /// <summary>When the record reached the stream (null for a file).</summary>
    public DateTimeOffset? ArrivalTime { get; }

    /// <summary>False for <c>default</c>: a parsed record comes from <see cref="Enrichment.Enricher.Parse"/>.</summary>
    internal bool IsMade { get; }

    /// <summary>The event; null when the record was refused (<see cref="Reason"/>).</summary>
    internal OrgEvent? Event { get; }

    /// <summary>Why the record was refused; null when it was read.</summary>
    internal string? Reason { get; }

    /// <summary>The event with its envelope, kept for the mute rules only (null without them); disposed by Classify.</summary>
    internal ParsedEvent? EventWithEnvelope { get; }
}
