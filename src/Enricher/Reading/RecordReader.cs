using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Reading;

/// <summary>
/// Reads every input shape the hosts accept into <see cref="RawRecord"/>s, one per candidate event:
/// <list type="bullet">
/// <item>JSON Lines: one EventBridge event (or bare CloudTrail record or finding) per line;</item>
/// <item>CloudTrail log files as written to S3: <c>{"Records":[…]}</c>, plain or <c>.gz</c>, on one line or pretty-printed;</item>
/// <item>the event Lambda receives from Kinesis: <c>{"Records":[{"kinesis":{"data":"&lt;base64&gt;"}}]}</c>;</item>
/// <item>a JSON array of events.</item>
/// </list>
/// The command line finds the files (InputFiles, which checks each before anything is read). Lines that are not JSON still become records,
/// so the Enricher rejects and reports them: nothing read is ever dropped here.
/// </summary>
public static class RecordReader
{
    public const string StdinPath = "-";

    /// <summary>Reads all records of <paramref name="files"/>; <paramref name="progress"/> hears the bytes consumed so far.</summary>
    /// <param name="transient">
    /// Each record, and its bytes, is valid only until the next record is read, or the reading ends or is stopped (the
    /// buffer goes back to the pool then). No copy per line, and one record object handed out again for the usual line:
    /// for a consumer that handles every record before it asks for the next, as the core's Rx adapter does (it classifies
    /// each record as it arrives). A consumer that keeps records (a list, a buffer) must leave this off.
    /// </param>
    public static IEnumerable<RawRecord> ReadFiles(IReadOnlyList<string> files, IProgress<long>? progress = null, bool transient = false)
    {
        long done = 0;
        foreach (var file in files)
        {
            var fileProgress = progress is null ? null : new OffsetProgress(progress, done);
            using var raw = Open(file);
            // The length of the file as opened, not looked up again by its path: a CloudTrail export is many small files,
            // and each look-up is a path walk on the reading thread (7% of it, for files of ten records).
            long length = raw.CanSeek ? raw.Length : 0;
            foreach (var record in Read(raw, file, fileProgress, transient))
                yield return record;
            done += length;
            progress?.Report(done);
        }
    }

    public static IEnumerable<RawRecord> ReadFile(string file, IProgress<long>? progress = null, bool transient = false)
    {
        using var raw = Open(file);
        foreach (var record in Read(raw, file, progress, transient))
            yield return record;
    }

    private static Stream Open(string file)
    {
        try
        {
            return file == StdinPath ? Console.OpenStandardInput() : File.OpenRead(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"cannot read '{file}': {e.Message}", e);
        }
    }

    /// <summary>The records of <paramref name="raw"/>, opened from <paramref name="file"/>: gunzipped when its name ends in .gz.</summary>
    private static IEnumerable<RawRecord> Read(Stream raw, string file, IProgress<long>? progress, bool transient)
    {
        var name = file == StdinPath ? "stdin" : file;
        using var counting = new CountingStream(raw, progress, name);
        var records = file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
            ? ReadGzip(counting, name, transient, again: raw.CanSeek ? raw : null) // a pipe cannot be read twice
            : ReadStream(counting, name, transient);
        foreach (var record in records)
            yield return record;
    }

    /// <summary>
    /// Reads a gzip-compressed stream. A damaged or cut-off file (a partial S3 download) yields the records
    /// before the damage, then one rejected record saying why the rest could not be read: the run goes on.
    /// </summary>
    /// <param name="again">The file's own seekable stream, read again for the check of a file of several gzip members (<see cref="GzipEnding"/>).</param>
    internal static IEnumerable<RawRecord> ReadGzip(Stream compressed, string name, bool transient = false, Stream? again = null)
    {
        var tail = new GzipEnding.TailStream(compressed);
        using var stream = new DamageStoppingStream(new GZipStream(tail, CompressionMode.Decompress));
        foreach (var record in ReadStream(stream, name, transient))
            yield return record;
        if (stream.Damage is { } damage)
            yield return new RawRecord(ReadOnlyMemory<byte>.Empty, new RecordOrigin(name, 0), $"gzip file damaged: {damage} (after {stream.Position} decompressed bytes)");
        else if (GzipEnding.Problem(tail, stream.Position, again) is { } problem)
            yield return new RawRecord(ReadOnlyMemory<byte>.Empty, new RecordOrigin(name, 0), problem);
    }

