using System.Runtime.CompilerServices;
using Polly;
using Polly.Retry;

namespace Pipeline.Kinesis;

/// <summary>Settings of <see cref="ShardReader"/>.</summary>
public sealed record ShardReaderOptions
{
    /// <summary>Where to start when there is no checkpoint. Default TRIM_HORIZON (the oldest record kept).</summary>
    public ShardPosition StartWithoutCheckpoint { get; init; } = ShardPosition.TrimHorizon;

    /// <summary>GetRecords Limit per call, 1–10000. Default 1000.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>
    /// Stop when a call returns no records and the reader is at the tip (MillisBehindLatest 0), instead of
    /// polling for more. Default false (a consumer keeps reading); drains and tests set it.
    /// </summary>
    public bool StopAtTip { get; init; }

    /// <summary>Pause after an empty page before asking again (a shard allows 5 GetRecords calls/s). Default 1 s.</summary>
    public TimeSpan IdleDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times in a row an expired iterator is renewed before giving up. Default 3.</summary>
    public int MaxIteratorRenewals { get; init; } = 3;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(StartWithoutCheckpoint);
        if (BatchSize is < 1 or > 10_000) throw new ArgumentException($"ShardReaderOptions.BatchSize must be 1–10000, got {BatchSize}.");
        if (IdleDelay < TimeSpan.Zero) throw new ArgumentException($"ShardReaderOptions.IdleDelay must not be negative, got {IdleDelay}.");
        if (MaxIteratorRenewals < 0) throw new ArgumentException($"ShardReaderOptions.MaxIteratorRenewals must not be negative, got {MaxIteratorRenewals}.");
    }
}

/// <summary>
/// Reads one shard in sequence order, resuming AFTER_SEQUENCE_NUMBER a checkpoint. An expired iterator is
/// renewed from the last sequence number seen, so no record is skipped or repeated. The enumeration ends
/// when the shard is closed and drained (<see cref="ShardEnded"/>, with <see cref="ChildShards"/> when the
/// service names them), or at the tip when <see cref="ShardReaderOptions.StopAtTip"/> is set.
/// One reader reads once; make a new one (with the checkpoint) to read again.
/// </summary>
public sealed class ShardReader
{
    private readonly KinesisClient _client;
    private readonly string _streamName;
    private readonly string _shardId;
    private readonly ShardReaderOptions _options;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _renewal;
    private string _iterator = ""; // the one GetRecords reads with next; renewed when it expires

    public ShardReader(KinesisClient client, string streamName, string shardId, ShardReaderOptions? options = null, TimeProvider? time = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _streamName = streamName;
        _shardId = shardId;
        _options = options ?? new ShardReaderOptions();
        _options.Validate();
        _time = time ?? TimeProvider.System;
        _renewal = BuildRenewal();
    }

    public string ShardId => _shardId;

    /// <summary>Sequence number of the last record yielded (the checkpoint to store), or the starting checkpoint.</summary>
    public string? LastSequenceNumber { get; private set; }

    /// <summary>True once the shard was closed by a reshard and every record of it was read.</summary>
    public bool ShardEnded { get; private set; }

    /// <summary>Children named by the last GetRecords of a drained shard (empty where the service sends none: use ListShards).</summary>
    public IReadOnlyList<ChildShard> ChildShards { get; private set; } = [];

    /// <summary>How many times an expired iterator was renewed.</summary>
    public int IteratorRenewals { get; private set; }

    public long? MillisBehindLatest { get; private set; }

    /// <summary>
    /// The iterator of the next page once the enumeration stopped at the tip (null before). A reader that started at LATEST and
    /// read nothing has no sequence number to resume after: the next read continues from this iterator
    /// (<see cref="ContinueAsync"/>), or a fresh LATEST would skip what was put in between.
    /// </summary>
    public string? NextIterator { get; private set; }

