using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.TestSupport.Fuzzing;

/// <summary>
/// A deterministic mutation fuzzer for event inputs: byte-level damage (bit flips, truncation, deleted,
/// duplicated and swapped spans, control bytes, invalid UTF-8) and JSON-aware damage (type swaps of the fields
/// the pipeline reads, removed fields, hostile and huge strings, deep nesting, duplicate keys), then file shapes
/// (JSON Lines, <c>{"Records":[…]}</c>, arrays, Lambda Kinesis events with good and garbage base64, gzip).
/// Everything comes from the <see cref="Random"/> it is given: the same seed gives the same input.
/// </summary>
public sealed class Mutator(Random rng)
{
    /// <summary>The fields the pipeline reads (envelope, CloudTrail record, findings, containers): where type confusion hurts.</summary>
    public static readonly string[] KnownFields =
    [
        "account", "time", "detail", "detail-type", "source", "id", "region", "resources", "version",
        "userIdentity", "requestParameters", "responseElements", "additionalEventData", "eventTime", "eventName",
        "eventSource", "eventID", "eventType", "recipientAccountId", "errorCode", "errorMessage", "sourceIPAddress",
        "userAgent", "readOnly", "sessionContext", "sessionIssuer", "attributes", "mfaAuthenticated", "arn", "userName",
        "type", "principalId", "accountId", "invokedBy", "awsRegion", "severity", "title", "findings", "Severity",
        "Normalized", "Label", "Title", "AwsAccountId", "UpdatedAt", "CreatedAt", "updatedAt", "createdAt",
        "ProductArn", "SchemaVersion", "schemaVersion", "Records", "kinesis", "data", "sequenceNumber",
        "instancesSet", "items", "instanceId", "cidrIp", "policy", "Principal", "@timestamp", "Id", "Name", "rules",
        "pattern", "name", "numeric", "prefix", "anything-but", "cidr", "exists", "wildcard", "$or",
    ];