    /// <summary>
    /// The largest record a reader keeps: 4 MiB, sixteen times EventBridge's largest event (256 KiB), with room for a
    /// Kinesis record's 1 MiB in base64 inside a Lambda event. A longer line or Records entry is rejected unread.
    /// </summary>
    public const int MaxRecordBytes = 4 * 1024 * 1024;

    /// <summary>Why a record over the limit is rejected.</summary>
    internal static string OverLimit(long length, int maxRecordBytes) =>
        $"record is {length} bytes, over the {maxRecordBytes} byte limit (EventBridge events are at most 256 KiB); skipped unread";

    /// <summary>
    /// Reads one stream. One that opens with <c>{"Records":[</c> or <c>[</c> is read as a stream of JSON values, record by
    /// record (a CloudTrail log file, a Lambda Kinesis event, a JSON array); any other is JSON Lines, except that a first
    /// line that is the start of a pretty-printed event is read with the lines after it as one document, as long as
    /// that document is within the record limit. Memory is bounded by the limit whatever the stream holds.
    /// </summary>
    /// <param name="transient">See <see cref="ReadFiles"/>: each record valid only until the next is read.</param>
    public static IEnumerable<RawRecord> ReadStream(Stream stream, string name, bool transient = false) =>
        ReadStream(stream, name, transient, MaxRecordBytes);

    internal static IEnumerable<RawRecord> ReadStream(Stream stream, string name, bool transient, int maxRecordBytes)
    {
        using var lines = new LineReader(stream, transient, maxLineBytes: maxRecordBytes); // its buffer goes back to the pool when the reading ends
        // The sniff looks at a bounded head (4 KiB at most: it never needs the whole first line), and at no more of it
        // than it needs, so the first record of a slow pipe is not held back.
        var start = lines.Peek(1);
        bool? container;
        while ((container = JsonValueStreamReader.StartsContainer(start, final: lines.AtEnd || start.Length >= 4096)) is null)
        {
            int had = start.Length;
            start = lines.Peek(had + 1);
            if (start.Length == had && !lines.AtEnd) break; // the buffer is full (a small record limit): not a container's head
        }
        if (container == true)
        {
            using var values = new JsonValueStreamReader(lines.Rest(), name, transient, maxRecordBytes);
            foreach (var r in values.Read())
                yield return r;
            yield break;
        }

        long lineNumber = 0;
        ReadOnlyMemory<byte> first = default;
        while (lines.TryReadLine(out first))
        {
            lineNumber++;
            if (lines.OverLimitLength > 0 || !IsBlank(first.Span)) break;
        }
        if (lineNumber == 0 || (lines.OverLimitLength == 0 && IsBlank(first.Span))) yield break;

        if (lines.OverLimitLength == 0 && !IsCompleteJson(first.Span) && first.Span.TrimStart(" \t"u8).StartsWith("{"u8))
        {
            // Perhaps a pretty-printed event: its lines, up to the limit, are kept (copied: they outlive the buffer).
            var head = new List<(long Line, byte[] Bytes)> { (lineNumber, first.ToArray()) };
            long size = first.Length;
            ReadOnlyMemory<byte> next = default;
            bool more;
            while ((more = lines.TryReadLine(out next)) && lines.OverLimitLength == 0 && (size += next.Length + 1) <= maxRecordBytes)
                head.Add((++lineNumber, next.ToArray()));
            if (!more)
            {
                var whole = new MemoryStream();
                foreach (var (_, bytes) in head)
                {
                    whole.Write(bytes);
                    whole.WriteByte((byte)'\n');
                }
                var document = whole.GetBuffer().AsMemory(0, (int)whole.Length);
                if (IsCompleteJson(document.Span))
                {
                    foreach (var r in ExpandDocument(document, new RecordOrigin(name, head[0].Line)))
                        yield return r;
                    yield break;
                }
            }
            // Not one document within the limit: lines after all, so each bad line is reported where it is.
            foreach (var (line, bytes) in head)
                foreach (var r in LineRecords(bytes, 0, new RecordOrigin(name, line)))
                    yield return r;
            if (!more) yield break;
            // The line that ended the look-ahead is read as a line too.
            lineNumber++;
            foreach (var r in LineRecords(next, lines.OverLimitLength, new RecordOrigin(name, lineNumber), maxRecordBytes))
                yield return r;
        }
        else
        {
            foreach (var r in LineRecords(first, lines.OverLimitLength, new RecordOrigin(name, lineNumber), maxRecordBytes))
                yield return r;
        }

        // Transient: the usual line's record is this one, handed out again for each (see RawRecord's remarks).
        RawRecord? reused = null;
        while (lines.TryReadLine(out var line))
        {
            lineNumber++;
            var origin = new RecordOrigin(name, lineNumber);
            // The usual line, one event, is handed on as it is: an enumerator per line was a tenth of a replay's garbage.
            if (lines.OverLimitLength == 0 && IsOneRecord(line.Span))
            {
                yield return transient ? reused = reused?.Reuse(line, origin) ?? new RawRecord(line, origin) : new RawRecord(line, origin);
                continue;
            }
            foreach (var r in LineRecords(line, lines.OverLimitLength, origin, maxRecordBytes))
                yield return r;
        }
    }

