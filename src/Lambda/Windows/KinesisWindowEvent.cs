using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Pipeline.Enricher.Reading;

namespace Pipeline.Lambda.Windows;

/// <summary>One Kinesis record of a batch. <see cref="ReadError"/> is set when its bytes could not even be extracted.</summary>
public sealed record KinesisRecord(string? SequenceNumber, string? PartitionKey, ReadOnlyMemory<byte> Data, string? ReadError = null)
{
    /// <summary>When the record reached the stream (<c>approximateArrivalTimestamp</c>): the processing clock.</summary>
    public DateTimeOffset? ArrivalTime { get; init; }
}

/// <summary>
/// What Lambda sends a function mapped to a Kinesis stream with a tumbling window: the batch (records of one
/// shard, in order), the window, the state the previous invocation of this window returned, and whether this
/// is the window's final invocation. A plain Kinesis event (no window) reads as a window of its own that is final.
/// </summary>
public sealed record KinesisWindowEvent
{
    public required IReadOnlyList<KinesisRecord> Records { get; init; }
    public string ShardId { get; init; } = "unknown-shard";
    public string? EventSourceArn { get; init; }
    public DateTimeOffset? WindowStart { get; init; }
    public DateTimeOffset? WindowEnd { get; init; }
    /// <summary>The state as Lambda passed it: strings, and numbers as their JSON text.</summary>
    public IReadOnlyDictionary<string, string> State { get; init; } = new Dictionary<string, string>();
    public bool IsFinalInvokeForWindow { get; init; }
    public bool IsWindowTerminatedEarly { get; init; }

    /// <summary>True when the event carried a window: Lambda then requires a <c>state</c> in the response.</summary>
    public bool HasWindow => WindowStart is not null;

    /// <summary>Reads the event; throws <see cref="FormatException"/> when it is not a Kinesis event at all.</summary>
    public static KinesisWindowEvent Parse(ReadOnlyMemory<byte> json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new FormatException("the invocation event is not JSON: " + e.Message, e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Records", out var items) || items.ValueKind != JsonValueKind.Array)
                throw new FormatException("the invocation event has no \"Records\" array: is the function mapped to a Kinesis stream?");

            var records = new List<KinesisRecord>(items.GetArrayLength());
            foreach (var item in items.EnumerateArray()) records.Add(ReadRecord(item));

            var window = root.TryGetProperty("window", out var w) && w.ValueKind == JsonValueKind.Object ? w : default;
            var start = Time(window, "start");
            return new KinesisWindowEvent
            {
                Records = records,
                ShardId = Str(root, "shardId") ?? ShardFromEventId(records.Count > 0 ? items[0] : default) ?? "unknown-shard",
                EventSourceArn = Str(root, "eventSourceARN"),
                WindowStart = start,
                WindowEnd = Time(window, "end"),
                State = ReadState(root),
                // Without a window every invocation stands alone, so it is its own final one.
                IsFinalInvokeForWindow = start is null || Bool(root, "isFinalInvokeForWindow"),
                IsWindowTerminatedEarly = Bool(root, "isWindowTerminatedEarly"),
            };
        }
    }

    private static KinesisRecord ReadRecord(JsonElement item) =>
        KinesisEventRecord.TryRead(item) is { } r
            ? new KinesisRecord(r.SequenceNumber, r.PartitionKey, r.Data, r.ReadError) { ArrivalTime = r.ArrivalTime }
            : new KinesisRecord(null, null, ReadOnlyMemory<byte>.Empty, "Records entry has no \"kinesis\" object");

    /// <summary>AWS's own .NET type reads state values as strings and also accepts numbers (its sample uses numbers).</summary>
    private static Dictionary<string, string> ReadState(JsonElement root)
    {
        var state = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!root.TryGetProperty("state", out var s) || s.ValueKind != JsonValueKind.Object) return state;
        foreach (var p in s.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.String) state[p.Name] = p.Value.GetString()!;
            else if (p.Value.ValueKind == JsonValueKind.Number) state[p.Name] = p.Value.GetRawText();
        }
        return state;
    }

    private static string? ShardFromEventId(JsonElement first)
    {
        // eventID is "shardId-000000000006:<sequence>" on every record.
        var id = first.ValueKind == JsonValueKind.Object ? Str(first, "eventID") : null;
        int colon = id?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon > 0 ? id![..colon] : null;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Bool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static DateTimeOffset? Time(JsonElement e, string name) =>
        Str(e, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}

/// <summary>
/// The function's answer: the window state to carry on (strings only) and the records to retry. Lambda resumes
/// from the lowest reported sequence number; an empty list means the whole batch succeeded.
/// </summary>
public sealed record WindowResponse(IReadOnlyDictionary<string, string>? State, IReadOnlyList<string> BatchItemFailures)
{
    /// <summary>
    /// The window's running totals after this invocation (not sent to Lambda): a local host adds up the totals of
    /// finished windows to report the whole run. Null on a failed invocation.
    /// </summary>
    public Aggregator.Bursts.RunSummary? Summary { get; init; }

    public static IReadOnlyDictionary<string, string> EmptyState { get; } = new Dictionary<string, string>();

    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public void Write(IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        if (State is not null)
        {
            w.WriteStartObject("state");
            foreach (var (key, value) in State.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(key, value);
            w.WriteEndObject();
        }
        w.WriteStartArray("batchItemFailures");
        foreach (var id in BatchItemFailures)
        {
            w.WriteStartObject();
            w.WriteString("itemIdentifier", id);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Bytes of the response JSON: what Lambda's state limit is measured against (with margin).</summary>
    public int SizeInBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        Write(buffer);
        return buffer.WrittenCount;
    }
}
