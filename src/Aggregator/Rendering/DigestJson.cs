using System.Text.Json;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Aggregator.Rendering;

/// <summary>
/// The JSON Lines contract of <c>pipeline digest --format json</c>: one <c>{"type":"digest",…}</c> line per
/// digest, then one <c>{"type":"summary",…}</c> line. Field names and meanings are documented in the
/// README and only ever added to, never renamed. Written by hand (no reflection) for NativeAOT.
/// </summary>
public static class DigestJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    public static void WriteDigest(Stream output, Digest d)
    {
        using (var w = new Utf8JsonWriter(output, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("type", "digest");
            w.WriteString("digestId", d.DigestId);
            w.WriteString("account", d.Account);
            if (d.AccountName is { } name) w.WriteString("accountName", name); else w.WriteNull("accountName");
            w.WriteString("firstEventTime", EventTime.Format(d.FirstEventTime));
            w.WriteString("lastEventTime", EventTime.Format(d.LastEventTime));
            w.WriteString("closedBy", CloseReasonName(d.ClosedBy));
            w.WriteString("closedAt", EventTime.Format(d.ClosedAt));
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
            foreach (var r in d.Risky)
            {
                w.WriteStartObject();
                w.WriteString("eventName", r.EventName);
                if (r.Principal is null) w.WriteNull("principal"); else w.WriteString("principal", r.Principal);
                w.WriteString("eventTime", EventTime.Format(r.EventTime));
                w.WriteString("reason", r.Reason);
                w.WriteString("severity", r.Severity.ToString().ToLowerInvariant());
                w.WriteString("region", r.Region);
                if (r.Target is not null) w.WriteString("target", r.Target);
                if (r.SourceIp is not null) w.WriteString("sourceIP", r.SourceIp);
                if (r.ErrorCode is not null) w.WriteString("errorCode", r.ErrorCode);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("failures");
            foreach (var f in d.Failures)
            {
                w.WriteStartObject();
                w.WriteString("eventName", f.EventName);
                if (f.Principal is null) w.WriteNull("principal"); else w.WriteString("principal", f.Principal);
                w.WriteString("errorCode", f.ErrorCode);
                if (f.ErrorMessage is not null) w.WriteString("errorMessage", f.ErrorMessage);
                w.WriteNumber("count", f.Count);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteCounts(w, "muted", d.Muted);
            w.WriteNumber("duplicates", d.Duplicates);
            w.WriteEndObject();
        }
        output.WriteByte((byte)'\n');
    }

    public static void WriteSummary(Stream output, RunSummary s)
    {
        using (var w = new Utf8JsonWriter(output, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("type", "summary");
            w.WriteNumber("received", s.Received);
            w.WriteNumber("rejected", s.Rejected);
            w.WriteNumber("duplicates", s.Duplicates);
            w.WriteNumber("muted", s.Muted);
            w.WriteNumber("digested", s.Digested);
            w.WriteNumber("digests", s.Digests);
            // Events still in open bursts of a host that stopped mid-window (`pipeline run`): received counts them too.
            if (s.OpenEvents > 0) w.WriteNumber("open", s.OpenEvents);
            if (s.Delivered is { } delivered) w.WriteNumber("delivered", delivered);
            if (s.Outboxed is { } outboxed) w.WriteNumber("outboxed", outboxed);
            w.WriteStartObject("mutedByRule");
            foreach (var (rule, count) in s.MutedByRule) w.WriteNumber(rule, count);
            w.WriteEndObject();
            w.WriteStartObject("rejectedByReason");
            foreach (var (reason, count) in s.RejectedByReason) w.WriteNumber(reason, count);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        output.WriteByte((byte)'\n');
    }

    public static string CloseReasonName(BurstCloseReason reason) => reason switch
    {
        BurstCloseReason.QuietGap => "quiet-gap",
        BurstCloseReason.MaxWindow => "max-window",
        BurstCloseReason.EndOfInput => "end-of-input",
        BurstCloseReason.WindowEnd => "window-end",
        _ => reason.ToString(),
    };

    private static void WriteCounts(Utf8JsonWriter w, string name, IReadOnlyList<KeyValuePair<string, int>> counts)
    {
        w.WriteStartObject(name);
        foreach (var (key, count) in counts) w.WriteNumber(key, count);
        w.WriteEndObject();
    }
}
