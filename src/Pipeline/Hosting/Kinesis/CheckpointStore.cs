using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Polly;
using Polly.Retry;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>Where `pipeline run` keeps each shard's checkpoint, so a killed run resumes where it stood.</summary>
internal interface ICheckpointStore
{
    Task<IReadOnlyDictionary<string, ShardCheckpoint>> LoadAsync(string stream, CancellationToken cancellationToken);

    /// <summary>Saves durably before returning: the next record is only read after this.</summary>
    Task SaveAsync(string stream, ShardCheckpoint checkpoint, CancellationToken cancellationToken);
}

/// <summary>
/// Checkpoints in one JSON file, rewritten whole on every save through a temporary file and an atomic rename,
/// so a process killed at any moment leaves either the old or the new checkpoint, never half of one.
/// </summary>
internal sealed class FileCheckpointStore(string path) : ICheckpointStore
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Dictionary<string, ShardCheckpoint>> _streams = new(StringComparer.Ordinal);

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public async Task<IReadOnlyDictionary<string, ShardCheckpoint>> LoadAsync(string stream, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _streams.Clear();
            if (File.Exists(Path))
            {
                using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path, cancellationToken).ConfigureAwait(false));
                foreach (var s in doc.RootElement.GetProperty("streams").EnumerateObject())
                {
                    var shards = new Dictionary<string, ShardCheckpoint>(StringComparer.Ordinal);
                    foreach (var shard in s.Value.EnumerateArray())
                    {
                        var cp = ShardCheckpoint.Read(shard);
                        shards[cp.ShardId] = cp;
                    }
                    _streams[s.Name] = shards;
                }
            }
            return _streams.TryGetValue(stream, out var found) ? new Dictionary<string, ShardCheckpoint>(found) : new Dictionary<string, ShardCheckpoint>();
        }
        catch (JsonException e)
        {
            throw new Enricher.Reading.InputException($"checkpoint file '{Path}' is damaged ({e.Message}); move it away to start over from the stream's oldest record.", e);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SaveAsync(string stream, ShardCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_streams.TryGetValue(stream, out var shards)) _streams[stream] = shards = new(StringComparer.Ordinal);
            shards[checkpoint.ShardId] = checkpoint;
            var temp = Path + ".tmp";
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await using (var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true }))
                {
                    w.WriteStartObject();
                    w.WriteNumber("version", 1);
                    w.WriteStartObject("streams");
                    foreach (var (name, list) in _streams.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    {
                        w.WriteStartArray(name);
                        foreach (var cp in list.Values.OrderBy(c => c.ShardId, StringComparer.Ordinal)) cp.Write(w);
                        w.WriteEndArray();
                    }
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, Path, overwrite: true);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>Checkpoints in a DynamoDB table (partition key <c>stream</c>, sort key <c>shardId</c>), for a consumer that may move between machines.</summary>
internal sealed class DynamoDbCheckpointStore(IAmazonDynamoDB client, string table, TimeProvider time) : ICheckpointStore
{
    /// <summary>How often a table being created is asked whether it is ready, and how many times (about 30 s in all).</summary>
    internal static TimeSpan StatusPollInterval => DynamoDbTables.StatusPollInterval;
    internal const int StatusPolls = DynamoDbTables.StatusPolls;

    public async Task<IReadOnlyDictionary<string, ShardCheckpoint>> LoadAsync(string stream, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, ShardCheckpoint>(StringComparer.Ordinal);
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await client.QueryAsync(new QueryRequest
            {
                TableName = table,
                KeyConditionExpression = "#s = :s",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#s"] = "stream" },
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":s"] = new() { S = stream } },
                ExclusiveStartKey = start,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                using var doc = JsonDocument.Parse(item["checkpoint"].S);
                var cp = ShardCheckpoint.Read(doc.RootElement);
                found[cp.ShardId] = cp;
            }
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        } while (start is not null);
        return found;
    }

    public async Task SaveAsync(string stream, ShardCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) checkpoint.Write(w);
        await client.PutItemAsync(new PutItemRequest
        {
            TableName = table,
            Item = new Dictionary<string, AttributeValue>
            {
                ["stream"] = new() { S = stream },
                ["shardId"] = new() { S = checkpoint.ShardId },
                ["checkpoint"] = new() { S = System.Text.Encoding.UTF8.GetString(buffer.ToArray()) },
                ["updatedAt"] = new() { S = time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
            },
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the table (stream + shardId keys, on-demand) when missing.</summary>
    public Task CreateIfMissingAsync(CancellationToken cancellationToken) =>
        DynamoDbTables.CreateIfMissingAsync(client, new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("stream", ScalarAttributeType.S), new("shardId", ScalarAttributeType.S)],
            KeySchema = [new("stream", KeyType.HASH), new("shardId", KeyType.RANGE)],
        }, time, cancellationToken);

}
