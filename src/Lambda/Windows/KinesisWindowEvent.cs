using System.Buffers;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text;
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

    /// <summary>Reads the event; throws <see cref="FormatException"/> when it is not a Kinesis event at all. <paramref name="json"/> is left as it is.</summary>
    public static KinesisWindowEvent Parse(ReadOnlyMemory<byte> json) => ParseInPlace(json.ToArray());

    /// <summary>
    /// Reads the event from a buffer the caller gives up (the Runtime API client's body of this invocation), in one pass
    /// over its bytes: each record's data is decoded in place, so the records' <see cref="KinesisRecord.Data"/> are slices
    /// of <paramref name="json"/>, which holds no JSON afterwards. Throws <see cref="FormatException"/> when it is not a
    /// Kinesis event at all, like <see cref="Parse"/>.
    /// </summary>
    /// <remarks>
    /// The rules of a parsed document, which this reader replaced (a 10,000-record batch spent more time building the
    /// document and an array per record than in reading): the whole input must be JSON (depth at most 64), of a repeated
    /// property the last counts, and a property of an unexpected kind reads as absent.
    /// </remarks>
    internal static KinesisWindowEvent ParseInPlace(Memory<byte> json) => Read(json, sweepDecides: false)!;

    /// <summary>
    /// <see cref="ParseInPlace"/>, or null when the body is the sweeper's request instead: decided as
    /// <see cref="Carry.SweepRequest.IsSweep"/> decides it (the first top-level <c>"action"</c> is <c>"sweep"</c>, whatever
    /// follows), in the same pass, so a batch is not read through once more to find it holds no "action".
    /// </summary>
    internal static KinesisWindowEvent? ParseInPlaceOrSweep(Memory<byte> json) => Read(json, sweepDecides: true);

    private static KinesisWindowEvent? Read(Memory<byte> json, bool sweepDecides)
    {
        var reader = new Utf8JsonReader(json.Span, Options);
        try
        {
            return Read(ref reader, json, sweepDecides);
        }
        catch (JsonException e)
        {
            throw new FormatException("the invocation event is not JSON: " + e.Message, e);
        }
    }

    private static readonly JsonReaderOptions Options = new() { MaxDepth = 64 };

    private static KinesisWindowEvent? Read(ref Utf8JsonReader reader, Memory<byte> json, bool sweepDecides)
    {
        reader.Read();
        // Of a repeated property the last counts. The records are read as they come (a later "Records" replaces them);
        // every other value is read at the end from where its last occurrence stands, so one that does not count is
        // never decoded (nor fails).
        RecordsRead? records = null;
        int shardAt = -1, arnAt = -1, windowAt = -1, stateAt = -1;
        bool final = false, terminatedEarly = false;
        bool isObject = reader.TokenType == JsonTokenType.StartObject;
        if (isObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (sweepDecides && KinesisEventRecord.NameIs(ref reader, "action"u8))
                {
                    // The first "action" decides, before anything after it is read (or found not to be JSON).
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("sweep"u8)) return null;
                    sweepDecides = false;
                }
                else if (KinesisEventRecord.NameIs(ref reader, "Records"u8))
                {
                    reader.Read();
                    records = reader.TokenType == JsonTokenType.StartArray ? ReadRecords(ref reader, json) : null;
                }
                else if (KinesisEventRecord.NameIs(ref reader, "window"u8))
                {
                    reader.Read();
                    windowAt = At(ref reader, JsonTokenType.StartObject);
                }
                else if (KinesisEventRecord.NameIs(ref reader, "state"u8))
                {
                    reader.Read();
                    stateAt = At(ref reader, JsonTokenType.StartObject);
                }
                else if (KinesisEventRecord.NameIs(ref reader, "shardId"u8))
                {
                    reader.Read();
                    shardAt = At(ref reader, JsonTokenType.String);
                }
                else if (KinesisEventRecord.NameIs(ref reader, "eventSourceARN"u8))
                {
                    reader.Read();
                    arnAt = At(ref reader, JsonTokenType.String);
                }
                else if (KinesisEventRecord.NameIs(ref reader, "isFinalInvokeForWindow"u8))
                {
                    reader.Read();
                    final = reader.TokenType == JsonTokenType.True;
                }
                else if (KinesisEventRecord.NameIs(ref reader, "isWindowTerminatedEarly"u8))
                {
                    reader.Read();
                    terminatedEarly = reader.TokenType == JsonTokenType.True;
                }
                else
                {
                    reader.Read();
                }
                reader.Skip();
            }
        }
        else
        {
            reader.Skip();
        }
        // Nothing may follow the event (Read throws on trailing text): the whole input is JSON before anything is said about it.
        if (reader.Read()) throw new FormatException("the invocation event is not JSON: more than one value.");
        if (!isObject || records is null)
            throw new FormatException("the invocation event has no \"Records\" array: is the function mapped to a Kinesis stream?");
        if (records.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);

        var (start, end) = windowAt < 0 ? (null, null) : ReadWindow(json.Span[windowAt..]);
        return new KinesisWindowEvent
        {
            Records = records.Records,
            ShardId = StringAt(json.Span, shardAt) ?? ShardFromEventId(StringAt(json.Span, records.FirstEventIdAt)) ?? "unknown-shard",
            EventSourceArn = StringAt(json.Span, arnAt),
            WindowStart = start,
            WindowEnd = end,
            State = stateAt < 0 ? new Dictionary<string, string>(StringComparer.Ordinal) : ReadState(json.Span[stateAt..]),
            // Without a window every invocation stands alone, so it is its own final one.
            IsFinalInvokeForWindow = start is null || final,
            IsWindowTerminatedEarly = terminatedEarly,
        };
    }

    /// <summary>
    /// One "Records" array: the records; where the first one's <c>eventID</c> is (it names the shard when the event does
    /// not); and the first record whose data was not text, which fails the event if this array is the one that counts.
    /// </summary>
    private sealed record RecordsRead(List<KinesisRecord> Records, int FirstEventIdAt, InvalidOperationException? Failure);

    private static RecordsRead ReadRecords(ref Utf8JsonReader reader, Memory<byte> json)
    {
        var records = new List<KinesisRecord>();
        int firstEventIdAt = -1;
        InvalidOperationException? failure = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            KinesisEventRecord? record = null;
            InvalidOperationException? recordFailure = null;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                bool first = records.Count == 0;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (KinesisEventRecord.NameIs(ref reader, "kinesis"u8))
                    {
                        reader.Read();
                        (record, recordFailure) = (null, null);
                        if (reader.TokenType == JsonTokenType.StartObject)
                        {
                            try
                            {
                                record = KinesisEventRecord.ReadKinesis(ref reader, json);
                            }
                            catch (InvalidOperationException e)
                            {
                                recordFailure = e; // the reader stands on the object's end
                            }
                        }
                    }
                    else if (first && KinesisEventRecord.NameIs(ref reader, "eventID"u8))
                    {
                        reader.Read();
                        firstEventIdAt = At(ref reader, JsonTokenType.String);
                    }
                    else
                    {
                        reader.Read();
                    }
                    reader.Skip();
                }
            }
            else
            {
                reader.Skip();
            }
            failure ??= recordFailure;
            records.Add(record is { } r
                ? new KinesisRecord(r.SequenceNumber, r.PartitionKey, r.Data, r.ReadError) { ArrivalTime = r.ArrivalTime }
                : new KinesisRecord(null, null, ReadOnlyMemory<byte>.Empty, KinesisEventRecord.NoKinesisObject));
        }
        return new RecordsRead(records, firstEventIdAt, failure);
    }

    /// <summary>Where the value the reader stands on starts, when it is of the kind wanted; else -1 (read as absent).</summary>
    private static int At(ref Utf8JsonReader reader, JsonTokenType kind) => reader.TokenType == kind ? checked((int)reader.TokenStartIndex) : -1;

    /// <summary>The string that starts at <paramref name="at"/> (-1: none).</summary>
    private static string? StringAt(ReadOnlySpan<byte> json, int at)
    {
        if (at < 0) return null;
        var reader = new Utf8JsonReader(json[at..], Options);
        reader.Read();
        return reader.GetString();
    }

    private static (DateTimeOffset? Start, DateTimeOffset? End) ReadWindow(ReadOnlySpan<byte> window)
    {
        var reader = new Utf8JsonReader(window, Options);
        reader.Read();
        int startAt = -1, endAt = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isStart = KinesisEventRecord.NameIs(ref reader, "start"u8), isEnd = !isStart && KinesisEventRecord.NameIs(ref reader, "end"u8);
            reader.Read();
            if (isStart) startAt = At(ref reader, JsonTokenType.String);
            else if (isEnd) endAt = At(ref reader, JsonTokenType.String);
            reader.Skip();
        }
        return (Time(StringAt(window, startAt)), Time(StringAt(window, endAt)));
    }

    /// <summary>AWS's own .NET type reads state values as strings and also accepts numbers (its sample uses numbers).</summary>
    private static Dictionary<string, string> ReadState(ReadOnlySpan<byte> state)
    {
        var reader = new Utf8JsonReader(state, Options);
        reader.Read();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // The name is read only for a value that is kept (one that is not may have a name that is not text).
            int nameAt = checked((int)reader.TokenStartIndex);
            reader.Read();
            if (reader.TokenType == JsonTokenType.String) values[StringAt(state, nameAt)!] = reader.GetString()!;
            // A number's own text, as written (a number token is never escaped).
            else if (reader.TokenType == JsonTokenType.Number) values[StringAt(state, nameAt)!] = Encoding.UTF8.GetString(reader.ValueSpan);
            reader.Skip();
        }
        return values;
    }

    private static string? ShardFromEventId(string? id)
    {
        // eventID is "shardId-000000000006:<sequence>" on every record.
        int colon = id?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon > 0 ? id![..colon] : null;
    }

    private static DateTimeOffset? Time(string? text) =>
        text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
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

    /// <summary>
    /// This invocation's own counts (the window's totals after it minus before it; not sent to Lambda): the function's
    /// metrics. Null on a failed invocation, whose records are counted by the retry that succeeds.
    /// </summary>
    public Aggregator.Bursts.RunSummary? Batch { get; init; }

    public static IReadOnlyDictionary<string, string> EmptyState { get; } = new Dictionary<string, string>();

    // The JSON once written, and what it was written from: a window's state (~270 KB after a 10,000-record batch) is
    // measured against the budget and then sent, and each writing of it grew a buffer from nothing. A copy made with
    // `with` keeps it while its state and failures are the same objects (the state is never changed once made).
    private byte[]? _json;
    private IReadOnlyDictionary<string, string>? _jsonState;
    private IReadOnlyList<string>? _jsonFailures;

    /// <summary>Equal as a record is, field by field, but for the written JSON (a cache: whether it was written yet is no part of the value).</summary>
    public bool Equals(WindowResponse? other) =>
        other is not null
        && EqualityComparer<IReadOnlyDictionary<string, string>?>.Default.Equals(State, other.State)
        && EqualityComparer<IReadOnlyList<string>>.Default.Equals(BatchItemFailures, other.BatchItemFailures)
        && EqualityComparer<Aggregator.Bursts.RunSummary?>.Default.Equals(Summary, other.Summary)
        && EqualityComparer<Aggregator.Bursts.RunSummary?>.Default.Equals(Batch, other.Batch);

    public override int GetHashCode() => HashCode.Combine(State, BatchItemFailures, Summary, Batch);

    /// <summary>The response as Lambda reads it. Written once per state: the same array again on later calls (do not change it).</summary>
    public byte[] ToJson()
    {
        if (_json is null || !ReferenceEquals(_jsonState, State) || !ReferenceEquals(_jsonFailures, BatchItemFailures))
        {
            var buffer = new ArrayBufferWriter<byte>(EstimatedBytes());
            Write(buffer);
            (_json, _jsonState, _jsonFailures) = (buffer.WrittenSpan.ToArray(), State, BatchItemFailures);
        }
        return _json;
    }

    public void Write(IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        if (State is not null)
        {
            w.WriteStartObject("state");
            foreach (var (key, value) in State.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                // In segments: the writer asks for room for the worst escaping of what it is given (several times a
                // value's length), which grew the buffer past a 270 KB state's size many times over.
                w.WritePropertyName(key);
                for (int at = 0; ; at += ValueSegment)
                {
                    var segment = value.AsSpan(at, Math.Min(ValueSegment, value.Length - at));
                    bool last = at + segment.Length >= value.Length;
                    w.WriteStringValueSegment(segment, last);
                    if (last) break;
                }
            }
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
    public int SizeInBytes() => ToJson().Length;

    private const int ValueSegment = 8 * 1024;

    /// <summary>The JSON's length when nothing needs escaping (the state's values are base64url): one buffer, never grown.</summary>
    private int EstimatedBytes()
    {
        long bytes = 64;
        foreach (var (key, value) in State ?? EmptyState) bytes += key.Length + value.Length + 6;
        foreach (var id in BatchItemFailures) bytes += id.Length + 24;
        return (int)Math.Min(bytes, Array.MaxLength);
    }
}
