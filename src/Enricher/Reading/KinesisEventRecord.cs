using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Reading;

/// <summary>
/// One entry of the event Lambda sends a function mapped to a Kinesis stream,
/// <c>{"Records":[{"kinesis":{"sequenceNumber":…,"partitionKey":…,"data":"&lt;base64&gt;"}}]}</c>. The Lambda reads
/// every invocation with it and <c>pipeline digest</c> a saved event, so both decode, and reject, alike:
/// <see cref="ReadError"/> says why <see cref="Data"/> could not be extracted, and the record is rejected, never the batch.
/// </summary>
/// <remarks>
/// Two readers, one set of rules: <see cref="TryRead(JsonElement)"/> over a parsed document (a saved event), and
/// <see cref="ReadKinesis"/> in one forward pass over the JSON bytes (the function's batches, up to 6 MB, where a
/// document of the whole event and an array per record were most of the cost of reading it).
/// </remarks>
public sealed record KinesisEventRecord(string? SequenceNumber, string? PartitionKey, ReadOnlyMemory<byte> Data, string? ReadError = null)
{
    public const string NoKinesisObject = "Records entry has no \"kinesis\" object";
    private const string NoData = "Kinesis record has no data";
    private const string NotBase64 = "Kinesis record data is not base64";

    /// <summary>When the record reached the stream (<c>approximateArrivalTimestamp</c>, epoch seconds); null when absent.</summary>
    public DateTimeOffset? ArrivalTime { get; init; }

    /// <summary>The entry's record; null when <paramref name="item"/> has no <c>kinesis</c> object (some other item, e.g. a CloudTrail record).</summary>
    public static KinesisEventRecord? TryRead(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("kinesis", out var kinesis) || kinesis.ValueKind != JsonValueKind.Object)
            return null;
        var sequence = TryGetString(kinesis, "sequenceNumber");
        var key = TryGetString(kinesis, "partitionKey");
        var arrival = kinesis.TryGetProperty("approximateArrivalTimestamp", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetDouble(out var seconds)
            ? ArrivalOf(seconds)
            : null;
        if (!kinesis.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.String)
            return new(sequence, key, ReadOnlyMemory<byte>.Empty, NoData) { ArrivalTime = arrival };
        // Decoded from the JSON bytes, with no string in between (white space is skipped, as Convert skips it).
        return data.TryGetBytesFromBase64(out var bytes)
            ? new(sequence, key, bytes) { ArrivalTime = arrival }
            : new(sequence, key, ReadOnlyMemory<byte>.Empty, NotBase64) { ArrivalTime = arrival };
    }

