using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Reading;
using Pipeline.Enricher.Tests.Muting;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Fuzzing;

/// <summary>The crashes the fuzzer found, each kept as the smallest input that showed it.</summary>
public sealed class FoundBugReproducerTests
{
    private static byte[] WithRaw(string json, string marker, byte[] raw)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var needle = Encoding.UTF8.GetBytes(marker);
        for (int at = bytes.AsSpan().IndexOf(needle); at >= 0; at = bytes.AsSpan().IndexOf(needle))
            bytes = [.. bytes.AsSpan(0, at), .. raw, .. bytes.AsSpan(at + marker.Length)];
        return bytes;
    }

    private static EnrichmentOutcome ClassifyOne(byte[] line) =>
        FuzzTargets.NewEnricher(FuzzTargets.DemoRules).Classify(new RawRecord(line, new RecordOrigin("t", 1)));

    [Fact]
    public void Invalid_utf8_in_an_event_string_is_replaced_and_the_event_is_still_digested_and_matched()
    {
        // Was: InvalidOperationException from the mute matcher, which crashed the whole batch.
        var line = WithRaw(Events.ApiCall(eventName: "RunInstances", session: "@@").Line(), "@@", [0xed, 0xa0, 0x80]);
        var outcome = ClassifyOne(line);
        var accepted = Assert.IsType<EnrichmentOutcome.Accepted>(outcome);
        Assert.Contains('\uFFFD', accepted.Event.Principal!);
        ParserFuzzTests.Check(line);
    }

    [Fact]
    public void Unpaired_surrogate_escape_in_a_bare_cloudtrail_record_is_replaced_not_thrown()
    {
        // Was: InvalidOperationException from EnvelopeBuilder reading eventTime/eventID while wrapping.
        var record = Events.Detail(Events.ApiCall());
        record["eventID"] = "@@";
        var line = WithRaw(record.ToJsonString(), "\"@@\"", "\"a\\ud800b\\udfff\""u8.ToArray());
        Assert.True(EventParser.TryParse(line, out var parsed, out _));
        using (parsed) Assert.Equal("a\uFFFDb\uFFFD", parsed!.Event.Id);
    }

    [Fact]
    public void Escaped_backslash_before_u_is_text_not_a_surrogate_escape()
    {
        var record = Events.ApiCall(eventName: "RunInstances", session: "@@");
        var line = WithRaw(record.Line(), "@@", "x\\\\ud800"u8.ToArray()); // the text x\ud800, literally
        Assert.True(EventParser.TryParse(line, out var parsed, out _));
        using (parsed) Assert.EndsWith("x\\ud800", parsed!.Event.Principal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(255)]
    [InlineData(256)]
    public void Cloudtrail_record_nested_to_the_depth_limit_is_answered_not_thrown(int depth)
    {
        // Was: JsonReaderException when the record (parsed at depth ≤ 256) was re-parsed inside its envelope (one deeper).
        var record = Events.Detail(Events.ApiCall());
        record["requestParameters"] = "@@";
        var nested = new string('[', depth - 1) + new string(']', depth - 1); // the record object + depth-1 arrays = depth
        var line = Encoding.UTF8.GetBytes(record.ToJsonString().Replace("\"@@\"", nested, StringComparison.Ordinal));
        ParserFuzzTests.Check(line);
        Assert.IsNotType<EnrichmentOutcome.Rejected>(ClassifyOne(line));
    }

    [Fact]
    public void Records_entry_with_invalid_utf8_is_read_as_its_bytes_and_rejected_or_digested()
    {
        // Was: InvalidOperationException from GetRawText while expanding {"Records":[…]}: the whole file was lost.
        var file = WithRaw("{\"Records\":[" + Events.Detail(Events.ApiCall(eventName: "RunInstances", session: "@@")).ToJsonString() + "," + Events.Detail(Events.ApiCall()).ToJsonString() + "]}", "@@", [0xc0, 0xaf]);
        var records = RecordReader.ReadStream(new MemoryStream(file), "t").ToList();
        Assert.Equal(2, records.Count);
        FuzzTargets.Enrich(records, file);
    }

    [Fact]
    public void Kinesis_sequence_number_that_is_not_text_does_not_stop_the_batch()
    {
        var data = Convert.ToBase64String(Events.ApiCall(eventName: "RunInstances").Utf8());
        var file = WithRaw($"{{\"Records\":[{{\"kinesis\":{{\"sequenceNumber\":\"@@\",\"data\":\"{data}\"}}}}]}}", "@@", "\\udc00"u8.ToArray());
        var records = RecordReader.ReadStream(new MemoryStream(file), "t").ToList();
        Assert.Single(records);
        Assert.IsType<EnrichmentOutcome.Accepted>(ClassifyOne(records[0].Data.ToArray()));
        Assert.Null(records[0].Origin.SequenceNumber);
    }

    [Fact]
    public void Unpaired_surrogate_escape_in_a_container_key_does_not_stop_the_read()
    {
        // Was: InvalidOperationException from comparing the first key with "Records" (found with PIPELINE_FUZZ_SEED=7).
        var evt = Events.ApiCall(eventName: "RunInstances").Line();
        var file = Encoding.UTF8.GetBytes("{\"Re\\ud800cords\":[" + evt + "]}\n" + evt + "\n");
        var records = RecordReader.ReadStream(new MemoryStream(file), "t").ToList();
        Assert.Equal(2, records.Count);
        FuzzTargets.Enrich(records, file);

        var items = Encoding.UTF8.GetBytes("[{\"a\\udc00\":1}," + evt + "]");
        var fromArray = RecordReader.ReadStream(new MemoryStream(items), "t").ToList();
        Assert.Equal(2, fromArray.Count);
        FuzzTargets.Enrich(fromArray, items);
    }

    [Fact]
    public void Damaged_gzip_file_yields_the_records_before_the_damage_then_one_rejection()
    {
        // Was: InvalidDataException out of the reader, ending the run with a stack trace.
        var lines = Events.JsonLines(Enumerable.Range(0, 400).Select(i => Events.ApiCall(eventName: "Call" + i)));
        var gz = Mutator.Compress(Encoding.UTF8.GetBytes(lines));
        for (int i = gz.Length / 2; i < gz.Length / 2 + 20; i++) gz[i] = 0;
        var records = RecordReader.ReadGzip(new MemoryStream(gz), "trail.json.gz").ToList();
        Assert.InRange(records.Count, 2, 400);
        Assert.StartsWith("gzip file damaged", records[^1].ReadError, StringComparison.Ordinal);
        FuzzTargets.Enrich(records, plainInput: null);
    }

    [Fact]
    public void Garbage_named_gz_is_one_rejected_record()
    {
        var records = RecordReader.ReadGzip(new MemoryStream("this is not gzip at all"u8.ToArray()), "x.gz").ToList();
        var only = Assert.Single(records);
        Assert.NotNull(only.ReadError);
    }

    [Fact]
    public void Cloudtrail_file_line_after_a_broken_first_line_is_still_expanded_into_its_records()
    {
        // Was: after a broken first line, later lines were read raw, so a one-line {"Records":[…]} was one rejection
        // and its events never reached a digest.
        var ct = "{\"Records\":[" + Events.Detail(Events.ApiCall()).ToJsonString() + "," + Events.Detail(Events.ApiCall()).ToJsonString() + "]}";
        var file = Encoding.UTF8.GetBytes("{\"truncated\":\n" + ct + "\n");
        var records = RecordReader.ReadStream(new MemoryStream(file), "t").ToList();
        Assert.Equal(3, records.Count);
        Assert.Equal([1L, 2L, 2L], records.Select(r => r.Origin.Line));
        Assert.Equal(2, records.Count(r => ClassifyOne(r.Data.ToArray()) is not EnrichmentOutcome.Rejected));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("pattern")]
    public void Mute_rule_file_with_text_that_is_not_text_fails_with_a_mute_rule_error(string where)
    {
        // Was: InvalidOperationException (not MuteRuleException) from the rule name or a pattern value.
        var json = where == "name"
            ? "{\"rules\":[{\"name\":\"@@\",\"pattern\":{\"source\":[\"aws.ec2\"]}}]}"
            : "{\"rules\":[{\"name\":\"r\",\"pattern\":{\"source\":[\"@@\"]}}]}";
        var invalidUtf8 = WithRaw(json, "@@", [0xf0, 0x9f, 0x98]);
        var loneSurrogate = WithRaw(json, "@@", "\\ud800"u8.ToArray());
        Assert.Throws<MuteRuleException>(() => MuteRuleSet.Parse(invalidUtf8, "m.json"));
        Assert.Throws<MuteRuleException>(() => MuteRuleSet.Parse(loneSurrogate, "m.json"));
    }

    [Theory]
    [InlineData("w", true)]
    [InlineData("v", false)]
    public void Four_field_mute_rule_on_160_element_arrays_is_decided_in_work_linear_in_the_event(string last, bool muted)
    {
        // Was: ~20 s per event, 116 s on a loaded 2-core machine (event-ruler's backtracking over every combination
        // of array elements, ~n^4 here), while every account's digests waited.
        var rules = MuteRuleSet.Parse("""{"rules":[{"name":"arrays","pattern":{"detail":{"a":["v"],"b":["v"],"c":["v"],"d":["w"]}}}]}""", "m.json");
        var values = string.Join(",", Enumerable.Repeat("\"v\"", 160));
        using var evt = JsonDocument.Parse($$"""{"detail":{"a":[{{values}}],"b":[{{values}}],"c":[{{values}}],"d":[{{values.Replace("v", "x")}},"{{last}}"]} }""");

        Assert.Equal(muted, rules.Matches(evt.RootElement, out var steps).Count > 0);
        Assert.InRange(steps, 1, 2 * RandomPatterns.Nodes(evt.RootElement));
    }

    [Fact]
    public void Mute_rule_on_nested_50_by_50_arrays_is_decided_in_work_linear_in_the_event()
    {
        // Was: not finished after 300 s. Both the arrays of values and the array of objects around them are 50 × 50.
        var rules = MuteRuleSet.Parse("""{"rules":[{"name":"nested","pattern":{"detail":{"a":["v"],"b":["v"],"c":["v"],"d":["w"]}}}]}""", "m.json");
        var row = "[" + string.Join(",", Enumerable.Repeat("\"v\"", 50)) + "]";
        var grid = "[" + string.Join(",", Enumerable.Repeat(row, 50)) + "]";
        static string Fields(string value) => $$"""{"a":{{value}},"b":{{value}},"c":{{value}},"d":{{value}} }""";
        using var inArrays = JsonDocument.Parse($$"""{"detail":{{Fields(grid)}} }""");
        using var inObjects = JsonDocument.Parse($$"""{"detail":[{{string.Join(",", Enumerable.Repeat(Fields(row), 50))}}]}""");

        foreach (var evt in new[] { inArrays, inObjects })
        {
            Assert.Empty(rules.Matches(evt.RootElement, out var steps));
            Assert.InRange(steps, 1, 2 * RandomPatterns.Nodes(evt.RootElement));
        }
    }

    [Theory]
    [InlineData(12, 1)]
    [InlineData(12, 40)]
    [InlineData(64, 1)]
    [InlineData(64, 40)]
    public void Mute_rule_with_many_exists_false_fields_over_arrays_is_decided_in_work_linear_in_the_event(int fields, int elements)
    {
        // Was: exponential in the number of {"exists":false} fields. Each array below gave two ways to hold (the field
        // absent, or present with "x") and every combination of them was kept, each checked against all those kept
        // before: ~4^k, k = 16 did not finish in 60 s, and the limit allowed 64.
        // Three kinds of field, mixed: values in arrays, a field in an array of objects, and fields with no value.
        string Field(int i) => (i % 3) switch
        {
            0 => $$"""{{Name(i)}}:[{"exists":false},"x"]""",
            1 => $$"""{{Name(i)}}:{"a":[{"exists":false},"x"]}""",
            _ => $$"""{{Name(i)}}:{"a":[{"exists":false}]}""",
        };
        string Value(int i) => (i % 3) switch
        {
            0 => $$"""{{Name(i)}}:[{{string.Join(",", Enumerable.Repeat("\"x\"", elements))}}]""",
            1 => $$"""{{Name(i)}}:[{{string.Join(",", Enumerable.Repeat("""{"b":1},{"a":"x"}""", elements))}}]""",
            _ => $$"""{{Name(i)}}:[{{string.Join(",", Enumerable.Repeat("""{"b":1}""", elements))}}]""",
        };
        static string Name(int i) => $"\"f{i:D2}\"";
        var rules = Patterns.One("{" + string.Join(",", Enumerable.Range(0, fields).Select(Field)) + "}");
        using var evt = JsonDocument.Parse("{" + string.Join(",", Enumerable.Range(0, fields).Select(Value)) + "}");
        using var withValue = JsonDocument.Parse("{" + string.Join(",", Enumerable.Range(0, fields).Select(Value)).Replace("\"b\"", "\"a\"") + "}");

        // The same bound for 1 and 40 elements per array: a constant of the rule, (k+1)(k+2), per event node.
        foreach (var (doc, muted) in new[] { (evt, true), (withValue, false) })
        {
            Assert.Equal(muted, rules.Matches(doc.RootElement, out var steps).Count > 0);
            Assert.InRange(steps, 1, (fields + 1L) * (fields + 2) * RandomPatterns.Nodes(doc.RootElement));
        }
    }

    [Fact]
    public void Accounts_row_with_an_unpaired_surrogate_is_reported_and_the_other_rows_load()
    {
        // Was: InvalidOperationException (not a row error, not InputException) from reading the row's Id.
        var json = WithRaw("{\"Accounts\":[{\"Id\":\"@@\",\"Name\":\"x\"},{\"Id\":\"111111111111\",\"Name\":\"management\"}]}", "@@", "\\udfff"u8.ToArray());
        var result = AccountFile.Parse(json, "a.json");
        Assert.Single(result.Accounts);
        Assert.Contains("Accounts[0]", Assert.Single(result.Errors).Where, StringComparison.Ordinal);
    }
}
