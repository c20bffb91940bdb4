using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Reading;

public sealed class RecordReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reader-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<Pipeline.Enricher.Model.RawRecord> Read(string text, string name = "t") =>
        [.. RecordReader.ReadStream(new MemoryStream(Encoding.UTF8.GetBytes(text)), name)];

    [Fact]
    public void Json_lines_give_one_record_per_line_with_line_numbers()
    {
        var records = Read(Events.ApiCall().Line() + "\n\nnot json\n" + Events.ApiCall().Line() + "\n");
        Assert.Equal(3, records.Count);
        Assert.Equal([1L, 3L, 4L], records.Select(r => r.Origin.Line));
        Assert.Equal("not json", Encoding.UTF8.GetString(records[1].Data.Span));
    }

    [Fact]
    public void A_byte_order_mark_at_the_start_is_skipped_in_json_lines_and_in_a_cloudtrail_file()
    {
        static List<Pipeline.Enricher.Model.RawRecord> ReadWithBom(string text) =>
            [.. RecordReader.ReadStream(new MemoryStream([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)]), "bom")];

        var lines = ReadWithBom(Events.ApiCall().Line() + "\n" + Events.ApiCall().Line() + "\n");
        Assert.Equal(2, lines.Count);
        Assert.All(lines, r => Assert.Null(r.ReadError));
        Assert.Equal((byte)'{', lines[0].Data.Span[0]);

        var file = new JsonObject { ["Records"] = new JsonArray(Events.Detail(Events.ApiCall()), Events.Detail(Events.ApiCall())) };
        var pretty = ReadWithBom(file.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Assert.Equal(2, pretty.Count);
        Assert.All(pretty, r => Assert.Null(r.ReadError));

        // Only at the very start: the same bytes inside a line are that line's content.
        Assert.Single(ReadWithBom("\uFEFF"), r => r.Data.Length == 3);
    }

    [Fact]
    public void A_cloudtrail_log_file_yields_each_record_pretty_or_not()
    {
        var records = new JsonArray(Events.Detail(Events.ApiCall()), Events.Detail(Events.ApiCall()));
        var file = new JsonObject { ["Records"] = records };
        Assert.Equal(2, Read(file.ToJsonString()).Count);
        var pretty = Read(file.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        Assert.Equal(2, pretty.Count);
        Assert.Equal(1, pretty[1].Origin.Index);
    }

    [Fact]
    public void Gzipped_cloudtrail_files_are_all_read()
    {
        for (int i = 0; i < 2; i++)
        {
            var file = new JsonObject { ["Records"] = new JsonArray(Events.Detail(Events.ApiCall()), Events.Detail(Events.ApiCall()), Events.Detail(Events.ApiCall())) };
            using var gz = new GZipStream(File.Create(Path.Combine(_dir, $"123456789012_CloudTrail_us-east-1_{i}.json.gz")), CompressionLevel.Fastest);
            gz.Write(file.Utf8());
        }
        var files = Directory.GetFiles(_dir).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, files.Count);
        Assert.Equal(6, RecordReader.ReadFiles(files).Count());
    }

    private static byte[] Gzip(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(content);
        return buffer.ToArray();
    }

    private static string JsonLines(int count) => Events.JsonLines(Enumerable.Range(0, count).Select(i => Events.ApiCall(eventName: "Call" + i)));

    private static string CloudTrailFile(int count) =>
        new JsonObject { ["Records"] = new JsonArray([.. Enumerable.Range(0, count).Select(i => (JsonNode)Events.Detail(Events.ApiCall(eventName: "Call" + i)))]) }.ToJsonString();

    [Theory]
    [InlineData("lines")]
    [InlineData("cloudtrail")]
    public void A_gzip_file_cut_short_anywhere_ends_with_a_rejection_and_a_whole_one_with_none(string shape)
    {
        // Was: .NET's GZipStream reads a file that just stops as an ordinary end, so a partial download cut between two
        // records lost the rest without a word (a review found it at about 1 cut in 150; every cut here was silent).
        var content = Encoding.UTF8.GetBytes(shape == "lines" ? JsonLines(30) : CloudTrailFile(30));
        var gz = Gzip(content);

        var whole = RecordReader.ReadGzip(new MemoryStream(gz), "t.gz").ToList();
        Assert.Equal(30, whole.Count);
        Assert.All(whole, r => Assert.Null(r.ReadError));

        for (int cut = 0; cut < gz.Length; cut++)
        {
            var records = RecordReader.ReadGzip(new MemoryStream(gz, 0, cut), "t.gz").ToList();
            Assert.True(records.Count > 0 && records[^1].ReadError is { } error && error.StartsWith("gzip file ", StringComparison.Ordinal),
                $"a cut at {cut} of {gz.Length} bytes gave {records.Count} records and no word of the cut");
        }
    }

    [Fact]
    public void A_file_of_several_gzip_members_is_read_whole_and_a_cut_in_its_last_member_is_reported()
    {
        // `cat a.gz b.gz > c.gz` is a valid gzip file (gzip and .NET read both members): only the last member's length is at
        // its end, so the reader checks it again member by member, from the file.
        var first = Gzip(Encoding.UTF8.GetBytes(JsonLines(10)));
        var second = Gzip(Encoding.UTF8.GetBytes(JsonLines(7)));
        var path = Path.Combine(_dir, "both.jsonl.gz");
        File.WriteAllBytes(path, [.. first, .. second]);

        var records = RecordReader.ReadFiles([path]).ToList();
        Assert.Equal(17, records.Count);
        Assert.All(records, r => Assert.Null(r.ReadError));

        File.WriteAllBytes(path, [.. first, .. second.AsSpan(0, second.Length - 3)]);
        var cut = RecordReader.ReadFiles([path]).ToList();
        Assert.StartsWith("gzip file cut short", cut[^1].ReadError, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_of_thousands_of_gzip_members_is_checked_without_running_out_of_stack_or_memory()
    {
        // `cat` of a day's small CloudTrail files into one: the check walks its members in a loop (a recursion per member
        // would overflow the reading thread's stack, which ends the process), from the file, not a copy of it in memory.
        var member = Gzip(Encoding.UTF8.GetBytes(JsonLines(1)));
        var path = Path.Combine(_dir, "day.jsonl.gz");
        using (var file = File.Create(path))
            for (int i = 0; i < 20_000; i++) file.Write(member);

        var records = RecordReader.ReadFiles([path]).ToList();
        Assert.Equal(20_000, records.Count);
        Assert.All(records, r => Assert.Null(r.ReadError));
    }

    [Fact]
    public async Task A_gzip_file_cut_short_through_a_pipe_is_reported_not_opened_again()
    {
        // A pipe cannot be read twice: opening it again to check its members would wait for a writer for good.
        var gz = Gzip(Encoding.UTF8.GetBytes(JsonLines(20)));
        var fifo = Path.Combine(_dir, "download.jsonl.gz");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo])) mkfifo.WaitForExit();
        var writer = Task.Run(() =>
        {
            using var pipe = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            pipe.Write(gz, 0, gz.Length / 2);
        });

        var records = await Task.Run(() => RecordReader.ReadFiles([fifo]).ToList()).WaitAsync(TimeSpan.FromSeconds(60)); // throws if it hung
        await writer;
        Assert.StartsWith("gzip file cut short", records[^1].ReadError, StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_reaches_each_files_length_as_its_reading_ends()
    {
        var lines = Path.Combine(_dir, "a.jsonl");
        File.WriteAllText(lines, "{\"id\":\"1\"}\n{\"id\":\"2\"}\n");
        var gzipped = Path.Combine(_dir, "b.json.gz");
        using (var gz = new GZipStream(File.Create(gzipped), CompressionLevel.Fastest))
            gz.Write(new JsonObject { ["Records"] = new JsonArray(Events.Detail(Events.ApiCall()), Events.Detail(Events.ApiCall())) }.Utf8());
        long first = new FileInfo(lines).Length, second = new FileInfo(gzipped).Length;
        Assert.NotEqual(first, second);

        var reports = new List<long>();
        var seen = new List<long>(); // the last report before each record
        foreach (var _ in RecordReader.ReadFiles([lines, gzipped], new SyncProgress(reports.Add)))
            seen.Add(reports.Count == 0 ? 0 : reports[^1]);

        Assert.Equal(4, seen.Count);
        Assert.True(seen[2] >= first, $"the second file's first record came after {seen[2]} bytes, not after the first file's {first}");
        Assert.Equal(first + second, reports[^1]);
        Assert.Equal(reports.Order(), reports); // never goes back
    }

    [Fact]
    public void A_file_is_opened_when_its_records_are_asked_for_and_closed_when_they_stop_being_asked_for()
    {
        var missing = Path.Combine(_dir, "missing.jsonl");
        var records = RecordReader.ReadFiles([missing]); // nothing opened yet: a run checks its inputs first
        Assert.Throws<InputException>(() => records.First());

        var file = Path.Combine(_dir, "a.jsonl");
        File.WriteAllText(file, "{\"id\":\"1\"}\n{\"id\":\"2\"}\n");
        Assert.Equal("a.jsonl", Path.GetFileName(RecordReader.ReadFiles([file]).First().Origin.Source));
        // Stopped after one record: the file is closed, so nothing holds it (an exclusive open would fail otherwise).
        using var exclusive = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
    }

    /// <summary>Reports on the reading thread as they happen (<see cref="Progress{T}"/> would post them elsewhere).</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    [Fact]
    public void Empty_cloudtrail_file_yields_nothing()
    {
        Assert.Empty(Read("{\"Records\":[]}"));
    }

    [Fact]
    public void Lambda_kinesis_event_yields_decoded_records_and_flags_bad_base64()
    {
        var good = Convert.ToBase64String(Events.ApiCall().Utf8());
        var evt = new JsonObject
        {
            ["Records"] = new JsonArray(
                new JsonObject { ["kinesis"] = new JsonObject { ["data"] = good, ["sequenceNumber"] = "495903382714902566085596925383" } },
                new JsonObject { ["kinesis"] = new JsonObject { ["data"] = "%%%not-base64", ["sequenceNumber"] = "495903382714902566085596925384" } }),
        };
        var records = Read(evt.ToJsonString());
        Assert.Equal(2, records.Count);
        Assert.Null(records[0].ReadError);
        Assert.Contains("\"detail-type\"", Encoding.UTF8.GetString(records[0].Data.Span), StringComparison.Ordinal);
        Assert.Equal("Kinesis record data is not base64", records[1].ReadError);
        Assert.Contains("495903382714902566085596925384", records[1].Origin.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_multi_line_document_falls_back_to_lines_so_nothing_is_lost()
    {
        var records = Read("{\n\"eventName\": [\n");
        Assert.Equal(2, records.Count);
    }

    [Fact]
    public void A_pretty_printed_event_is_one_record()
    {
        var records = Read(Events.ApiCall().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var record = Assert.Single(records);
        Assert.Null(record.ReadError);
        Assert.Equal(1, record.Origin.Line);
    }

    [Fact]
    public void Crlf_line_endings_are_accepted()
    {
        var records = Read(Events.ApiCall().Line() + "\r\n" + Events.ApiCall().Line() + "\r\n");
        Assert.Equal(2, records.Count);
        Assert.NotEqual((byte)'\r', records[0].Data.Span[^1]);
    }
}