    /// <summary>
    /// Reads the value of an entry's <c>kinesis</c> property: <paramref name="reader"/> stands on its
    /// <see cref="JsonTokenType.StartObject"/> and is left on the matching end. <paramref name="json"/> is the buffer the
    /// reader reads, which the caller gives up: <c>data</c> is decoded in place (its bytes are shorter than their base64),
    /// so <see cref="Data"/> is a slice of it and that part of the buffer is no longer JSON. A <c>data</c> string with
    /// JSON escapes in it is rare; it is unescaped into an array of its own.
    /// </summary>
    /// <remarks>
    /// The rules of <see cref="TryRead(JsonElement)"/>: of a repeated property the last counts, and <c>data</c> whose escapes
    /// are not text (a lone surrogate) throws <see cref="InvalidOperationException"/>, with the reader on the object's end.
    /// </remarks>
    public static KinesisEventRecord ReadKinesis(ref Utf8JsonReader reader, Memory<byte> json)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new ArgumentException("the reader must stand on the kinesis object", nameof(reader));
        string? sequence = null, key = null;
        DateTimeOffset? arrival = null;
        // Where the last "data" string is (its opening quote), decoded once the object is read: an earlier one does not count.
        (int At, int Length, bool Escaped)? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (NameIs(ref reader, "sequenceNumber"u8))
            {
                reader.Read();
                sequence = TryGetString(ref reader);
            }
            else if (NameIs(ref reader, "partitionKey"u8))
            {
                reader.Read();
                // An account id on every record of a batch: one string per account, not one per record.
                key = reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && System.Text.Ascii.IsValid(reader.ValueSpan)
                    ? Parsing.StringCache.Shared.Get(reader.ValueSpan)
                    : TryGetString(ref reader);
            }
            else if (NameIs(ref reader, "approximateArrivalTimestamp"u8))
            {
                reader.Read();
                arrival = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var seconds) ? ArrivalOf(seconds) : null;
            }
            else if (NameIs(ref reader, "data"u8))
            {
                reader.Read();
                data = reader.TokenType == JsonTokenType.String ? (checked((int)reader.TokenStartIndex), reader.ValueSpan.Length, reader.ValueIsEscaped) : null;
            }
            else
            {
                reader.Read();
            }
            reader.Skip(); // a value of another kind than expected (an object, an array) is passed over whole
        }
        if (data is not { } d) return new(sequence, key, ReadOnlyMemory<byte>.Empty, NoData) { ArrivalTime = arrival };
        return TryDecode(json, d.At, d.Length, d.Escaped, out var bytes)
            ? new(sequence, key, bytes) { ArrivalTime = arrival }
            : new(sequence, key, ReadOnlyMemory<byte>.Empty, NotBase64) { ArrivalTime = arrival };
    }

    /// <summary>
    /// Whether the property name the reader stands on is <paramref name="name"/>. A name whose escapes are not text (a
    /// lone surrogate) is no name of ours: a parsed document threw on meeting one while it looked for a property, which
    /// failed the whole batch; here it is passed over like any other property.
    /// </summary>
    public static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        if (!reader.ValueIsEscaped) return reader.ValueSpan.SequenceEqual(name);
        try
        {
            return reader.ValueTextEquals(name);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decodes the base64 string whose opening quote is at <paramref name="at"/>; false when it is not base64. Throws
    /// <see cref="InvalidOperationException"/>, as <see cref="JsonElement.TryGetBytesFromBase64"/> does, when its escapes are not text.
    /// </summary>
    private static bool TryDecode(Memory<byte> json, int at, int length, bool escaped, out ReadOnlyMemory<byte> bytes)
    {
        if (escaped)
        {
            var reader = new Utf8JsonReader(json.Span[at..]);
            reader.Read();
            bool ok = reader.TryGetBytesFromBase64(out var unescaped);
            bytes = unescaped;
            return ok;
        }
        var value = json.Slice(at + 1, length);
        bool done = DecodeInPlace(value.Span, out int written);
        bytes = done ? value[..written] : default;
        return done;
    }

    /// <summary>
    /// <see cref="Base64.DecodeFromUtf8InPlace"/>'s result (white space skipped, the same verdict on every input), eight
    /// times as fast: that one decodes a byte at a time, <see cref="Base64.DecodeFromUtf8(ReadOnlySpan{byte}, Span{byte}, out int, out int, bool)"/>
    /// many at once but into other memory. So the bytes are decoded into a rented buffer and copied back over the text,
    /// whose first three quarters they fill: a batch's records are decoded where they lie, without a copy of the batch.
    /// </summary>
    internal static bool DecodeInPlace(Span<byte> text, out int written)
    {
        var decoded = ArrayPool<byte>.Shared.Rent(Math.Max(1, Base64.GetMaxDecodedFromUtf8Length(text.Length)));
        try
        {
            if (Base64.DecodeFromUtf8(text, decoded, out _, out written) != OperationStatus.Done)
            {
                written = 0;
                return false;
            }
            decoded.AsSpan(0, written).CopyTo(text);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(decoded);
        }
    }

    private static DateTimeOffset? ArrivalOf(double seconds)
    {
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

    private static string? TryGetString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String) return null;
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