    /// <param name="checkpoint">Sequence number of the last record already processed; null to start at <see cref="ShardReaderOptions.StartWithoutCheckpoint"/>.</param>
    public IAsyncEnumerable<KinesisRecord> ReadAsync(string? checkpoint = null, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(checkpoint, iterator: null, cancellationToken);

    /// <summary>
    /// Reads on from the <see cref="NextIterator"/> of an earlier reader of this shard that read no record. (If that iterator has
    /// expired, the renewal starts again at <see cref="ShardReaderOptions.StartWithoutCheckpoint"/>.)
    /// </summary>
    public IAsyncEnumerable<KinesisRecord> ContinueAsync(string iterator, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(checkpoint: null, iterator ?? throw new ArgumentNullException(nameof(iterator)), cancellationToken);

    private async IAsyncEnumerable<KinesisRecord> ReadCoreAsync(string? checkpoint, string? iterator, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        LastSequenceNumber = checkpoint;
        _iterator = iterator ?? await _client.GetShardIteratorAsync(_streamName, _shardId, ResumePosition(), cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var page = await _renewal.ExecuteAsync(
                async token => await _client.GetRecordsAsync(_iterator, _options.BatchSize, token).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);

            MillisBehindLatest = page.MillisBehindLatest;
            foreach (var record in page.Records)
            {
                LastSequenceNumber = record.SequenceNumber;
                yield return record;
            }

            if (page.ShardEnded)
            {
                ShardEnded = true;
                ChildShards = page.ChildShards;
                yield break;
            }
            _iterator = page.NextShardIterator!;

            if (page.Records.Count == 0)
            {
                if (_options.StopAtTip && page.MillisBehindLatest is null or 0)
                {
                    NextIterator = _iterator;
                    yield break;
                }
                await Task.Delay(_options.IdleDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// GetRecords with an expired iterator: renew it and ask again, at most MaxIteratorRenewals times per page
    /// (a page that arrives starts the count afresh); then the ExpiredIteratorException is thrown.
    /// </summary>
    private ResiliencePipeline BuildRenewal() => _options.MaxIteratorRenewals == 0
        ? ResiliencePipeline.Empty
        : new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<KinesisException>(e => e.IsExpiredIterator),
                MaxRetryAttempts = _options.MaxIteratorRenewals,
                Delay = TimeSpan.Zero, // what is needed is a new iterator, not a pause
                OnRetry = async args =>
                {
                    // Iterators live 5 minutes; a slow consumer renews from what it has already yielded.
                    IteratorRenewals++;
                    _iterator = await _client.GetShardIteratorAsync(_streamName, _shardId, ResumePosition(), args.Context.CancellationToken).ConfigureAwait(false);
                },
            })
            .Build();

    private ShardPosition ResumePosition() =>
        LastSequenceNumber is null ? _options.StartWithoutCheckpoint : ShardPosition.After(LastSequenceNumber);
}

/// <summary>
/// Read order across a reshard: a child shard's records for a key come after its parents' records for that
/// key, so a parent (ParentShardId, and AdjacentParentShardId after a merge) must be drained first.
/// </summary>
public static class ShardOrder
{
    /// <summary>
    /// All shards, every parent before its children (ties by shard id). Parents no longer listed (past
    /// retention) are treated as already read.
    /// </summary>
    public static IReadOnlyList<Shard> ParentsFirst(IReadOnlyList<Shard> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var ordered = new List<Shard>(shards.Count);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var remaining = shards.OrderBy(s => s.ShardId, StringComparer.Ordinal).ToList();
        while (remaining.Count > 0)
        {
            var ready = ReadyToRead(remaining, done, shards);
            if (ready.Count == 0) throw new InvalidOperationException("Shard parent links form a cycle: " + string.Join(", ", remaining.Select(s => s.ShardId)));
            foreach (var shard in ready)
            {
                ordered.Add(shard);
                done.Add(shard.ShardId);
                remaining.Remove(shard);
            }
        }
        return ordered;
    }

    /// <summary>Shards not yet finished whose listed parents are all finished: the ones a consumer may read now.</summary>
    public static IReadOnlyList<Shard> ReadyToRead(IReadOnlyList<Shard> shards, IReadOnlySet<string> finished)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(finished);
        return ReadyToRead(shards.Where(s => !finished.Contains(s.ShardId)).OrderBy(s => s.ShardId, StringComparer.Ordinal).ToList(), finished, shards);
    }

    private static List<Shard> ReadyToRead(IReadOnlyList<Shard> candidates, IReadOnlySet<string> finished, IReadOnlyList<Shard> all)
    {
        var listed = all.Select(s => s.ShardId).ToHashSet(StringComparer.Ordinal);
        return [.. candidates.Where(s => s.Parents.All(p => finished.Contains(p) || !listed.Contains(p)))];
    }
}
