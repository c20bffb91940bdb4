using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Reading;

/// <summary>
/// One entry of the event Lambda sends a function mapped to a Kinesis stream,
/// <c>{"Records":[{"kinesis":{"sequenceNumber":…,"partitionKey":…,"data":"&lt;base64&gt;"}}]}</c>. The Lambda reads
/// every invocation with it and <c>pipeline digest</c> a saved event, so both decode, and reject, alike:
/// <see cref="ReadError"/> says why <see cref="Data"/> could not be extracted, and the record is rejected, never the batch.
/// </summary>
public sealed record KinesisEventRecord(string? SequenceNumber, string? PartitionKey, ReadOnlyMemory<byte> Data, string? ReadError = null)
{
    /// <summary>When the record reached the stream (<c>approximateArrivalTimestamp</c>, epoch seconds); null when absent.</summary>
    public DateTimeOffset? ArrivalTime { get; init; }

    /// <summary>The entry's record; null when <paramref name="item"/> has no <c>kinesis</c> object (some other item, e.g. a CloudTrail record).</summary>
    public static KinesisEventRecord? TryRead(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("kinesis", out var kinesis) || kinesis.ValueKind != JsonValueKind.Object)
            return null;
        var sequence = TryGetString(kinesis, "sequenceNumber");
        var key = TryGetString(kinesis, "partitionKey");
        var arrival = ArrivalOf(kinesis);
        if (!kinesis.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.String)
            return new(sequence, key, ReadOnlyMemory<byte>.Empty, "Kinesis record has no data") { ArrivalTime = arrival };
        // Decoded from the JSON bytes, with no string in between (white space is skipped, as Convert skips it).
        return data.TryGetBytesFromBase64(out var bytes)
            ? new(sequence, key, bytes) { ArrivalTime = arrival }
            : new(sequence, key, ReadOnlyMemory<byte>.Empty, "Kinesis record data is not base64") { ArrivalTime = arrival };
    }

    private static DateTimeOffset? ArrivalOf(JsonElement kinesis)
    {
        if (!kinesis.TryGetProperty("approximateArrivalTimestamp", out var t) || t.ValueKind != JsonValueKind.Number || !t.TryGetDouble(out var seconds)) return null;
        // Epoch seconds with milliseconds; anything outside 1970–9999 is not a time Kinesis wrote.
        if (seconds is < 0 or > 253_402_300_799) return null;
        return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
    }

    /// <summary>The record for the Enricher, found again by its sequence number when rejected.</summary>
    public RawRecord ToRaw(RecordOrigin origin) => new(Data, origin with { SequenceNumber = SequenceNumber }, ReadError) { ArrivalTime = ArrivalTime };

    /// <summary>The string, or null when it is missing, not a string, or not decodable text (invalid UTF-8, an unpaired surrogate).</summary>
    private static string? TryGetString(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String) return null;
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
