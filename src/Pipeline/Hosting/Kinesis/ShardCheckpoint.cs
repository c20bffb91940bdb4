using System.Text.Json;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>Totals of the windows a shard has finished (a window's totals move here at its final invocation).</summary>
internal sealed record RunTotals(long Received, long Rejected, long Duplicates, long Muted, long Digested, long Digests, long CarriedIn = 0, long CarriedOut = 0)
{
    public static RunTotals Zero { get; } = new(0, 0, 0, 0, 0, 0);

    public RunTotals Add(RunSummary s) => new(Received + s.Received, Rejected + s.Rejected, Duplicates + s.Duplicates, Muted + s.Muted, Digested + s.Digested, Digests + s.Digests,
        CarriedIn + s.CarriedIn, CarriedOut + s.CarriedOut);

    public RunTotals Add(RunTotals t) => new(Received + t.Received, Rejected + t.Rejected, Duplicates + t.Duplicates, Muted + t.Muted, Digested + t.Digested, Digests + t.Digests,
        CarriedIn + t.CarriedIn, CarriedOut + t.CarriedOut);

    /// <summary>The totals as a run summary (no per-rule or per-reason counts), as the renderers and the JSON writer take it.</summary>
    public RunSummary ToSummary(long openEvents = 0) => new(Received, Rejected, Duplicates, Muted, Digested, Digests, [], [], openEvents)
    {
        CarriedIn = CarriedIn,
        CarriedOut = CarriedOut,
    };
}

/// <summary>
/// Where one shard stands, saved after every handler call: the last record handed to the handler, the open
/// window and the state the handler returned for it, and the totals of finished windows. Restarting from it
/// replays nothing already processed and forgets nothing: the same contract Lambda's event source mapping keeps.
/// </summary>
internal sealed record ShardCheckpoint
{
    public required string ShardId { get; init; }
    /// <summary>Sequence number of the last record processed; null before the first.</summary>
    public string? SequenceNumber { get; init; }
    public DateTimeOffset? WindowStart { get; init; }
    /// <summary>Start of the last window that had its final call: never opened again (see EventSourceMapping.PumpAsync).</summary>
    public DateTimeOffset? LastWindowStart { get; init; }
    /// <summary>The handler's state for the open window (empty when none is open).</summary>
    public IReadOnlyDictionary<string, string> State { get; init; } = new Dictionary<string, string>();
    /// <summary>Running totals of the open window (from the handler's last answer), for the run's report.</summary>
    public RunTotals OpenWindow { get; init; } = RunTotals.Zero;
    public long OpenWindowEvents { get; init; }
    public RunTotals Finished { get; init; } = RunTotals.Zero;
    /// <summary>The shard is closed and drained (after a reshard): its children may be read.</summary>
    public bool Ended { get; init; }
    /// <summary>
    /// Creation time of the stream this checkpoint was read from: a stream deleted and recreated under the same name
    /// keeps its name and ARN but not this, so a checkpoint of the old one is recognised before any read. Null in a
    /// checkpoint written before it was kept.
    /// </summary>
    public DateTimeOffset? StreamCreatedAt { get; init; }

    public static ShardCheckpoint Start(string shardId) => new() { ShardId = shardId };

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("shardId", ShardId);
        if (SequenceNumber is null) w.WriteNull("sequenceNumber"); else w.WriteString("sequenceNumber", SequenceNumber);
        if (WindowStart is { } start) w.WriteString("windowStart", start); else w.WriteNull("windowStart");
        if (LastWindowStart is { } last) w.WriteString("lastWindowStart", last);
        w.WriteStartObject("state");
        foreach (var (k, v) in State) w.WriteString(k, v);
        w.WriteEndObject();
        WriteTotals(w, "openWindow", OpenWindow);
        w.WriteNumber("openWindowEvents", OpenWindowEvents);
        WriteTotals(w, "finished", Finished);
        w.WriteBoolean("ended", Ended);
        if (StreamCreatedAt is { } created) w.WriteString("streamCreatedAt", created);
        w.WriteEndObject();
    }

    public static ShardCheckpoint Read(JsonElement e)
    {
        var state = new Dictionary<string, string>(StringComparer.Ordinal);
        if (e.TryGetProperty("state", out var s) && s.ValueKind == JsonValueKind.Object)
            foreach (var p in s.EnumerateObject()) if (p.Value.ValueKind == JsonValueKind.String) state[p.Name] = p.Value.GetString()!;
        return new ShardCheckpoint
        {
            ShardId = e.GetProperty("shardId").GetString()!,
            SequenceNumber = e.TryGetProperty("sequenceNumber", out var seq) && seq.ValueKind == JsonValueKind.String ? seq.GetString() : null,
            WindowStart = e.TryGetProperty("windowStart", out var ws) && ws.ValueKind == JsonValueKind.String ? ws.GetDateTimeOffset() : null,
            LastWindowStart = e.TryGetProperty("lastWindowStart", out var lws) && lws.ValueKind == JsonValueKind.String ? lws.GetDateTimeOffset() : null,
            State = state,
            OpenWindow = ReadTotals(e, "openWindow"),
            OpenWindowEvents = e.TryGetProperty("openWindowEvents", out var o) ? o.GetInt64() : 0,
            Finished = ReadTotals(e, "finished"),
            Ended = e.TryGetProperty("ended", out var ended) && ended.ValueKind == JsonValueKind.True,
            StreamCreatedAt = e.TryGetProperty("streamCreatedAt", out var created) && created.ValueKind == JsonValueKind.String ? created.GetDateTimeOffset() : null,
        };
    }

    internal static void WriteTotals(Utf8JsonWriter w, string name, RunTotals t)
    {
        w.WriteStartObject(name);
        RunCountsJson.Write(w, t.ToSummary());
        w.WriteEndObject();
    }

    internal static RunTotals ReadTotals(JsonElement e, string name) =>
        e.TryGetProperty(name, out var t) && t.ValueKind == JsonValueKind.Object ? RunTotals.Zero.Add(RunCountsJson.Read(t)) : RunTotals.Zero;
}
