using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport;
using Xunit.Abstractions;

namespace Pipeline.Enricher.Tests.Reading;

/// <summary>
/// The readers' memory is bounded by the record limit, whatever the input: a first line that is not JSON, a line of
/// any length, a CloudTrail file of any size. Memory is measured as the bytes this thread allocated while reading in
/// transient mode (an upper bound of what the reader can hold at once), against bounds far from what buffering the
/// input would take.
/// </summary>
public sealed class BoundedReadingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bounded-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string Line = Events.ApiCall().Line();

    private static List<RawRecord> Read(string text, int maxRecordBytes) =>
        [.. RecordReader.ReadStream(new MemoryStream(Encoding.UTF8.GetBytes(text)), "t", transient: false, maxRecordBytes)];

    /// <summary>Reads every record transiently; returns how many, and the bytes allocated meanwhile.</summary>
    private static (long Records, long Allocated) Drain(Func<IEnumerable<RawRecord>> read, Action<RawRecord>? each = null)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        long count = 0;
        foreach (var record in read())
        {
            count++;
            each?.Invoke(record);
        }
        return (count, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_first_line_that_is_not_json_does_not_buffer_the_file()
    {
        const int lines = 50_000; // ≈ 200 MB of events after the bad line
        var big = Events.ApiCall(requestParameters: new JsonObject { ["policy"] = new string('p', 3000) }).Line();
        var stream = new GeneratedStream([Encoding.UTF8.GetBytes("not json\n")], Encoding.UTF8.GetBytes(big + "\n"), lines);
        long rejected = 0;
        var (count, allocated) = Drain(() => RecordReader.ReadStream(stream, "big", transient: true), r =>
        {
            if (r.Origin.Line == 1) Assert.Equal("not json"u8.ToArray(), r.Data.ToArray());
            if (r.ReadError is not null) rejected++;
        });
        output.WriteLine($"{stream.Length} bytes read with {allocated} bytes allocated");
        Assert.Equal(lines + 1, count);
        Assert.Equal(0, rejected);
        Assert.True(allocated < stream.Length / 4, $"allocated {allocated} bytes reading a {stream.Length}-byte stream");
    }

    [Fact]
    public void A_line_over_the_limit_is_rejected_with_its_length_and_the_next_line_is_read()
    {
        var records = Read(Line + "\n" + new string('x', 5000) + "\r\n" + Line + "\n", maxRecordBytes: 1024);
        Assert.Equal(3, records.Count);
        Assert.Null(records[0].ReadError);
        Assert.Equal(2, records[1].Origin.Line);
        Assert.Contains("record is 5000 bytes, over the 1024 byte limit", records[1].ReadError, StringComparison.Ordinal);
        Assert.True(records[1].Data.IsEmpty);
        Assert.Equal(Line, Encoding.UTF8.GetString(records[2].Data.Span));
        Assert.Equal(3, records[2].Origin.Line);
    }

    [Fact]
    public void A_line_longer_than_2_GiB_is_skipped_without_loading_it_or_overflowing()
    {
        var chunk = new byte[64 * 1024];
        chunk.AsSpan().Fill((byte)'x');
        const long chunks = (2L << 30) / (64 * 1024) + 1;
        var stream = new GeneratedStream([Encoding.UTF8.GetBytes(Line + "\n")], chunk, chunks, Encoding.UTF8.GetBytes("\n" + Line));
        var errors = new List<string?>();
        var (count, allocated) = Drain(() => RecordReader.ReadStream(stream, "huge", transient: true), r => errors.Add(r.ReadError));
        Assert.Equal(3, count);
        Assert.Null(errors[0]);
        Assert.Contains($"record is {chunks * chunk.Length} bytes", errors[1], StringComparison.Ordinal);
        Assert.Null(errors[2]);
        output.WriteLine($"{stream.Length} bytes read with {allocated} bytes allocated");
        Assert.True(allocated < 4 * RecordReader.MaxRecordBytes, $"allocated {allocated} bytes");
    }

    [Fact]
    public void A_cloudtrail_file_is_read_record_by_record_in_memory_independent_of_its_size_and_gives_the_json_lines_records()
    {
        const int count = 200_000;
        var template = Events.Detail(Events.ApiCall(eventId: "EVENT-ID")).ToJsonString();
        string Record(int i) => template.Replace("EVENT-ID", $"e-{i:D8}", StringComparison.Ordinal);
        var cloudTrail = Path.Combine(_dir, "123456789012_CloudTrail_us-east-1.json");
        var gz = cloudTrail + ".gz";
        var jsonLines = Path.Combine(_dir, "records.jsonl");
        using (var file = new StreamWriter(cloudTrail))
        using (var zipped = new StreamWriter(new GZipStream(File.Create(gz), CompressionLevel.Fastest)))
        using (var lines = new StreamWriter(jsonLines))
        {
            file.Write("{\"Records\":[");
            zipped.Write("\uFEFF{\n  \"Records\": [\n"); // a byte order mark and a pretty head: both still streamed
            for (int i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    file.Write(',');
                    zipped.Write(",\n");
                }
                file.Write(Record(i));
                zipped.Write(Record(i));
                lines.WriteLine(Record(i));
            }
            file.Write("]}");
            zipped.Write("\n  ]\n}\n");
        }
        long size = new FileInfo(cloudTrail).Length;
        Assert.True(size > 100_000_000, $"the file is {size} bytes");

        // The JSON Lines form's records, to compare with byte for byte.
        var expected = new int[count];
        int n = 0;
        foreach (var r in RecordReader.ReadFile(jsonLines, transient: true)) expected[n++] = Hash(r);
        Assert.Equal(count, n);

        foreach (var path in new[] { cloudTrail, gz })
        {
            int index = 0;
            var (read, allocated) = Drain(() => RecordReader.ReadFile(path, transient: true), r =>
            {
                // Checked without allocating unless it fails: the allocations measured are the reader's.
                if (r.ReadError is not null || r.Origin.Index != index || expected[index] != Hash(r))
                    Assert.Fail($"record {index} of {path} differs from the JSON Lines one: {r.ReadError}");
                index++;
            });
            output.WriteLine($"{path}: {size} bytes of JSON read with {allocated} bytes allocated");
            Assert.Equal(count, read);
            Assert.True(allocated < size / 3, $"allocated {allocated} bytes reading {path} ({size} bytes of JSON)");
        }

        static int Hash(RawRecord r)
        {
            var hash = new HashCode();
            hash.AddBytes(r.Data.Span);
            return hash.ToHashCode();
        }
    }

    [Fact]
    public void Malformed_records_inside_a_cloudtrail_file_are_rejected_one_by_one()
    {
        var good = Events.Detail(Events.ApiCall()).ToJsonString();
        var records = Read($"{{\"Records\":[{good},{{\"eventName\": tru}},42,{good}]}}", RecordReader.MaxRecordBytes);
        Assert.Equal(4, records.Count);
        Assert.Equal([0, 1, 2, 3], records.Select(r => r.Origin.Index ?? -1));
        bool Parses(RawRecord r)
        {
            var ok = EventParser.TryParse(r.Data, out var parsed, out _);
            parsed?.Dispose();
            return ok;
        }
        Assert.Equal([true, false, false, true], records.Select(Parses));
    }

    [Fact]
    public void A_cloudtrail_file_cut_short_rejects_what_is_left_with_a_clear_reason()
    {
        var good = Events.Detail(Events.ApiCall()).ToJsonString();
        var cut = Read($"{{\"Records\":[{good},{good[..40]}", RecordReader.MaxRecordBytes);
        Assert.Equal(2, cut.Count);
        Assert.Null(cut[0].ReadError);
        Assert.Contains("the input ends inside Records[1]", cut[1].ReadError, StringComparison.Ordinal);

        var unclosed = Read("{\n\"Records\": [\n", RecordReader.MaxRecordBytes);
        var missing = Assert.Single(unclosed);
        Assert.Contains("ends before its Records closes", missing.ReadError, StringComparison.Ordinal);
    }

    [Fact]
    public void A_records_entry_over_the_limit_is_rejected_and_the_next_entry_is_read()
    {
        var good = Events.Detail(Events.ApiCall()).ToJsonString();
        var big = $"{{\"eventName\":\"{new string('x', 5000)}\",\"nested\":[{{\"a\":\"]}}\\\"\"}}]}}";
        var records = Read($"{{\"Records\":[{good},{big},{good}]}}", maxRecordBytes: 2048);
        Assert.Equal(3, records.Count);
        Assert.Null(records[0].ReadError);
        Assert.Contains($"record is {big.Length} bytes", records[1].ReadError, StringComparison.Ordinal);
        Assert.Equal(good, Encoding.UTF8.GetString(records[2].Data.Span));
        Assert.Equal(2, records[2].Origin.Index);
    }

    [Fact]
    public void Cloudtrail_files_one_after_another_on_a_stream_are_all_read()
    {
        // What `zcat *.json.gz | pipeline digest -i -` gives: CloudTrail writes no line end after a file.
        var file = new JsonObject { ["Records"] = new JsonArray(Events.Detail(Events.ApiCall()), Events.Detail(Events.ApiCall())) }.ToJsonString();
        var records = Read(file + file + "\n" + file, RecordReader.MaxRecordBytes);
        Assert.Equal(6, records.Count);
        Assert.All(records, r => Assert.Null(r.ReadError));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_first_record_of_a_slow_pipe_is_handed_on_before_more_arrives(bool cloudTrail)
    {
        // The sniff reads no more than it needs to decide: it once waited for 4 KiB, which a slow pipe may never send.
        var first = cloudTrail ? "{\"Records\":[" + Events.Detail(Events.ApiCall()).ToJsonString() + "," : Line + "\n";
        // Read while the record is current: First() ends the reading, and a transient record's bytes with it.
        var (error, last) = RecordReader.ReadStream(new OneReadStream(Encoding.UTF8.GetBytes(first)), "pipe", transient: true)
            .Select(r => (r.ReadError, Last: r.Data.Span[^1])).First();
        Assert.Null(error);
        Assert.Equal((byte)'}', last);
    }

    /// <summary>A pipe that has sent its first bytes and nothing more yet: a second read would wait, so it fails the test.</summary>
    private sealed class OneReadStream(byte[] bytes) : MemoryStream(bytes)
    {
        private bool _read;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_read) throw new InvalidOperationException("the reader waited for more than the pipe has sent");
            _read = true;
            return base.Read(buffer, offset, count);
        }
    }

    /// <summary>A stream of a head, then one chunk repeated, then a tail, made as it is read: large inputs without a file.</summary>
    private sealed class GeneratedStream(byte[][] head, byte[] chunk, long repeats, byte[]? tail = null) : Stream
    {
        private readonly byte[] _all = [.. head.SelectMany(h => h)];
        private readonly byte[] _tail = tail ?? [];
        private long _position;

        public override long Length => _all.Length + chunk.Length * repeats + _tail.Length;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int written = 0;
            while (written < count && _position < Length)
            {
                long body = _position - _all.Length;
                long bodyLength = chunk.Length * repeats;
                ReadOnlySpan<byte> source = body < 0 ? _all.AsSpan((int)_position)
                    : body < bodyLength ? chunk.AsSpan((int)(body % chunk.Length))
                    : _tail.AsSpan((int)(body - bodyLength));
                int n = Math.Min(count - written, source.Length);
                source[..n].CopyTo(buffer.AsSpan(offset + written));
                written += n;
                _position += n;
            }
            return written;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
