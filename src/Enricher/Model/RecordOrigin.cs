namespace Pipeline.Enricher.Model;

/// <summary>Where a record came from, so a rejected one can be found again: a file and line, or a shard and sequence number.</summary>
public readonly record struct RecordOrigin(string Source, long Line, int? Index = null, string? SequenceNumber = null)
{
    public override string ToString()
    {
        var where = Line > 0 ? $"{Source}:{Line}" : Source;
        if (Index is int i) where += $" Records[{i}]";
        if (SequenceNumber is not null) where += $" seq {SequenceNumber}";
        return where;
    }
}

/// <summary>
/// One unit of input: the bytes of one candidate event and where they came from. A reader that could
/// not even extract the bytes (bad base64, a Records entry that is not an object) sets <see cref="ReadError"/>,
/// so the record is still counted and reported as rejected rather than lost.
/// </summary>
public sealed record RawRecord(ReadOnlyMemory<byte> Data, RecordOrigin Origin, string? ReadError = null)
{
    /// <summary>When the record reached the stream (Kinesis' approximate arrival timestamp); null for a file, which has none.</summary>
    public DateTimeOffset? ArrivalTime { get; init; }
}
