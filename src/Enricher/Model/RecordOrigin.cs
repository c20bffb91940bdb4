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
/// <remarks>
/// A transient file reader (<c>RecordReader</c>'s <c>transient</c> mode) hands out one record again and again, each time with
/// the next line's bytes and place (<see cref="Reuse"/>): a record a line was a fourteenth of a replay's garbage. Everywhere
/// else a record is made once and never changes. (So a transient reader's record is no key for a dictionary: its hash
/// changes with each line.)
/// </remarks>
public sealed record RawRecord
{
    private ReadOnlyMemory<byte> _data;
    private RecordOrigin _origin;

    public RawRecord(ReadOnlyMemory<byte> Data, RecordOrigin Origin, string? ReadError = null)
    {
        _data = Data;
        _origin = Origin;
        this.ReadError = ReadError;
    }

    public ReadOnlyMemory<byte> Data { get => _data; init => _data = value; }

    public RecordOrigin Origin { get => _origin; init => _origin = value; }

    public string? ReadError { get; init; }

    /// <summary>When the record reached the stream (Kinesis' approximate arrival timestamp); null for a file, which has none.</summary>
    public DateTimeOffset? ArrivalTime { get; init; }

    /// <summary>The next line of a transient reader, in this same record (which has no read error and no arrival time).</summary>
    internal RawRecord Reuse(ReadOnlyMemory<byte> data, RecordOrigin origin)
    {
        _data = data;
        _origin = origin;
        return this;
    }
}