    /// <summary>The records of one line: none when blank, a rejected one when over the limit, else its value's.</summary>
    private static IEnumerable<RawRecord> LineRecords(ReadOnlyMemory<byte> line, long overLimitLength, RecordOrigin origin, int maxRecordBytes = MaxRecordBytes)
    {
        if (overLimitLength > 0) return [new RawRecord(ReadOnlyMemory<byte>.Empty, origin, OverLimit(overLimitLength, maxRecordBytes))];
        return IsBlank(line.Span) ? [] : ExpandDocument(line, origin);
    }

    /// <summary>A line that is one record as it is: not blank, and not a container <see cref="ExpandDocument"/> would open.</summary>
    private static bool IsOneRecord(ReadOnlySpan<byte> line) => !IsBlank(line) && ContainerKind(line) == Container.None;

    /// <summary>One JSON value: a container (<c>{"Records":[…]}</c> or an array) yields its elements; anything else is one record.</summary>
    internal static IEnumerable<RawRecord> ExpandDocument(ReadOnlyMemory<byte> json, RecordOrigin origin)
    {
        var kind = ContainerKind(json.Span);
        if (kind == Container.None)
        {
            yield return new RawRecord(json, origin);
            yield break;
        }

        List<RawRecord> records;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var items = kind == Container.Records ? doc.RootElement.GetProperty("Records") : doc.RootElement;
            if (items.ValueKind != JsonValueKind.Array)
            {
                records = [new RawRecord(json, origin, "\"Records\" is not an array")];
            }
            else
            {
                // An empty CloudTrail file is normal (a quiet five minutes): it yields no record.
                records = new List<RawRecord>(items.GetArrayLength());
                int index = 0;
                foreach (var item in items.EnumerateArray())
                    records.Add(FromContainerItem(item, origin with { Index = index++ }));
            }
        }
        catch (JsonException)
        {
            records = [new RawRecord(json, origin)]; // the parser will report why
        }
        foreach (var r in records) yield return r;
    }

    internal static RawRecord FromContainerItem(JsonElement item, RecordOrigin origin)
    {
        try
        {
            return FromKinesisOrItem(item, origin);
        }
        catch (InvalidOperationException) // a property name that is not decodable text: the parser repairs and judges the item
        {
            return new RawRecord(JsonMarshal.GetRawUtf8Value(item).ToArray(), origin);
        }
    }

    private static RawRecord FromKinesisOrItem(JsonElement item, RecordOrigin origin) =>
        KinesisEventRecord.TryRead(item)?.ToRaw(origin)
        // The item's bytes as they are: decoding them to text would throw on invalid UTF-8, which the parser handles.
        ?? new RawRecord(JsonMarshal.GetRawUtf8Value(item).ToArray(), origin);

    private enum Container { None, Records, Array }

    /// <summary>Looks at the first token or two only, so an ordinary event line is not parsed twice.</summary>
    private static Container ContainerKind(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = false });
            if (!reader.Read()) return Container.None;
            if (reader.TokenType == JsonTokenType.StartArray) return Container.Array;
            if (reader.TokenType != JsonTokenType.StartObject || !reader.Read()) return Container.None;
            return reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("Records"u8) ? Container.Records : Container.None;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) // InvalidOperation: a name with an unpaired surrogate escape
        {
            return Container.None;
        }
    }

    private static bool IsCompleteJson(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            reader.Skip(); // reads the first token
            if (!reader.Read()) return false;
            reader.Skip();
            return !reader.Read(); // one value and nothing after it (whitespace aside)
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r\n"u8).IsEmpty;

    /// <summary>Synchronous (unlike <see cref="Progress{T}"/>, which posts to the thread pool and reorders reports).</summary>
    private sealed class OffsetProgress(IProgress<long> inner, long offset) : IProgress<long>
    {
        public void Report(long value) => inner.Report(offset + value);
    }
}