    /// <summary>Text an attacker controls (user names, session names, error messages) aimed at terminals and Slack.</summary>
    public static readonly string[] HostileStrings =
    [
        "<!channel>", "<!here|here>", "<@U012ABCDEF>", "<https://evil.example|click here>", "<#C0123|general>",
        "&lt;!channel&gt;", "a & b < c > d", "*bold* _it_ ~strike~ `code` ```block```",
        "\u001b[2J\u001b[31mred\u001b[0m", "\u001b]0;pwned\u0007", "line1\nline2\r\nline3", "tab\there", "nul\u0000byte",
        "\u202eevil\u202c", "\u200b\u200d\ufeff", "Алиса-админ", "管理者アカウント", "🔥💥👩‍💻", "e\u0301\u0301\u0301",
        "'; DROP TABLE accounts; --", "${jndi:ldap://x}", "%s%s%n", "../../etc/passwd", "\\", "\"", "",
        " ", "123456789012", "2026-11-24T09:00:00Z", "AWS API Call via CloudTrail", "null",
    ];

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xff], [0xfe, 0xff], [0xc0, 0x80], [0xc0, 0xaf], [0x80], [0xbf, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98],
        [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe0, 0x80, 0xaf],
    ];

    private static readonly string[] JsonTokens =
    [
        "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud800", "\\udc00", "\\u0000", "\\x", "null", "true", "-",
        "1e400", "\n", "\r", "//", "/*", "\ufeff", "NaN", "Infinity", "0x10",
    ];

    private readonly List<(string Marker, byte[] Raw)> _raw = [];
    private readonly List<byte[]> _front = [];

    public int Next(int max) => rng.Next(max);

    public bool Chance(double p) => rng.NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    // ---------------------------------------------------------------- byte level

    /// <summary>One to three byte-level mutations.</summary>
    public byte[] MutateBytes(byte[] input, List<string> log)
    {
        var data = new List<byte>(input);
        int n = 1 + rng.Next(3);
        for (int i = 0; i < n; i++) MutateBytesOnce(data, log);
        return [.. data];
    }

    private void MutateBytesOnce(List<byte> data, List<string> log)
    {
        int Pos() => data.Count == 0 ? 0 : rng.Next(data.Count + 1);
        int Len() => 1 + (Chance(0.8) ? rng.Next(16) : rng.Next(Math.Max(1, data.Count / 4) + 1));
        switch (rng.Next(11))
        {
            case 0:
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips && data.Count > 0; i++) { int p = rng.Next(data.Count); data[p] ^= (byte)(1 << rng.Next(8)); }
                log.Add($"flip {flips} bits");
                break;
            case 1:
                int cut = Pos();
                data.RemoveRange(cut, data.Count - cut);
                log.Add($"truncate at {cut}");
                break;
            case 2:
            {
                int p = Pos(), len = Math.Min(Len(), data.Count - p);
                data.RemoveRange(p, len);
                log.Add($"delete {len} at {p}");
                break;
            }
            case 3:
            {
                int p = Pos(), len = Math.Min(Len(), data.Count - p);
                data.InsertRange(p, data.GetRange(p, len));
                log.Add($"duplicate {len} at {p}");
                break;
            }
            case 4:
            {
                if (data.Count < 4) goto case 1;
                int a = rng.Next(data.Count / 2), b = data.Count / 2 + rng.Next(data.Count / 2);
                int len = Math.Min(Len(), Math.Min(b - a, data.Count - b));
                var first = data.GetRange(a, len);
                var second = data.GetRange(b, len);
                for (int i = 0; i < len; i++) { data[a + i] = second[i]; data[b + i] = first[i]; }
                log.Add($"swap {len} at {a}/{b}");
                break;
            }
            case 5:
            {
                byte[] ctl = Chance(0.3) ? "\u001b[31m"u8.ToArray() : [(byte)(Chance(0.1) ? 0x7f : rng.Next(0x20))];
                data.InsertRange(Pos(), ctl);
                log.Add("insert control bytes");
                break;
            }
            case 6:
            case 7:
            {
                // Prefer inside a string value, where a decoder meets it.
                int p = QuotePosition(data) ?? Pos();
                data.InsertRange(p, Pick(InvalidUtf8));
                log.Add($"insert invalid UTF-8 at {p}");
                break;
            }
            case 8:
            {
                var token = Pick(JsonTokens);
                int p = Pos();
                data.InsertRange(p, Encoding.UTF8.GetBytes(token));
                log.Add($"insert token {JsonSerializer.Serialize(token)} at {p}");
                break;
            }
            case 9:
            {
                int p = Pos(), len = Math.Min(Len(), data.Count - p);
                for (int i = 0; i < len; i++) data[p + i] = (byte)rng.Next(256);
                log.Add($"overwrite {len} random bytes at {p}");
                break;
            }
            default:
                data.Insert(Pos(), (byte)'\n');
                log.Add("insert newline");
                break;
        }
    }

    private int? QuotePosition(List<byte> data)
    {
        if (data.Count == 0) return null;
        int start = rng.Next(data.Count);
        int q = data.IndexOf((byte)'"', start);
        return q < 0 ? null : q + 1;
    }

    // ---------------------------------------------------------------- JSON level

    /// <summary>One to three JSON-aware mutations of one event; falls back to byte mutations when the input is not JSON.</summary>
    public byte[] MutateJson(byte[] input, List<string> log)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(input); }
        catch (JsonException) { return MutateBytes(input, log); }
        if (root is null) return MutateBytes(input, log);

        _raw.Clear();
        _front.Clear();
        int n = 1 + rng.Next(3);
        for (int i = 0; i < n; i++) root = MutateNode(root, log);
        var bytes = Encoding.UTF8.GetBytes(root.ToJsonString());
        if (_front.Count > 0 && bytes.Length > 2 && bytes[0] == (byte)'{')
            foreach (var pair in _front) bytes = [(byte)'{', .. pair, .. bytes.AsSpan(1)];
        foreach (var (marker, raw) in _raw) bytes = Replace(bytes, Encoding.UTF8.GetBytes(marker), raw);
        return bytes;
    }

    private JsonNode MutateNode(JsonNode root, List<string> log)
    {
        var props = new List<(JsonObject Parent, string Name)>();
        Collect(root, props, 0);
        var known = props.Where(p => KnownFields.Contains(p.Name, StringComparer.Ordinal)).ToList();
        var target = known.Count > 0 && Chance(0.85) ? Pick(known) : props.Count > 0 ? Pick(props) : default;

        switch (rng.Next(9))
        {
            case 0 or 1 or 2 when target.Parent is not null:
                var swapped = AlternativeValue(target.Parent[target.Name]);
                log.Add($"{target.Name} := {Describe(swapped)}");
                target.Parent[target.Name] = swapped;
                return root;
            case 3 when target.Parent is not null:
                target.Parent.Remove(target.Name);
                log.Add($"remove {target.Name}");
                return root;
            case 4 when target.Parent is not null:
                var marker = Marker(DeepNesting(out var depth));
                target.Parent[target.Name] = marker;
                log.Add($"{target.Name} := nested {depth} deep");
                return root;
            case 5 when target.Parent is not null:
                int size = Chance(0.9) ? 1 + rng.Next(70_000) : 1_048_576 + rng.Next(100_000) - 50_000;
                target.Parent[target.Name] = HugeString(size);
                log.Add($"{target.Name} := string of {size} chars");
                return root;
            case 6 when target.Parent is not null:
                var textTarget = target;
                if (Chance(0.5))
                {
                    textTarget.Parent[textTarget.Name] = Pick(HostileStrings) + (Chance(0.5) ? Pick(HostileStrings) : "");
                    log.Add($"{textTarget.Name} := hostile text");
                }
                else
                {
                    // Text JsonNode cannot write: invalid UTF-8 or a lone surrogate escape, inside a string.
                    byte[] raw = Chance(0.5) ? [(byte)'"', .. "x"u8, .. Pick(InvalidUtf8), .. "y"u8, (byte)'"'] : Encoding.UTF8.GetBytes(Chance(0.5) ? "\"a\\ud800b\"" : "\"\\udfff\\u0000\"");
                    textTarget.Parent[textTarget.Name] = Marker(raw);
                    log.Add($"{textTarget.Name} := broken string");
                }
                return root;
            case 7:
                // Type confusion of the whole record: the envelope or its detail wrapped in an array, or swapped.
                if (root is JsonObject o && o["detail"] is JsonNode detail && Chance(0.5))
                {
                    o["detail"] = new JsonArray(detail.DeepClone());
                    log.Add("detail wrapped in an array");
                    return root;
                }
                log.Add("root wrapped in an object as its detail");
                return new JsonObject { ["detail"] = root.DeepClone(), ["account"] = "123456789012" };
            default:
                // A duplicate key (System.Text.Json keeps the last, other readers the first), put in front after serialising.
                var name = Pick(KnownFields);
                _front.Add(Encoding.UTF8.GetBytes($"\"{name}\":{AlternativeValue(null)?.ToJsonString() ?? "null"},"));
                log.Add($"duplicate key {name} in front");
                return root;
        }
    }

    private void Collect(JsonNode? node, List<(JsonObject, string)> into, int depth)
    {
        if (depth > 20) return;
        if (node is JsonObject obj)
            foreach (var kv in obj) { into.Add((obj, kv.Key)); Collect(kv.Value, into, depth + 1); }
        else if (node is JsonArray arr)
            foreach (var item in arr) Collect(item, into, depth + 1);
    }

    /// <summary>A value of another type than the field should have: numbers where strings go, nulls, arrays, objects.</summary>
    public JsonNode? AlternativeValue(JsonNode? current) => rng.Next(16) switch
    {
        0 => null,
        1 => JsonValue.Create(rng.Next(2) == 0),
        2 => JsonValue.Create(Pick(new long[] { 0, -1, 123456789012, 1234567890123, long.MaxValue })),
        3 => JsonValue.Create(Pick(new double[] { 1.5, -0.0, 1e308, 3.018e2, 5e-324 })),
        4 => Marker(Encoding.UTF8.GetBytes(Pick(new[] { "1e400", "-1e400", "123456789012.0", "1.23456789012e11", "0.000000000000000000000001" }))),
        5 => new JsonArray(),
        6 => new JsonObject(),
        7 => current is null ? new JsonArray(1, "a", null) : new JsonArray(current.DeepClone()),
        8 => current is null ? new JsonObject { ["x"] = 1 } : new JsonObject { ["value"] = current.DeepClone() },
        9 => JsonValue.Create(""),
        10 => JsonValue.Create(Pick(HostileStrings)),
        11 => JsonValue.Create(current?.ToJsonString() ?? "{}"), // the value as a JSON string
        12 => JsonValue.Create("2026-13-45T25:61:61Z"),
        13 => JsonValue.Create(new string('9', 12 + rng.Next(3) - 1)),
        14 => new JsonArray(new JsonArray(new JsonArray())),
        _ => JsonValue.Create(Pick(new[] { "AwsApiCall", "AwsConsoleSignIn", "Root", "IAMUser", "AssumedRole", "GuardDuty Finding", "*" })),
    };

    private static string Describe(JsonNode? node)
    {
        if (node is null) return "null";
        var s = node.ToJsonString();
        return s.Length > 40 ? s[..40] + "…" : s;
    }

    /// <summary>Brackets or objects nested around the depth limits of the readers (64, 256) and far beyond.</summary>
    public byte[] DeepNesting(out int depth)
    {
        depth = Pick(new[] { 10, 63, 64, 65, 127, 255, 256, 257, 258, 1_000, 20_000 }) + (Chance(0.3) ? rng.Next(3) - 1 : 0);
        bool objects = Chance(0.5);
        var open = objects ? "{\"a\":"u8.ToArray() : "["u8.ToArray();
        var close = objects ? "}"u8.ToArray() : "]"u8.ToArray();
        var result = new List<byte>(depth * (open.Length + 1) + 8);
        for (int i = 0; i < depth; i++) result.AddRange(open);
        result.AddRange("1"u8.ToArray());
        if (!Chance(0.1)) for (int i = 0; i < depth; i++) result.AddRange(close); // else unbalanced
        return [.. result];
    }

    private string HugeString(int size)
    {
        var unit = Pick(new[] { "a", "é", "管", "🔥", "<!channel>", "\\" });
        var sb = new StringBuilder(size + unit.Length);
        while (sb.Length < size) sb.Append(unit);
        return sb.ToString();
    }

    /// <summary>A placeholder string value, replaced (quotes and all) by <paramref name="raw"/> bytes after serialising.</summary>
    private JsonNode Marker(byte[] raw)
    {
        var marker = $"@@FUZZ{_raw.Count}@@";
        _raw.Add(("\"" + marker + "\"", raw));
        return JsonValue.Create(marker)!;
    }

    private static byte[] Replace(byte[] haystack, byte[] needle, byte[] replacement)
    {
        int at = haystack.AsSpan().IndexOf(needle);
        if (at < 0) return haystack;
        var result = new byte[haystack.Length - needle.Length + replacement.Length];
        haystack.AsSpan(0, at).CopyTo(result);
        replacement.CopyTo(result.AsSpan(at));
        haystack.AsSpan(at + needle.Length).CopyTo(result.AsSpan(at + replacement.Length));
        return result;
    }

    // ---------------------------------------------------------------- events and files

    /// <summary>One event, mutated JSON-aware, byte-wise, both, or (sometimes) left alone.</summary>
    public byte[] MutateEvent(byte[] seed, List<string> log) => rng.Next(10) switch
    {
        0 => seed,
        < 6 => MutateJson(seed, log),
        < 9 => MutateBytes(seed, log),
        _ => MutateBytes(MutateJson(seed, log), log),
    };

    /// <summary>A whole input file: some events (mutated), as JSON Lines, a CloudTrail file, an array or a Lambda Kinesis event.</summary>
    public FuzzInput File(IReadOnlyList<byte[]> seeds, int maxEvents = 8)
    {
        var log = new List<string>();
        int count = 1 + rng.Next(maxEvents);
        var events = new List<byte[]>(count);
        for (int i = 0; i < count; i++)
        {
            var seed = Pick(seeds);
            events.Add(Chance(0.6) ? MutateEvent(seed, log) : seed);
            if (Chance(0.1)) events.Add(events[^1]); // a redelivery
        }

        byte[] file;
        switch (rng.Next(10))
        {
            case 0:
                file = Join(events, ",", "{\"Records\":[", "]}");
                log.Add("as {\"Records\":[…]}");
                break;
            case 1:
                file = Join(events, ",\n", "[\n", "\n]");
                log.Add("as an array");
                break;
            case 2:
                file = KinesisEvent(events, log);
                break;
            case 3:
                file = Pretty(Join(events, ",", "{\"Records\":[", "]}"));
                log.Add("as a pretty-printed {\"Records\":[…]}");
                break;
            default:
                file = Join(events, Chance(0.2) ? "\r\n" : Chance(0.1) ? "\n\n \n" : "\n", "", Chance(0.5) ? "\n" : "");
                log.Add($"as JSON Lines ({events.Count})");
                break;
        }
        if (Chance(0.15)) file = MutateBytes(file, log);
        return new FuzzInput(file, string.Join("; ", log));
    }

    /// <summary>The event Lambda gets from Kinesis, with data that is base64 of each event, or not base64 at all.</summary>
    public byte[] KinesisEvent(IReadOnlyList<byte[]> events, List<string> log)
    {
        var records = new JsonArray();
        foreach (var e in events)
        {
            JsonNode? data = rng.Next(10) switch
            {
                0 => JsonValue.Create("not base64 at all!"),
                1 => JsonValue.Create(Convert.ToBase64String(RandomBytes(1 + rng.Next(200)))),
                2 => null,
                3 => JsonValue.Create(12345),
                4 => JsonValue.Create(Convert.ToBase64String(e)[..^Math.Min(3, Convert.ToBase64String(e).Length)]),
                _ => JsonValue.Create(Convert.ToBase64String(e)),
            };
            var kinesis = new JsonObject
            {
                ["kinesisSchemaVersion"] = "1.0",
                ["partitionKey"] = "111122223333",
                ["sequenceNumber"] = Chance(0.9) ? "4959" + rng.NextInt64(1_000_000_000_000) : Pick(HostileStrings),
                ["approximateArrivalTimestamp"] = 1_764_000_000.5,
            };
            if (!Chance(0.05)) kinesis["data"] = data;
            records.Add(Chance(0.03) ? (JsonNode)JsonValue.Create("not an object")! : new JsonObject
            {
                ["kinesis"] = kinesis,
                ["eventSource"] = "aws:kinesis",
                ["eventID"] = "shardId-000000000000:1",
            });
        }
        log.Add($"as a Lambda Kinesis event ({events.Count})");
        return Encoding.UTF8.GetBytes(new JsonObject { ["Records"] = records }.ToJsonString());
    }

    /// <summary>Gzip of the input, then (usually) damaged: garbage, truncated, or bits flipped in the compressed bytes.</summary>
    public FuzzInput Gzip(byte[] content, string description)
    {
        var log = new List<string> { description };
        var compressed = Compress(content);
        switch (rng.Next(5))
        {
            case 0:
                log.Add("valid gzip");
                break;
            case 1:
                compressed = RandomBytes(rng.Next(2000));
                log.Add("random bytes as .gz");
                break;
            case 2:
                compressed = compressed[..rng.Next(compressed.Length)];
                log.Add("truncated gzip");
                break;
            default:
                compressed = MutateBytes(compressed, log);
                break;
        }
        return new FuzzInput(compressed, string.Join("; ", log));
    }

    public static byte[] Compress(byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(content);
        return buffer.ToArray();
    }

    private byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Join(List<byte[]> parts, string separator, string prefix, string suffix)
    {
        var sep = Encoding.UTF8.GetBytes(separator);
        using var ms = new MemoryStream();
        ms.Write(Encoding.UTF8.GetBytes(prefix));
        for (int i = 0; i < parts.Count; i++)
        {
            if (i > 0) ms.Write(sep);
            ms.Write(parts[i]);
        }
        ms.Write(Encoding.UTF8.GetBytes(suffix));
        return ms.ToArray();
    }

    private static byte[] Pretty(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 1024 });
            using var ms = new MemoryStream();
            using (var writer = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, MaxDepth = 1024, SkipValidation = true }))
                doc.WriteTo(writer);
            return ms.ToArray();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return json; // not JSON (already damaged): leave it
        }
    }
}
