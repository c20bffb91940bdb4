using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Reading;

/// <summary>
/// Transient reading hands out slices of one reused buffer: while it is current, each record is exactly the record the
/// copying reader gives, on every input shape (lines, CRLF, blank lines, a line longer than the buffer, documents).
/// </summary>
public sealed class TransientReadingTests
{
    public static TheoryData<string> Inputs()
    {
        var line = Events.ApiCall().Line();
        var file = new JsonObject { ["Records"] = new JsonArray(Events.Detail(Events.ApiCall()), Events.Detail(Events.ApiCall())) };
        var huge = Events.ApiCall();
        huge["detail"]!["requestParameters"] = new JsonObject { ["policy"] = new string('x', 200_000) };
        return
        [
            line + "\n" + line + "\n",
            line + "\r\n\r\nnot json\r\n" + line,
            line + "\n" + huge.Line() + "\n" + line + "\n",
            file.ToJsonString() + "\n" + file.ToJsonString(),
            file.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }),
            "[" + line + "," + line + "]",
        ];
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Each_transient_record_holds_the_copied_records_bytes_while_it_is_current(string input)
    {
        var bytes = Encoding.UTF8.GetBytes(input);
        var copied = RecordReader.ReadStream(new MemoryStream(bytes), "t").Select(r => (r.Origin, Text: Encoding.UTF8.GetString(r.Data.Span))).ToList();
        // Read each transient record's bytes before asking for the next: the contract of the mode.
        var transient = RecordReader.ReadStream(new MemoryStream(bytes), "t", transient: true).Select(r => (r.Origin, Text: Encoding.UTF8.GetString(r.Data.Span))).ToList();
        Assert.NotEmpty(copied);
        Assert.Equal(copied, transient);
    }

    [Fact]
    public void A_transient_reader_hands_out_one_record_for_its_plain_lines_and_a_copy_made_while_current_keeps_its_line()
    {
        var lines = Enumerable.Range(1, 5).Select(i => Events.ApiCall(eventId: $"e-{i}").Line()).ToList();
        var bytes = Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");

        var seen = new List<Pipeline.Enricher.Model.RawRecord>();
        var copies = new List<Pipeline.Enricher.Model.RawRecord>();
        foreach (var record in RecordReader.ReadStream(new MemoryStream(bytes), "t", transient: true))
        {
            seen.Add(record);
            // What a consumer that keeps a record does (ParseAhead with mute rules): a copy of its own, bytes included.
            copies.Add(record with { Data = record.Data.ToArray() });
        }

        Assert.Equal(5, seen.Count);
        // The first line goes through the format's sniff; every plain line after it is the one record, handed out again.
        Assert.All(seen.Skip(1), r => Assert.Same(seen[1], r));
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), copies.Select(c => c.Origin.Line));
        Assert.Equal(lines, copies.Select(c => Encoding.UTF8.GetString(c.Data.Span)));

        // The copying reader's records are each their own, and equal to the copies.
        var copied = RecordReader.ReadStream(new MemoryStream(bytes), "t").ToList();
        Assert.Equal(5, copied.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(copied.Select(r => (r.Origin, Encoding.UTF8.GetString(r.Data.Span))), copies.Select(r => (r.Origin, Encoding.UTF8.GetString(r.Data.Span))));
    }

    [Fact]
    public void Many_small_CloudTrail_files_read_one_after_another_reuse_the_read_buffers_and_give_every_record_whole()
    {
        // An organisation's trail writes files of a few records each, by the hundred thousand a day.
        var dir = Directory.CreateTempSubdirectory("small-files-").FullName;
        try
        {
            var files = new List<string>();
            var expected = new List<string>();
            for (int f = 0; f < 300; f++)
            {
                var records = Enumerable.Range(0, 3).Select(i => Events.Detail(Events.ApiCall(eventId: $"e-{f}-{i}"))).ToList();
                expected.AddRange(records.Select(r => r.ToJsonString()));
                var path = Path.Combine(dir, $"f{f:D4}.json{(f % 2 == 0 ? ".gz" : "")}");
                var json = Encoding.UTF8.GetBytes(new JsonObject { ["Records"] = new JsonArray([.. records]) }.ToJsonString());
                using (var file = File.Create(path))
                using (Stream target = f % 2 == 0 ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest) : file)
                    target.Write(json);
                files.Add(path);
            }

            // Records read without the transient mode own their bytes: the pooled buffers they were read through, used again
            // for every file below, must not show through them.
            var kept = RecordReader.ReadFiles(files.Take(20).ToList()).ToList();

            var read = new List<string>();
            foreach (var record in RecordReader.ReadFiles(files.Take(10).ToList(), transient: true)) read.Add(Encoding.UTF8.GetString(record.Data.Span));
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var record in RecordReader.ReadFiles(files.Skip(10).ToList(), transient: true)) read.Add(Encoding.UTF8.GetString(record.Data.Span));
            long perFile = (GC.GetAllocatedBytesForCurrentThread() - before) / (files.Count - 10);

            // Each record whole, in order, though the buffer that held one file's records holds the next file's.
            Assert.Equal(expected, read);
            Assert.Equal(expected.Take(60), kept.Select(r => Encoding.UTF8.GetString(r.Data.Span)));
            // Two new 64 KiB buffers a file (the line reader's and the container reader's) would be 128 KiB and more; the
            // records' strings made above, the streams and the enumerators are a few KiB.
            Assert.True(perFile < 32 * 1024, $"{perFile:N0} bytes allocated per file");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
