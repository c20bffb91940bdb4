using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Reading;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The window event is read in one forward pass, each record's data decoded in place. It must read every event, and
/// refuse every non-event, exactly as a parsed document read with <see cref="KinesisEventRecord.TryRead(JsonElement)"/>
/// does (the reading it replaced, and the one <c>pipeline digest</c> keeps): edge cases, then mutated events.
/// </summary>
public sealed class KinesisWindowEventTests
{
    private static readonly string[] EdgeCases =
    [
        """{"Records":[]}""",
        """{"Records":[{"kinesis":{"sequenceNumber":"1","partitionKey":"k","data":"QUJD","approximateArrivalTimestamp":1795510800.123}}]}""",
        // JSON escapes in base64 (System.Text.Json writes '+' as \u002B), white space inside it, padding variants.
        """{"Records":[{"kinesis":{"data":"Pj4\u002B"}},{"kinesis":{"data":"QUJD\nREVG"}},{"kinesis":{"data":" QUJD REVG "}},{"kinesis":{"data":"QUJDRA="}},{"kinesis":{"data":"QR=="}},{"kinesis":{"data":""}}]}""",
        """{"Records":[{"kinesis":{"data":"%%%"}},{"kinesis":{"data":12}},{"kinesis":{}},{"kinesis":"x"},{"kinesis":null},{},1,"s",[1,{"kinesis":{}}],null]}""",
        // Repeated properties: the last counts, whatever its kind.
        """{"Records":[{"kinesis":{"data":"QUJD","data":"REVG","sequenceNumber":"1","sequenceNumber":2}}]}""",
        """{"Records":[{"kinesis":{"data":"QUJD"},"kinesis":{"data":"REVG","partitionKey":"p"}}]}""",
        """{"Records":[{"kinesis":{"data":"QUJD"},"kinesis":[]}]}""",
        """{"Records":[{"kinesis":{"data":"QUJD"}}],"Records":[{"kinesis":{"data":"REVG"}},{"kinesis":{"data":"R0hJ"}}]}""",
        """{"Records":[{"kinesis":{"data":"QUJD"}}],"Records":{}}""",
        """{"Records":[],"shardId":"a","shardId":7}""",
        // The shard from the first record's eventID; arrival times out of range or of another kind.
        """{"Records":[{"eventID":"shardId-000000000006:49590","eventID":"shardId-000000000007:1","kinesis":{"data":"","approximateArrivalTimestamp":-1}},{"eventID":"shardId-9:1"}]}""",
        """{"Records":[{"eventID":5,"kinesis":{"approximateArrivalTimestamp":"1795510800"}},{"kinesis":{"approximateArrivalTimestamp":253402300800}}]}""",
        """{"Records":[{"eventID":"nocolon","kinesis":{"approximateArrivalTimestamp":1e308}},{"kinesis":{"approximateArrivalTimestamp":-0.0}}]}""",
        // Windows, states, flags.
        """{"Records":[],"window":{"start":"2026-11-24T09:00:00Z","end":"2026-11-24T09:15:00Z"},"state":{"1":282,"a":"b","n":null,"o":{"x":1},"a":"c","f":1.50e3},"isFinalInvokeForWindow":true,"isWindowTerminatedEarly":true}""",
        """{"Records":[],"window":{"start":"not a time","end":5,"start":"2026-11-24T09:00:00+02:00"},"state":[1],"isFinalInvokeForWindow":"true"}""",
        """{"Records":[],"window":{"start":"2026-11-24T09:00:00Z"},"window":"none","state":{"k":"v"},"state":7,"isFinalInvokeForWindow":true,"isFinalInvokeForWindow":false}""",
        """{"\u0052ecords":[{"\u006binesis":{"d\u0061ta":"QUJD","sequence\u004eumber":"\u0031"}}],"shard\u0049d":"s\u00e9","eventSourceARN":"arn:aws:kinesis:us-east-1:1:stream/x","st\u0061te":{"k\u00e9y":"v\u00e9"}}""",
        """  {"Records":[]}  """,
        // Not events: every one is a FormatException.
        "", " ", "[]", "{}", "null", "\"Records\"", """{"Records":[]} {}""", """{"Records":[]}x""", """{"Records":[}""", """{"Records":[],}""",
        """{"Records":{"kinesis":{}}}""", """{"records":[]}""", """{"Records":[]} // comment""", "\uFEFF{\"Records\":[]}",
        "{\"Records\":[" + new string('[', 70) + new string(']', 70) + "]}",
        "{\"Records\":[" + new string('[', 60) + new string(']', 60) + "]}",
    ];

    public static TheoryData<int> EdgeCaseIndexes() => [.. Enumerable.Range(0, EdgeCases.Length)];

