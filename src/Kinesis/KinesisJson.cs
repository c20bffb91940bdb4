using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Pipeline.Kinesis;

/// <summary>Request bodies written with Utf8JsonWriter and answers read from JsonDocument: no reflection (NativeAOT).</summary>
internal static class KinesisJson
{
    public static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Epoch seconds with millisecond precision, as Kinesis expects timestamps.</summary>
    public static void WriteEpochSeconds(Utf8JsonWriter writer, string name, DateTimeOffset value) =>
        writer.WriteNumber(name, value.ToUnixTimeMilliseconds() / 1000m);

    public static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static string RequiredString(JsonElement element, string name) =>
        String(element, name) ?? throw new KinesisException("MalformedResponse", $"'{name}' missing from the answer.", 200);

    public static long? Long(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;

    /// <summary>Timestamps come as epoch seconds, possibly fractional (1545084650.987).</summary>
    public static DateTimeOffset EpochSeconds(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value)) return DateTimeOffset.UnixEpoch;
        var seconds = value.ValueKind == JsonValueKind.String
            ? decimal.Parse(value.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)
            : value.GetDecimal();
        return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000m));
    }

    public static Shard Shard(JsonElement e) => new(
        RequiredString(e, "ShardId"),
        String(e, "ParentShardId"),
        String(e, "AdjacentParentShardId"),
        HashKeyRange(e.GetProperty("HashKeyRange")),
        new SequenceNumberRange(
            RequiredString(e.GetProperty("SequenceNumberRange"), "StartingSequenceNumber"),
            String(e.GetProperty("SequenceNumberRange"), "EndingSequenceNumber")));

    public static HashKeyRange HashKeyRange(JsonElement e) => new(RequiredString(e, "StartingHashKey"), RequiredString(e, "EndingHashKey"));

    public static KinesisRecord Record(JsonElement e) => new(
        RequiredString(e, "SequenceNumber"),
        EpochSeconds(e, "ApproximateArrivalTimestamp"),
        e.GetProperty("Data").GetBytesFromBase64(),
        RequiredString(e, "PartitionKey"));

    public static ChildShard ChildShard(JsonElement e) => new(
        RequiredString(e, "ShardId"),
        e.TryGetProperty("ParentShards", out var parents) ? [.. parents.EnumerateArray().Select(p => p.GetString()!)] : [],
        e.TryGetProperty("HashKeyRange", out var range) ? HashKeyRange(range) : null);

    public static StreamSummary StreamSummary(JsonElement root)
    {
        var d = root.GetProperty("StreamDescriptionSummary");
        string? mode = d.TryGetProperty("StreamModeDetails", out var details) ? String(details, "StreamMode") : null;
        return new StreamSummary(
            RequiredString(d, "StreamName"),
            String(d, "StreamARN") ?? "",
            RequiredString(d, "StreamStatus"),
            mode,
            (int)(Long(d, "OpenShardCount") ?? 0),
            (int)(Long(d, "RetentionPeriodHours") ?? 0),
            d.TryGetProperty("StreamCreationTimestamp", out _) ? EpochSeconds(d, "StreamCreationTimestamp") : null);
    }
}
