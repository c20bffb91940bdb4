using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Signing;
using Polly;
using Polly.Retry;

namespace Pipeline.Kinesis;

/// <summary>
/// The slice of Kinesis Data Streams the pipeline needs, spoken directly: JSON 1.1 over HttpClient
/// (POST /, X-Amz-Target: Kinesis_20131202.Operation), signed by AWSSDK.Core's SigV4SigningHandler.
/// AWSSDK.Kinesis would do this for us but is not available to the build. Every call retries retryable
/// errors (<see cref="KinesisException.IsRetryable"/>) with exponential backoff timed by the TimeProvider;
/// the retries are Polly pipelines built once per client.
/// </summary>
public sealed class KinesisClient : IDisposable
{
    public const int MaxRecordsPerPut = 500;
    public const int MaxBytesPerPut = 5 * 1024 * 1024;
    public const int MaxBytesPerRecord = 1024 * 1024;

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/x-amz-json-1.1");

    private readonly KinesisClientOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly Func<double>? _jitter;
    private readonly ResiliencePipeline _callRetry;
    private readonly ResiliencePipeline<List<int>> _putRetry;

    /// <param name="innerHandler">The handler under the signer (tests capture requests here). Default: a pooled SocketsHttpHandler.</param>
    /// <param name="signedAt">Fixed signing time (SigV4 test vectors only).</param>
    public KinesisClient(KinesisClientOptions options, TimeProvider? time = null, HttpMessageHandler? innerHandler = null, DateTime? signedAt = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = time ?? TimeProvider.System;
        _endpoint = options.ServiceUrl ?? new Uri($"https://kinesis.{options.Region}.amazonaws.com/");

        var credentials = options.Credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials(null)
            ?? throw new InvalidOperationException("No AWS credentials: none in KinesisClientOptions.Credentials and none found by the default chain (environment, profile, container, instance role).");
        var signer = new SigV4SigningHandler(
            new AWSSigV4Parameters
            {
                Credentials = credentials,
                Region = RegionEndpoint.GetBySystemName(options.Region),
                Service = "kinesis",
                SignPayload = true,
                SignedAt = signedAt,
            },
            innerHandler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        // Timeouts are ours (RequestTimeout) so they surface as a retryable KinesisException.
        _http = new HttpClient(signer) { Timeout = Timeout.InfiniteTimeSpan };

        _jitter = options.BackoffJitter ? options.JitterSource ?? Backoff.NewJitterSource() : null;
        _callRetry = BuildCallRetry();
        _putRetry = BuildPutRetry();
    }

    public Uri Endpoint => _endpoint;

    /// <summary>Creates a stream with <paramref name="shardCount"/> shards, or ON_DEMAND when null; optionally waits until ACTIVE.</summary>
    public async Task CreateStreamAsync(string streamName, int? shardCount, bool waitUntilActive = true, CancellationToken cancellationToken = default)
    {
        if (shardCount is < 1) throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, "at least 1 shard, or null for ON_DEMAND");
        var body = KinesisJson.Write(w =>
        {
            w.WriteString("StreamName", streamName);
            if (shardCount is { } count) w.WriteNumber("ShardCount", count);
            else
            {
                w.WriteStartObject("StreamModeDetails");
                w.WriteString("StreamMode", "ON_DEMAND");
                w.WriteEndObject();
            }
        });
        await InvokeAsync("CreateStream", body, _ => true, cancellationToken).ConfigureAwait(false);
        if (waitUntilActive) await WaitForActiveAsync(streamName, cancellationToken).ConfigureAwait(false);
    }

    public Task DeleteStreamAsync(string streamName, CancellationToken cancellationToken = default) =>
        InvokeAsync("DeleteStream", KinesisJson.Write(w => w.WriteString("StreamName", streamName)), _ => true, cancellationToken);

    public Task<StreamSummary> DescribeStreamSummaryAsync(string streamName, CancellationToken cancellationToken = default) =>
        InvokeAsync("DescribeStreamSummary", KinesisJson.Write(w => w.WriteString("StreamName", streamName)), KinesisJson.StreamSummary, cancellationToken);