    [Theory]
    [MemberData(nameof(EdgeCaseIndexes))]
    public void An_edge_case_reads_as_a_parsed_document_reads_it(int index) =>
        AssertSameReading(Encoding.UTF8.GetBytes(EdgeCases[index]), EdgeCases[index]);

    [Fact]
    public void Invalid_UTF_8_in_strings_reads_as_a_parsed_document_reads_it()
    {
        foreach (var field in new[] { "sequenceNumber", "partitionKey", "data" })
        {
            var json = Encoding.UTF8.GetBytes($$$"""{"Records":[{"kinesis":{"{{{field}}}":"ab~cd"}}],"shardId":"s"}""");
            json[Array.IndexOf(json, (byte)'~')] = 0xff;
            AssertSameReading(json, field);
        }
        var shard = Encoding.UTF8.GetBytes("""{"Records":[],"shardId":"a~"}""");
        shard[Array.IndexOf(shard, (byte)'~')] = 0xc0;
        AssertSameReading(shard, "shardId");
    }

    [Fact]
    public void Mutated_events_read_as_a_parsed_document_reads_them()
    {
        var rng = new Random(20261202);
        var mutator = new Mutator(rng);
        var seeds = new List<byte[]>
        {
            new KinesisBatch { State = new Dictionary<string, string> { ["digests.v3"] = "abc", ["n"] = "1" } }
                .Add(Events.ApiCall(account: "111111111111", time: Events.T0))
                .Add(Events.ApiCall(account: "222222222222", time: Events.T0.AddSeconds(5)))
                .AddData([0, 1, 2, 0xfb, 0xff, 0xfe]).AddRawData("%%%").ToJson(),
        };
        seeds.AddRange(EdgeCases.Take(17).Select(Encoding.UTF8.GetBytes));
        for (int i = 0; i < 3000; i++)
        {
            var log = new List<string>();
            // JSON-aware mutations need a seed a JSON tree can hold (no repeated keys): the batch.
            var input = i % 2 == 0 ? mutator.MutateBytes(mutator.Pick(seeds), log) : mutator.MutateJson(seeds[0], log);
            AssertSameReading(input, $"mutation {i}: {string.Join("; ", log)}");
        }
    }

    [Fact]
    public void A_property_name_that_is_not_text_is_passed_over()
    {
        var evt = KinesisWindowEvent.Parse("""{"Records":[{"kinesis":{"d\ud800":"x","data":"QUJD"}}],"Re\udc00cords":1}"""u8.ToArray());

        Assert.Equal("ABC"u8.ToArray(), Assert.Single(evt.Records).Data.ToArray());
    }

    [Fact]
    public void Parse_leaves_its_input_as_it_was_and_the_records_hold_their_data()
    {
        var batch = new KinesisBatch().AddData("{\"a\":1}"u8.ToArray()).AddData([0xfb, 0xff, 0x3e, 0x3f]);
        var json = batch.ToJson();
        var copy = json.ToArray();

        var evt = KinesisWindowEvent.Parse(json);

        Assert.Equal(copy, json);
        Assert.Equal("{\"a\":1}"u8.ToArray(), evt.Records[0].Data.ToArray());
        Assert.Equal(new byte[] { 0xfb, 0xff, 0x3e, 0x3f }, evt.Records[1].Data.ToArray());
        Assert.Equal(batch.SequenceNumbers, evt.Records.Select(r => r.SequenceNumber));
    }

    [Fact]
    public void Records_of_one_account_share_one_partition_key_string_and_an_escaped_key_reads_as_its_text()
    {
        var data = Convert.ToBase64String("{}"u8);
        var json = new KinesisBatch().AddRawData(data, "210000000001").AddRawData(data, "210000000002").AddRawData(data, "210000000001")
            .AddRawData(data, "caf\u00e9-key").AddRawData(data, "210000000001").AddRawData(data, "210000000001").ToJson();
        Assert.Contains(@"""caf\u00E9-key""", Encoding.UTF8.GetString(json)); // written escaped

        var evt = KinesisWindowEvent.ParseInPlace(json);

        Assert.Equal(["210000000001", "210000000002", "210000000001", "caf\u00e9-key", "210000000001", "210000000001"], evt.Records.Select(r => r.PartitionKey));
        // One string for the four records of the account. The cache is shared by every test running meanwhile: one of
        // theirs landing in the same slot can replace it once, so at most two instances, never one per record.
        var instances = new[] { 0, 2, 4, 5 }.Select(i => evt.Records[i].PartitionKey!).Distinct(ReferenceEqualityComparer.Instance).Count();
        Assert.InRange(instances, 1, 2);
    }

