using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using Pipeline.Lambda.Windows;

namespace Pipeline.Lambda.Tests;

/// <summary>Builds the events Lambda sends a tumbling-window function, as JSON bytes and as parsed events.</summary>
internal sealed class KinesisBatch
{
    public const string Shard = "shardId-000000000006";
    public static readonly DateTimeOffset WindowStart = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    private static long _sequence = 4959033827149025660L;
    private readonly List<JsonObject> _records = [];

    public DateTimeOffset Window { get; init; } = WindowStart;
    public bool Final { get; init; }
    public IReadOnlyDictionary<string, string>? State { get; init; }
    /// <summary>Raw JSON for "state" (to send numbers, as AWS's sample does).</summary>
    public string? RawState { get; init; }

    public IReadOnlyList<string> SequenceNumbers => [.. _records.Select(r => r["kinesis"]!["sequenceNumber"]!.GetValue<string>())];

    /// <summary>
    /// Adds an envelope as Lambda delivers it: partitioned by its account (as the stream's rule does) and arriving at its
    /// own time unless <paramref name="arrival"/> says otherwise.
    /// </summary>
    public KinesisBatch Add(JsonNode envelope, DateTimeOffset? arrival = null)
    {
        var time = envelope["time"]?.GetValue<string>() is { } text ? DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : WindowStart;
        return AddRawData(Convert.ToBase64String(Encoding.UTF8.GetBytes(envelope.ToJsonString())), envelope["account"]?.GetValue<string>(), arrival ?? time);
    }

    public KinesisBatch AddAll(IEnumerable<JsonNode> envelopes)
    {
        foreach (var e in envelopes) Add(e);
        return this;
    }

    public KinesisBatch AddData(byte[] data) => AddRawData(Convert.ToBase64String(data));

    public KinesisBatch AddRawData(string base64, string? partitionKey = null, DateTimeOffset? arrival = null)
    {
        var seq = Interlocked.Increment(ref _sequence).ToString(System.Globalization.CultureInfo.InvariantCulture) + "00000000000000000000";
        _records.Add(new JsonObject
        {
            ["kinesis"] = new JsonObject
            {
                ["kinesisSchemaVersion"] = "1.0",
                ["partitionKey"] = partitionKey ?? "111122223333",
                ["sequenceNumber"] = seq,
                ["data"] = base64,
                ["approximateArrivalTimestamp"] = (arrival ?? Window).ToUnixTimeMilliseconds() / 1000.0,
            },
            ["eventSource"] = "aws:kinesis",
            ["eventVersion"] = "1.0",
            ["eventID"] = $"{Shard}:{seq}",
            ["eventName"] = "aws:kinesis:record",
            ["invokeIdentityArn"] = "arn:aws:iam::123456789012:role/lambda-kinesis-role",
            ["awsRegion"] = "us-east-1",
            ["eventSourceARN"] = "arn:aws:kinesis:us-east-1:123456789012:stream/org-events",
        });
        return this;
    }

    /// <summary>The same records again with another state (what Lambda sends when it retries a batch).</summary>
    public KinesisBatch With(IReadOnlyDictionary<string, string>? state, bool? final = null)
    {
        var copy = new KinesisBatch { Window = Window, Final = final ?? Final, State = state };
        foreach (var r in _records) copy._records.Add((JsonObject)r.DeepClone());
        return copy;
    }

    public byte[] ToJson()
    {
        var root = new JsonObject
        {
            ["Records"] = new JsonArray([.. _records.Select(r => (JsonNode)r.DeepClone())]),
            ["window"] = new JsonObject
            {
                ["start"] = Window.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
                ["end"] = Window.AddMinutes(15).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            },
            ["state"] = RawState is not null ? JsonNode.Parse(RawState) : ToNode(State),
            ["shardId"] = Shard,
            ["eventSourceARN"] = "arn:aws:kinesis:us-east-1:123456789012:stream/org-events",
            ["isFinalInvokeForWindow"] = Final,
            ["isWindowTerminatedEarly"] = false,
        };
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    public KinesisWindowEvent ToEvent() => KinesisWindowEvent.Parse(ToJson());

    private static JsonObject ToNode(IReadOnlyDictionary<string, string>? state)
    {
        var o = new JsonObject();
        foreach (var (k, v) in state ?? new Dictionary<string, string>()) o[k] = v;
        return o;
    }

    /// <summary>Reads a response the way Lambda does: the state map and the failed sequence numbers.</summary>
    public static (Dictionary<string, string>? State, List<string> Failures) ReadResponse(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        Dictionary<string, string>? state = null;
        if (doc.RootElement.TryGetProperty("state", out var s))
        {
            state = [];
            foreach (var p in s.EnumerateObject()) state[p.Name] = p.Value.GetString()!;
        }
        var failures = doc.RootElement.GetProperty("batchItemFailures").EnumerateArray()
            .Select(f => f.GetProperty("itemIdentifier").GetString()!).ToList();
        return (state, failures);
    }
}
