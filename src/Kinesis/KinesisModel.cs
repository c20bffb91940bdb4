namespace Pipeline.Kinesis;

/// <summary>One record to write. Data plus partition key must stay within 1 MiB.</summary>
public sealed record PutRecordsEntry(ReadOnlyMemory<byte> Data, string PartitionKey, string? ExplicitHashKey = null);

/// <summary>What became of one written record: a sequence number and shard, or the last error it got.</summary>
public sealed record PutRecordResult(string? SequenceNumber, string? ShardId, string? ErrorCode, string? ErrorMessage)
{
    public bool Succeeded => SequenceNumber is not null;
}

/// <summary>
/// The outcome of <see cref="KinesisClient.PutRecordsAsync"/>: one result per input record, in input order.
/// Records that still failed after the last attempt are reported here, not thrown.
/// </summary>
public sealed record PutRecordsOutcome(IReadOnlyList<PutRecordResult> Results, int Requests)
{
    public int FailedCount => Results.Count(r => !r.Succeeded);

    /// <summary>Indexes into the input of the records that were not written.</summary>
    public IReadOnlyList<int> FailedIndexes => [.. Results.Select((r, i) => (r, i)).Where(p => !p.r.Succeeded).Select(p => p.i)];
}

/// <summary>A record read from a shard.</summary>
public sealed record KinesisRecord(string SequenceNumber, DateTimeOffset ApproximateArrivalTimestamp, byte[] Data, string PartitionKey);

public sealed record HashKeyRange(string StartingHashKey, string EndingHashKey);

public sealed record SequenceNumberRange(string StartingSequenceNumber, string? EndingSequenceNumber);

/// <summary>A shard as ListShards describes it. A shard with an ending sequence number is closed (resharded).</summary>
public sealed record Shard(string ShardId, string? ParentShardId, string? AdjacentParentShardId, HashKeyRange HashKeyRange, SequenceNumberRange SequenceNumberRange)
{
    public bool IsClosed => SequenceNumberRange.EndingSequenceNumber is not null;

    public IEnumerable<string> Parents => new[] { ParentShardId, AdjacentParentShardId }.OfType<string>();
}

/// <summary>A child of a closed shard, as GetRecords reports it once the parent is drained.</summary>
public sealed record ChildShard(string ShardId, IReadOnlyList<string> ParentShards, HashKeyRange? HashKeyRange);

/// <summary>One GetRecords page. A null <see cref="NextShardIterator"/> means the shard is closed and fully read.</summary>
public sealed record GetRecordsResult(IReadOnlyList<KinesisRecord> Records, string? NextShardIterator, long? MillisBehindLatest, IReadOnlyList<ChildShard> ChildShards)
{
    public bool ShardEnded => NextShardIterator is null;
}

/// <param name="CreatedAt">StreamCreationTimestamp: what tells a stream from one deleted and recreated under the same name (and ARN); null when the answer has none.</param>
public sealed record StreamSummary(string StreamName, string StreamArn, string StreamStatus, string? StreamMode, int OpenShardCount, int RetentionPeriodHours, DateTimeOffset? CreatedAt = null)
{
    public bool IsActive => StreamStatus == "ACTIVE";
}

public enum ShardIteratorType
{
    TrimHorizon,
    Latest,
    AtSequenceNumber,
    AfterSequenceNumber,
    AtTimestamp,
}

/// <summary>Where a shard iterator starts.</summary>
public sealed record ShardPosition(ShardIteratorType Type, string? SequenceNumber = null, DateTimeOffset? Timestamp = null)
{
    public static ShardPosition TrimHorizon { get; } = new(ShardIteratorType.TrimHorizon);

    public static ShardPosition Latest { get; } = new(ShardIteratorType.Latest);

    public static ShardPosition At(string sequenceNumber) => new(ShardIteratorType.AtSequenceNumber, Checked(sequenceNumber));

    public static ShardPosition After(string sequenceNumber) => new(ShardIteratorType.AfterSequenceNumber, Checked(sequenceNumber));

    public static ShardPosition AtTimestamp(DateTimeOffset timestamp) => new(ShardIteratorType.AtTimestamp, Timestamp: timestamp);

    internal string WireName => Type switch
    {
        ShardIteratorType.TrimHorizon => "TRIM_HORIZON",
        ShardIteratorType.Latest => "LATEST",
        ShardIteratorType.AtSequenceNumber => "AT_SEQUENCE_NUMBER",
        ShardIteratorType.AfterSequenceNumber => "AFTER_SEQUENCE_NUMBER",
        ShardIteratorType.AtTimestamp => "AT_TIMESTAMP",
        _ => throw new ArgumentOutOfRangeException(nameof(Type), Type, null),
    };

    private static string Checked(string sequenceNumber) =>
        Kinesis.SequenceNumber.IsValid(sequenceNumber) ? sequenceNumber
            : throw new ArgumentException($"'{sequenceNumber}' is not a sequence number.", nameof(sequenceNumber));
}
