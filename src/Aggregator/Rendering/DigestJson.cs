using System.Buffers;
using System.Numerics;
using System.Text.Json;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Aggregator.Rendering;

/// <summary>
/// The JSON Lines contract of <c>pipeline digest --format json</c>: one <c>{"type":"digest",…}</c> line per
/// digest, then one <c>{"type":"summary",…}</c> line. Field names and meanings are documented in
/// docs/digests.md and only ever added to, never renamed. Written by hand (no reflection) for NativeAOT.
/// </summary>
public static class DigestJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    public static void WriteDigest(Stream output, Digest d) => WriteLine(output, "digest", d, DigestFields);

    public static void WriteRollup(Stream output, Rollup r) => WriteLine(output, "rollup", r, RollupFields);

    public static void WriteAlert(Stream output, Alert a) => WriteLine(output, "alert", a, AlertFields);

    public static void WriteSilence(Stream output, SilenceNotice s) => WriteLine(output, "silence", s, SilenceFields);

    /// <summary>Any notice as its line: <c>digest</c>, <c>rollup</c> or <c>alert</c>.</summary>
    public static void Write(Stream output, Notice notice)
    {
        switch (notice)
        {
            case Digest d: WriteDigest(output, d); break;
            case Rollup r: WriteRollup(output, r); break;
            case Alert a: WriteAlert(output, a); break;
            case SilenceNotice s: WriteSilence(output, s); break;
            default: throw new ArgumentException($"unknown notice {notice.GetType().Name}", nameof(notice));
        }
    }

    public static void WriteSummary(Stream output, RunSummary s) => WriteLine(output, "summary", s, SummaryFields);

    public static string CloseReasonName(BurstCloseReason reason) => reason switch
    {
        BurstCloseReason.QuietGap => "quiet-gap",
        BurstCloseReason.MaxWindow => "max-window",
        BurstCloseReason.EndOfInput => "end-of-input",
        BurstCloseReason.WindowEnd => "window-end",
        _ => reason.ToString(),
    };

    /// <summary>A time as <see cref="EventTime.Format"/> writes it, from bytes formatted on the stack: no string per time.</summary>
    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset time)
    {
        Span<byte> text = stackalloc byte[40];
        if (EventTime.TryFormatUtf8(time, text, out int written)) w.WriteString(name, text[..written]);
        else w.WriteString(name, EventTime.Format(time));
    }

    /// <summary>One line of the contract: an object whose first field is its <c>type</c>, then a line break.</summary>
    private static void WriteLine<T>(Stream output, string type, T value, Action<Utf8JsonWriter, T> fields)
    {
        var buffer = _lineBuffer ??= new ArrayBufferWriter<byte>(LineBufferBytes);
        var w = _lineWriter ??= new Utf8JsonWriter(buffer, WriterOptions);
        try
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            fields(w, value);
            w.WriteEndObject();
            w.Flush();
            output.Write(buffer.WrittenSpan);
            output.WriteByte((byte)'\n');
        }
        finally
        {
            w.Reset(buffer);
            buffer.ResetWrittenCount();
            // An exceptionally large line does not keep its room for the rest of the thread's life.
            if (buffer.Capacity > MaxKeptLineBufferBytes)
            {
                _lineBuffer = null;
                _lineWriter = null;
            }
        }
    }

    // One line buffer and writer per thread, reused: a writer over a stream grows a new buffer for every line, and a
    // digest's line is kilobytes, so that growth was most of what writing a digest allocated.
    private const int LineBufferBytes = 16 * 1024;
    private const int MaxKeptLineBufferBytes = 1024 * 1024;
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _lineBuffer;
    [ThreadStatic]
    private static Utf8JsonWriter? _lineWriter;

    private static void DigestFields(Utf8JsonWriter w, Digest d)
    {
        w.WriteString("digestId", d.DigestId);
        w.WriteString("account", d.Account);
        WriteStringOrNull(w, "accountName", d.AccountName);
        WriteTime(w, "firstEventTime", d.FirstEventTime);
        WriteTime(w, "lastEventTime", d.LastEventTime);
        w.WriteString("closedBy", CloseReasonName(d.ClosedBy));
        WriteTime(w, "closedAt", d.ClosedAt);
        w.WriteNumber("eventCount", d.EventCount);
        w.WriteNumber("errorCount", d.ErrorCount);
        w.WriteNumber("readOnlyCount", d.ReadOnlyCount);
        WriteCounts(w, "eventNames", d.EventNames);
        WriteCounts(w, "principals", d.Principals);
        WriteCounts(w, "regions", d.Regions);
        WriteCounts(w, "sources", d.Sources);
        WriteCounts(w, "detailTypes", d.DetailTypes);
        WriteCounts(w, "errorCodes", d.ErrorCodes);
        WriteCounts(w, "sourceIPs", d.SourceIps);
        w.WriteNumber("riskyCount", d.RiskyCount);
        w.WriteStartArray("risky");
        for (int i = 0; i < d.Risky.Count; i++)
        {
            w.WriteStartObject();
            RiskyFields(w, d.Risky[i]);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("failures");
        for (int i = 0; i < d.Failures.Count; i++)
        {
            var f = d.Failures[i];
            w.WriteStartObject();
            w.WriteString("eventName", f.EventName);
            WriteStringOrNull(w, "principal", f.Principal);
            w.WriteString("errorCode", f.ErrorCode);
            if (f.ErrorMessage is not null) w.WriteString("errorMessage", f.ErrorMessage);
            w.WriteNumber("count", f.Count);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WriteCounts(w, "muted", d.Muted);
        w.WriteNumber("duplicates", d.Duplicates);
        // Events whose own time and arrival disagreed by more than the lateness (docs/time-model.md).
        w.WriteNumber("skewedCount", d.SkewedCount);
        if (d.SkewedLatestTime is { } stated) WriteTime(w, "skewedLatestTime", stated);
        w.WriteNumber("lateCount", d.LateCount);
        if (d.LateCount > 0) w.WriteNumber("lateMaxDelaySeconds", Math.Round(d.LateMaxDelay.TotalSeconds, 3));
        // Roll-ups (docs/rollups.md): the burst's shares by automated actor, and which roll-up took which.
        if (d.Parts.Count > 0)
        {
            w.WriteStartArray("actors");
            for (int i = 0; i < d.Parts.Count; i++)
            {
                var part = d.Parts[i];
                w.WriteStartObject();
                WriteStringOrNull(w, "actor", part.ActorKey);
                w.WriteNumber("eventCount", part.EventCount);
                if (part.RollupId is not null) w.WriteString("rollupId", part.RollupId);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (d.HeldUntil is { } held) WriteTime(w, "heldUntil", held);
        if (d.RollupId is not null)
        {
            w.WriteString("rollupId", d.RollupId);
            w.WriteNumber("foldedEventCount", d.FoldedEventCount);
            w.WriteBoolean("posted", d.Posted);
        }
        if (d.AlertIds.Count > 0)
        {
            w.WriteStartArray("alertIds");
            foreach (var id in d.AlertIds) w.WriteStringValue(id);
            w.WriteEndArray();
        }
    }

    private static void RiskyFields(Utf8JsonWriter w, RiskyEvent r)
    {
        w.WriteString("eventName", r.EventName);
        WriteStringOrNull(w, "principal", r.Principal);
        WriteTime(w, "eventTime", r.EventTime);
        w.WriteString("reason", r.Reason);
        w.WriteString("severity", Severity(r.Severity));
        w.WriteString("region", r.Region);
        if (r.Target is not null) w.WriteString("target", r.Target);
        if (r.SourceIp is not null) w.WriteString("sourceIP", r.SourceIp);
        if (r.ErrorCode is not null) w.WriteString("errorCode", r.ErrorCode);
    }

    private static string Severity(RiskSeverity s) => s switch
    {
        RiskSeverity.Medium => "medium",
        RiskSeverity.High => "high",
        RiskSeverity.Critical => "critical",
        _ => s.ToString().ToLowerInvariant(),
    };

    private static void RollupFields(Utf8JsonWriter w, Rollup r)
    {
        w.WriteString("rollupId", r.RollupId);
        w.WriteString("actor", r.ActorKey);
        WriteTime(w, "firstEventTime", r.FirstEventTime);
        WriteTime(w, "lastEventTime", r.LastEventTime);
        WriteTime(w, "closedAt", r.ClosedAt);
        w.WriteNumber("accountCount", r.Accounts.Count);
        w.WriteStartArray("accounts");
        foreach (var a in r.Accounts)
        {
            w.WriteStartObject();
            w.WriteString("account", a.Account);
            WriteStringOrNull(w, "accountName", a.AccountName);
            w.WriteString("digestId", a.DigestId);
            w.WriteNumber("eventCount", a.EventCount);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("eventCount", r.EventCount);
        w.WriteNumber("errorCount", r.ErrorCount);
        WriteCounts(w, "eventNames", r.EventNames);
        WriteCounts(w, "principals", r.Principals);
        WriteCounts(w, "regions", r.Regions);
        w.WriteStartArray("errors");
        foreach (var f in r.Failures)
        {
            w.WriteStartObject();
            w.WriteString("eventName", f.EventName);
            w.WriteString("errorCode", f.ErrorCode);
            if (f.ErrorMessage is not null) w.WriteString("errorMessage", f.ErrorMessage);
            w.WriteNumber("count", f.Count);
            WriteStrings(w, "accounts", f.Accounts);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("riskyCount", r.RiskyCount);
        w.WriteStartArray("risky");
        foreach (var k in r.Risky)
        {
            w.WriteStartObject();
            w.WriteString("eventName", k.EventName);
            w.WriteString("reason", k.Reason);
            w.WriteString("severity", Severity(k.Severity));
            if (k.Target is not null) w.WriteString("target", k.Target);
            w.WriteNumber("count", k.Count);
            WriteStrings(w, "accounts", k.Accounts);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void AlertFields(Utf8JsonWriter w, Alert a)
    {
        w.WriteString("alertId", a.AlertId);
        w.WriteString("account", a.Account);
        WriteStringOrNull(w, "accountName", a.AccountName);
        w.WriteString("digestId", a.DigestId);
        WriteTime(w, "raisedAt", a.RaisedAt);
        RiskyFields(w, a.Event);
    }

    private static void SilenceFields(Utf8JsonWriter w, SilenceNotice s)
    {
        w.WriteString("silenceId", s.NoticeId);
        w.WriteString("state", s.State == SilenceState.Silent ? "silent" : "back");
        w.WriteString("account", s.Account);
        WriteStringOrNull(w, "accountName", s.AccountName);
        w.WriteString("region", s.Region);
        WriteTime(w, "lastEventTime", s.LastEventTime);
        WriteTime(w, "observedAt", s.ObservedAt);
        w.WriteNumber("silentForSeconds", (long)Math.Round(s.SilentFor.TotalSeconds));
        w.WriteNumber("eventCount", s.EventCount);
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void SummaryFields(Utf8JsonWriter w, RunSummary s)
    {
        // "open" only from a host that stopped mid-window (`pipeline run`): received counts those events too.
        RunCountsJson.Write(w, s);
        if (s.Delivered is { } delivered) w.WriteNumber("delivered", delivered);
        if (s.Outboxed is { } outboxed) w.WriteNumber("outboxed", outboxed);
        w.WriteNumber("alerts", s.Alerts);
        if (s.Rollups is { } rollups) w.WriteNumber("rollups", rollups);
        if (s.Messages is { } messages) w.WriteNumber("messages", messages);
        if (s.Silences is { } silences) w.WriteNumber("silences", silences);
        WriteCounts(w, "mutedByRule", s.MutedByRule);
        WriteCounts(w, "rejectedByReason", s.RejectedByReason);
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }

    /// <summary>A name → count object (digests count in int, runs in long).</summary>
    private static void WriteCounts<T>(Utf8JsonWriter w, string name, IReadOnlyList<KeyValuePair<string, T>> counts) where T : IBinaryInteger<T>
    {
        w.WriteStartObject(name);
        // Indexed, not foreach: the lists are interfaces, and their enumerators would be allocated per list.
        for (int i = 0; i < counts.Count; i++) w.WriteNumber(counts[i].Key, long.CreateTruncating(counts[i].Value));
        w.WriteEndObject();
    }
}
