using System.Buffers;
using System.IO.Compression;
using System.Text.Json;

namespace Pipeline.Bench.Throughput;

/// <summary>
/// Generated events written as CloudTrail writes its log files to S3: gzip-compressed <c>{"Records":[…]}</c> files of
/// <see cref="RecordsPerFile"/> records each. These are the files a security engineer downloads and replays, so the
/// benchmark measures what decompression and the container cost next to JSON Lines of the same events.
/// </summary>
/// <remarks>
/// The records are the same lines, in the same order, as <see cref="EventReplicator.WriteTo"/> writes for the same seed,
/// envelopes and findings included (CloudTrail's own files hold bare records only; the mix keeps the two runs
/// comparable). A line that is not JSON is left out and counted: in a container it could end the file's records where
/// it stands or run into the next one, and no file CloudTrail writes holds one.
/// </remarks>
internal static class CloudTrailExport
{
    /// <summary>Records per file: a busy account's five minutes in one region.</summary>
    public const int RecordsPerFile = 1000;

    /// <param name="Files">The files, in the order they were written (the order to read them in).</param>
    /// <param name="Records">Records written (the events less <paramref name="LeftOut"/>).</param>
    /// <param name="LeftOut">Generated lines that are not JSON, not written.</param>
    /// <param name="JsonBytes">The files' bytes once decompressed.</param>
    /// <param name="GzipBytes">The files' bytes as stored.</param>
    public sealed record Written(IReadOnlyList<string> Files, long Records, long LeftOut, long JsonBytes, long GzipBytes);

    /// <summary>Writes <paramref name="events"/> generated lines into <paramref name="folder"/> (created if missing).</summary>
    public static Written Write(EventReplicator replicator, long events, string folder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        var line = new ArrayBufferWriter<byte>(1 << 16);
        var body = new ArrayBufferWriter<byte>(1 << 21);
        long records = 0, leftOut = 0, jsonBytes = 0, gzipBytes = 0;
        int inFile = 0;
        for (long n = 0; n < events; n++)
        {
            line.ResetWrittenCount();
            replicator.AppendNext(line);
            var json = line.WrittenSpan[..^1]; // the line without its '\n'
            if (!IsJson(json))
            {
                leftOut++;
                continue;
            }
            body.Write(inFile == 0 ? "{\"Records\":["u8 : ","u8);
            body.Write(json);
            records++;
            if (++inFile == RecordsPerFile) WriteFile();
        }
        if (inFile > 0) WriteFile();
        return new Written(files, records, leftOut, jsonBytes, gzipBytes);

        void WriteFile()
        {
            cancellationToken.ThrowIfCancellationRequested();
            body.Write("]}\n"u8);
            // CloudTrail's own names are account_CloudTrail_region_time_unique.json.gz; the reader goes by the ".gz" alone.
            var path = Path.Combine(folder, $"part-{files.Count:D6}.json.gz");
            using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                using (var gzip = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true))
                    gzip.Write(body.WrittenSpan);
                gzipBytes += file.Length;
            }
            jsonBytes += body.WrittenCount;
            files.Add(path);
            body.ResetWrittenCount();
            inFile = 0;
        }
    }

    private static bool IsJson(ReadOnlySpan<byte> json)
    {
        // Two levels below the 64 a DOM allows: the file's object and its array hold the record.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 62 });
        try
        {
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The standard way to read one such file: decompress it and build a DOM of it. Returns the records in it.</summary>
    public static int ParseWithDom(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var doc = JsonDocument.Parse(gzip);
        return doc.RootElement.GetProperty("Records").GetArrayLength();
    }
}