    /// <summary>Polls DescribeStreamSummary until the stream is ACTIVE (after create, split, merge); throws after ActiveTimeout.</summary>
    public async Task<StreamSummary> WaitForActiveAsync(string streamName, CancellationToken cancellationToken = default)
    {
        var started = _time.GetTimestamp();
        // Built per wait: the deadline counts from this call. Errors are not retried here (InvokeAsync already did).
        var poll = new ResiliencePipelineBuilder<StreamSummary> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<StreamSummary>
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { IsActive: false } && _time.GetElapsedTime(started) < _options.ActiveTimeout),
                MaxRetryAttempts = int.MaxValue, // bounded by ActiveTimeout instead
                BackoffType = DelayBackoffType.Constant,
                Delay = _options.StatusPollInterval,
            })
            .Build();
        var summary = await poll.ExecuteAsync(
            async token => await DescribeStreamSummaryAsync(streamName, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return summary.IsActive ? summary
            : throw new TimeoutException($"Stream {streamName} is still {summary.StreamStatus} after {_options.ActiveTimeout}.");
    }

    /// <summary>Every shard of the stream (open and closed), following NextToken across pages.</summary>
    public async Task<IReadOnlyList<Shard>> ListShardsAsync(string streamName, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        if (pageSize is < 1 or > 10_000) throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "1–10000");
        var shards = new List<Shard>();
        string? nextToken = null;
        do
        {
            var token = nextToken;
            // The API rejects StreamName together with NextToken: the token already names the stream.
            var body = KinesisJson.Write(w =>
            {
                if (token is null) w.WriteString("StreamName", streamName);
                else w.WriteString("NextToken", token);
                if (pageSize is { } size) w.WriteNumber("MaxResults", size);
            });
            nextToken = await InvokeAsync("ListShards", body, root =>
            {
                if (root.TryGetProperty("Shards", out var list))
                    shards.AddRange(list.EnumerateArray().Select(KinesisJson.Shard));
                return KinesisJson.String(root, "NextToken");
            }, cancellationToken).ConfigureAwait(false);
        }
        while (nextToken is not null);
        return shards;
    }

    public Task<string> GetShardIteratorAsync(string streamName, string shardId, ShardPosition position, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(position);
        var body = KinesisJson.Write(w =>
        {
            w.WriteString("StreamName", streamName);
            w.WriteString("ShardId", shardId);
            w.WriteString("ShardIteratorType", position.WireName);
            if (position.SequenceNumber is { } sequence) w.WriteString("StartingSequenceNumber", sequence);
            if (position.Timestamp is { } timestamp) KinesisJson.WriteEpochSeconds(w, "Timestamp", timestamp);
        });
        return InvokeAsync("GetShardIterator", body, root => KinesisJson.RequiredString(root, "ShardIterator"), cancellationToken);
    }

    /// <summary>
    /// One page of records. Throttling (ProvisionedThroughputExceededException) is retried with backoff here;
    /// ExpiredIteratorException is thrown for the caller to renew the iterator (<see cref="ShardReader"/> does).
    /// </summary>
    public Task<GetRecordsResult> GetRecordsAsync(string shardIterator, int? limit = null, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > 10_000) throw new ArgumentOutOfRangeException(nameof(limit), limit, "1–10000");
        var body = KinesisJson.Write(w =>
        {
            w.WriteString("ShardIterator", shardIterator);
            if (limit is { } l) w.WriteNumber("Limit", l);
        });
        return InvokeAsync("GetRecords", body, root => new GetRecordsResult(
            root.TryGetProperty("Records", out var records) ? [.. records.EnumerateArray().Select(KinesisJson.Record)] : [],
            KinesisJson.String(root, "NextShardIterator"),
            KinesisJson.Long(root, "MillisBehindLatest"),
            root.TryGetProperty("ChildShards", out var children) ? [.. children.EnumerateArray().Select(KinesisJson.ChildShard)] : []),
            cancellationToken);
    }

    /// <summary>
    /// Writes any number of records: batches of at most 500 records / 5 MiB, and within each batch retries
    /// only the entries the service reported as failed, with backoff, up to MaxAttempts requests. What still
    /// failed is reported in the outcome (not thrown). Non-retryable call errors (no such stream, validation) throw.
    /// Note: a retried record lands after records sent later in the same batch, so per-key order holds only
    /// for records that succeed on the first attempt.
    /// </summary>
    public async Task<PutRecordsOutcome> PutRecordsAsync(string streamName, IReadOnlyList<PutRecordsEntry> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        for (var i = 0; i < records.Count; i++) CheckRecord(records[i], i);

        var results = new PutRecordResult?[records.Count];
        var requests = 0;
        foreach (var batch in Batches(records))
            requests += await PutBatchAsync(streamName, records, batch, results, cancellationToken).ConfigureAwait(false);
        return new PutRecordsOutcome(results!, requests);
    }

    /// <summary>Splits a shard at <paramref name="newStartingHashKey"/> and waits until the stream is ACTIVE again.</summary>
    public async Task SplitShardAsync(string streamName, string shardToSplit, string newStartingHashKey, CancellationToken cancellationToken = default)
    {
        var body = KinesisJson.Write(w =>
        {
            w.WriteString("StreamName", streamName);
            w.WriteString("ShardToSplit", shardToSplit);
            w.WriteString("NewStartingHashKey", newStartingHashKey);
        });
        await InvokeAsync("SplitShard", body, _ => true, cancellationToken).ConfigureAwait(false);
        await WaitForActiveAsync(streamName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Merges two adjacent shards and waits until the stream is ACTIVE again.</summary>
    public async Task MergeShardsAsync(string streamName, string shardToMerge, string adjacentShardToMerge, CancellationToken cancellationToken = default)
    {
        var body = KinesisJson.Write(w =>
        {
            w.WriteString("StreamName", streamName);
            w.WriteString("ShardToMerge", shardToMerge);
            w.WriteString("AdjacentShardToMerge", adjacentShardToMerge);
        });
        await InvokeAsync("MergeShards", body, _ => true, cancellationToken).ConfigureAwait(false);
        await WaitForActiveAsync(streamName, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Sends one batch, then only its failed entries again while attempts remain; returns the number of requests.</summary>
    private async Task<int> PutBatchAsync(string streamName, IReadOnlyList<PutRecordsEntry> records, List<int> batch, PutRecordResult?[] results, CancellationToken cancellationToken)
    {
        var pending = batch;
        var requests = 0;
        await _putRetry.ExecuteAsync(async token =>
        {
            requests++;
            pending = await PutOnceAsync(streamName, records, pending, results, token).ConfigureAwait(false);
            return pending;
        }, cancellationToken).ConfigureAwait(false);
        return requests;
    }

    /// <summary>One PutRecords request for <paramref name="sending"/>; records each entry's result and returns the indexes that failed.</summary>
    private async Task<List<int>> PutOnceAsync(string streamName, IReadOnlyList<PutRecordsEntry> records, List<int> sending, PutRecordResult?[] results, CancellationToken cancellationToken)
    {
        var body = KinesisJson.Write(w =>
        {
            w.WriteString("StreamName", streamName);
            w.WriteStartArray("Records");
            foreach (var index in sending)
            {
                var record = records[index];
                w.WriteStartObject();
                w.WriteBase64String("Data", record.Data.Span);
                w.WriteString("PartitionKey", record.PartitionKey);
                if (record.ExplicitHashKey is { } hashKey) w.WriteString("ExplicitHashKey", hashKey);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });

        List<int> failed = [];
        try
        {
            using var answer = await SendOnceAsync("PutRecords", body, cancellationToken).ConfigureAwait(false);
            var entries = answer.RootElement.GetProperty("Records");
            if (entries.GetArrayLength() != sending.Count)
                throw new KinesisException("MalformedResponse", $"PutRecords answered {entries.GetArrayLength()} entries for {sending.Count} records.", 200);
            var position = 0;
            foreach (var entry in entries.EnumerateArray())
            {
                var index = sending[position++];
                var errorCode = KinesisJson.String(entry, "ErrorCode");
                results[index] = errorCode is null
                    ? new PutRecordResult(KinesisJson.RequiredString(entry, "SequenceNumber"), KinesisJson.String(entry, "ShardId"), null, null)
                    : new PutRecordResult(null, null, errorCode, KinesisJson.String(entry, "ErrorMessage"));
                if (errorCode is not null) failed.Add(index);
            }
        }
        catch (KinesisException e) when (e.IsRetryable)
        {
            // The whole call failed (throttled, 5xx, timeout): every record of it is still pending.
            foreach (var index in sending) results[index] = new PutRecordResult(null, null, e.ErrorType, e.ServiceMessage);
            failed = sending;
        }
        return failed;
    }

    /// <summary>Groups record indexes into requests of at most 500 records and 5 MiB (data + partition keys).</summary>
    private static IEnumerable<List<int>> Batches(IReadOnlyList<PutRecordsEntry> records)
    {
        var batch = new List<int>();
        var bytes = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var size = records[i].Data.Length + Encoding.UTF8.GetByteCount(records[i].PartitionKey);
            if (batch.Count == MaxRecordsPerPut || (batch.Count > 0 && bytes + size > MaxBytesPerPut))
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }
            batch.Add(i);
            bytes += size;
        }
        if (batch.Count > 0) yield return batch;
    }

    private static void CheckRecord(PutRecordsEntry record, int index)
    {
        if (record is null) throw new ArgumentException($"records[{index}] is null.");
        if (string.IsNullOrEmpty(record.PartitionKey) || record.PartitionKey.Length > 256)
            throw new ArgumentException($"records[{index}]: the partition key must be 1–256 characters.");
        if (record.Data.Length + Encoding.UTF8.GetByteCount(record.PartitionKey) > MaxBytesPerRecord)
            throw new ArgumentException($"records[{index}]: data plus partition key exceed 1 MiB.");
    }

    private async Task<T> InvokeAsync<T>(string operation, byte[] body, Func<JsonElement, T> parse, CancellationToken cancellationToken) =>
        await _callRetry.ExecuteAsync(async token =>
        {
            using var answer = await SendOnceAsync(operation, body, token).ConfigureAwait(false);
            return parse(answer.RootElement);
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>Every call: a retryable <see cref="KinesisException"/> is tried again, up to MaxAttempts calls; the last error is thrown as it was.</summary>
    private ResiliencePipeline BuildCallRetry() => _options.MaxAttempts == 1
        ? ResiliencePipeline.Empty
        : new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<KinesisException>(e => e.IsRetryable),
                MaxRetryAttempts = _options.MaxAttempts - 1,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(BackoffDelay(args.AttemptNumber)),
            })
            .Build();

    /// <summary>
    /// A PutRecords batch: the result is the entries that still failed, and only those are sent again. After the last
    /// attempt they are reported, not thrown; errors that are not retryable (no such stream) are thrown at once.
    /// </summary>
    private ResiliencePipeline<List<int>> BuildPutRetry() => _options.MaxAttempts == 1
        ? ResiliencePipeline<List<int>>.Empty
        : new ResiliencePipelineBuilder<List<int>> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<List<int>>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Count: > 0 }),
                MaxRetryAttempts = _options.MaxAttempts - 1,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(BackoffDelay(args.AttemptNumber)),
            })
            .Build();

    // Polly numbers retries from 0; Backoff numbers the failed attempt from 1.
    private TimeSpan BackoffDelay(int retry) => Backoff.Delay(retry + 1, _options.BaseBackoff, _options.MaxBackoff, _jitter);

    private async Task<JsonDocument> SendOnceAsync(string operation, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = JsonContentType;
        request.Headers.Add("X-Amz-Target", "Kinesis_20131202." + operation);

        // An I/O deadline on the wall clock; the TimeProvider times only our own pauses (backoff, polling).
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        linked.CancelAfter(_options.RequestTimeout);
        try
        {
            using var response = await _http.SendAsync(request, linked.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw KinesisException.FromResponse((int)response.StatusCode, bytes);
            try
            {
                return JsonDocument.Parse(bytes.Length == 0 ? "{}"u8.ToArray() : bytes);
            }
            catch (JsonException e)
            {
                throw new KinesisException("MalformedResponse", $"{operation} answered invalid JSON: {e.Message}", (int)response.StatusCode, e);
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KinesisException(KinesisException.RequestTimeout, $"{operation} got no answer within {_options.RequestTimeout}.", 0, e);
        }
        catch (HttpRequestException e)
        {
            throw new KinesisException(KinesisException.ConnectionFailure, $"{operation} to {_endpoint}: {e.Message}", 0, e);
        }
    }
}