    [Fact]
    public void ParseInPlace_decodes_the_data_into_the_buffer_it_is_given()
    {
        var buffer = new KinesisBatch().AddData("hello, window"u8.ToArray()).ToJson();

        var evt = KinesisWindowEvent.ParseInPlace(buffer);

        Assert.Equal("hello, window"u8.ToArray(), evt.Records[0].Data.ToArray());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(evt.Records[0].Data, out var segment));
        Assert.Same(buffer, segment.Array);
    }

    private static void AssertSameReading(byte[] json, string what)
    {
        var expected = Describe(() => Reference(json.ToArray()));
        var actual = Describe(() => KinesisWindowEvent.ParseInPlace(json.ToArray()));
        // The one difference, on purpose: a property name that is not text (an escaped lone surrogate) made the document
        // throw when a lookup met it, failing the batch; the reader passes it over like any other name (a valid document
        // either way, so the reader cannot call it "not JSON").
        if (expected == nameof(InvalidOperationException) && HasNameThatIsNotText(json))
        {
            Assert.DoesNotContain("not JSON", actual, StringComparison.Ordinal);
            return;
        }
        Assert.True(expected == actual, $"{what}\ninput:    {Encoding.UTF8.GetString(json)}\nexpected: {expected}\nactual:   {actual}");
    }

    private static bool HasNameThatIsNotText(byte[] json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName) continue;
            try
            {
                reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Everything the handler reads from an event, or the kind of exception (messages differ by position only).</summary>
    private static string Describe(Func<KinesisWindowEvent> read)
    {
        KinesisWindowEvent evt;
        try
        {
            evt = read();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            return e.GetType().Name + (e.Message.Contains("no \"Records\" array", StringComparison.Ordinal) ? " (no Records)" : e is FormatException ? " (not JSON)" : "");
        }
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"shard={evt.ShardId} arn={evt.EventSourceArn} start={evt.WindowStart:O} end={evt.WindowEnd:O} final={evt.IsFinalInvokeForWindow} early={evt.IsWindowTerminatedEarly} state=");
        foreach (var (k, v) in evt.State.OrderBy(kv => kv.Key, StringComparer.Ordinal)) text.Append(CultureInfo.InvariantCulture, $"[{k}={v}]");
        foreach (var r in evt.Records)
            text.Append(CultureInfo.InvariantCulture, $" | seq={r.SequenceNumber} key={r.PartitionKey} data={Convert.ToHexString(r.Data.Span)} error={r.ReadError} arrival={r.ArrivalTime:O}");
        return text.ToString();
    }

    /// <summary>The event read as it was before the forward reader: a parsed document, and KinesisEventRecord.TryRead(JsonElement).</summary>
    private static KinesisWindowEvent Reference(byte[] json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new FormatException("the invocation event is not JSON", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Records", out var items) || items.ValueKind != JsonValueKind.Array)
                throw new FormatException("the invocation event has no \"Records\" array");
            var records = items.EnumerateArray().Select(item => KinesisEventRecord.TryRead(item) is { } r
                ? new KinesisRecord(r.SequenceNumber, r.PartitionKey, r.Data, r.ReadError) { ArrivalTime = r.ArrivalTime }
                : new KinesisRecord(null, null, ReadOnlyMemory<byte>.Empty, KinesisEventRecord.NoKinesisObject)).ToList();
            var window = root.TryGetProperty("window", out var w) && w.ValueKind == JsonValueKind.Object ? w : default;
            var start = Time(window, "start");
            var state = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("state", out var s) && s.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in s.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.String) state[p.Name] = p.Value.GetString()!;
                    else if (p.Value.ValueKind == JsonValueKind.Number) state[p.Name] = p.Value.GetRawText();
                }
            }
            return new KinesisWindowEvent
            {
                Records = records,
                ShardId = Str(root, "shardId") ?? ShardFromEventId(records.Count > 0 ? items[0] : default) ?? "unknown-shard",
                EventSourceArn = Str(root, "eventSourceARN"),
                WindowStart = start,
                WindowEnd = Time(window, "end"),
                State = state,
                IsFinalInvokeForWindow = start is null || (root.TryGetProperty("isFinalInvokeForWindow", out var f) && f.ValueKind == JsonValueKind.True),
                IsWindowTerminatedEarly = root.TryGetProperty("isWindowTerminatedEarly", out var t) && t.ValueKind == JsonValueKind.True,
            };
        }
    }

    private static string? ShardFromEventId(JsonElement first)
    {
        var id = first.ValueKind == JsonValueKind.Object ? Str(first, "eventID") : null;
        int colon = id?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon > 0 ? id![..colon] : null;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static DateTimeOffset? Time(JsonElement e, string name) =>
        Str(e, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}
