using System.Buffers;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// A parsed event and the bytes it came from. The event as it travels on the bus, a JSON document, is only built when
/// <see cref="Envelope"/> is first read: only mute rules and re-publishing need it, and the digests never do. A bare
/// record (CloudTrail log file entry, finding) then gets the envelope EventBridge would give it. Dispose it.
/// </summary>
public sealed class ParsedEvent : IDisposable
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly EnvelopeBuilder.Fields? _bareRecordFields;
    private JsonDocument? _envelope;

    internal ParsedEvent(OrgEvent evt, ReadOnlyMemory<byte> data, EnvelopeBuilder.Fields? bareRecordFields)
    {
        Event = evt;
        _data = data;
        _bareRecordFields = bareRecordFields;
    }

    public OrgEvent Event { get; }

    /// <summary>The event as it travels on the bus: the input itself, or for a bare record the envelope EventBridge would give it.</summary>
    public JsonElement Envelope
    {
        get
        {
            if (_envelope is null)
            {
                // The bytes were read (and validated) as JSON by the parser already: this parse cannot fail.
                if (_bareRecordFields is null)
                {
                    _envelope = JsonDocument.Parse(_data, EventParser.DocumentOptions);
                }
                else
                {
                    var buffer = new ArrayBufferWriter<byte>(_data.Length + 256);
                    EnvelopeBuilder.Write(_bareRecordFields.Value, _data.Span, buffer);
                    _envelope = JsonDocument.Parse(buffer.WrittenMemory, EventParser.WrappedOptions);
                }
            }
            return _envelope.RootElement;
        }
    }

    public void Dispose()
    {
        _envelope?.Dispose();
        _envelope = null; // asked again, the envelope is read again rather than a disposed one handed out
    }
}

/// <summary>
/// Turns the bytes of one record into an <see cref="OrgEvent"/>, or into a reason it cannot be one.
/// Never throws for bad input: every malformed record must be reported, never crash the batch.
/// </summary>
/// <remarks>
/// One forward pass of a <see cref="JsonCursor"/> over the record (<see cref="RecordScanner"/>) locates the fields a
/// digest reads and skips the rest; no document is built. Only the located values become strings, and those that repeat
/// from event to event (names, regions, sources, identities) come from <see cref="StringCache"/>. The skipped parts are
/// still validated by the cursor, so a record that is not JSON is rejected whichever part of it is broken, as the
/// framework's reader would reject it (and in its words: <see cref="FrameworkVerdict"/>).
/// </remarks>
public static class EventParser
{
    /// <summary>A record is read at most this deep.</summary>
    internal const int MaxDepth = 256;

    internal static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    // A CloudTrail record is parsed at most this deep, and then once more inside its one-level envelope.
    internal static readonly JsonDocumentOptions WrappedOptions = new() { MaxDepth = MaxDepth + 1 };

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    public static bool TryParse(ReadOnlyMemory<byte> data, out ParsedEvent? parsed, out string? reason)
    {
        parsed = null;
        data = JsonTextRepair.Repair(data);
        if (!TryParse(data, out var evt, out var bare, out reason)) return false;
        parsed = new ParsedEvent(evt!, data, bare);
        return true;
    }

    /// <summary>
    /// The event alone, for a caller that will not ask for the envelope (no mute rules): the same reading as
    /// <see cref="TryParse(ReadOnlyMemory{byte}, out ParsedEvent?, out string?)"/>, without the object that keeps the bytes for it.
    /// </summary>
    internal static bool TryParseEvent(ReadOnlyMemory<byte> data, out OrgEvent? evt, out string? reason) =>
        TryParse(JsonTextRepair.Repair(data), out evt, out _, out reason);

    /// <summary>Reads repaired bytes; <paramref name="bare"/> is what a bare record's envelope is made of (null for an envelope).</summary>
    private static bool TryParse(ReadOnlyMemory<byte> data, out OrgEvent? evt, out EnvelopeBuilder.Fields? bare, out string? reason)
    {
        evt = null;
        bare = null;
        var json = data.Span;
        // Two sets of fields, the record's own and its detail's: large structs, kept on the stack.
        RecordFields top = default, detail = default;
        JsonTokenType rootKind;
        try
        {
            var reader = new JsonCursor(json, MaxDepth);
            reader.Read();
            rootKind = reader.TokenType;
            if (rootKind == JsonTokenType.StartObject) RecordScanner.Scan(ref reader, json, ref top, ref detail, topLevel: true);
            else reader.Skip();
            // Anything after the value (a second value, stray text) makes the record not JSON, as it does for a DOM parse.
            reader.Read();
        }
        catch (JsonException e)
        {
            reason = "not valid JSON: " + FirstLine(FrameworkVerdict(json) ?? e.Message);
            return false;
        }
        catch (ArgumentException e) // invalid UTF-8 surfaces here on some paths
        {
            reason = "not valid JSON: " + FirstLine(e.Message);
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // A property name the pass had to decode (an escaped one) that is not text, as below.
            reason = "unreadable event: " + FirstLine(e.Message);
            return false;
        }

        var shape = rootKind == JsonTokenType.StartObject ? EnvelopeBuilder.Detect(top) : EnvelopeBuilder.Shape.Unknown;
        if (shape == EnvelopeBuilder.Shape.Unknown)
        {
            reason = rootKind == JsonTokenType.StartObject
                ? "not an EventBridge event, a CloudTrail record or a finding (no detail-type, no eventName)"
                : $"expected a JSON object, got {KindName(rootKind)}";
            return false;
        }

        try
        {
            // A bare record is read through the fields its envelope would have, without writing the envelope.
            if (shape != EnvelopeBuilder.Shape.Envelope && !EnvelopeBuilder.TryDescribe(shape, json, top, out bare, out reason))
                return false;
            var cache = StringCache.Shared;
            // An envelope's time is read from its bytes: the text is only made for a message about a bad one.
            var envelope = bare ?? new EnvelopeBuilder.Fields(
                top.Id.Id(json), top.DetailType.Text(json, cache), top.Source.Text(json, cache), top.Account.Text(json, cache),
                Time: null, top.Region.Text(json, cache));
            return bare is null
                ? TryRead(envelope, top.Time, json, detail, top.Detail.IsObject, isBareRecord: false, out evt, out reason)
                : TryRead(envelope, envelope.TimeAt, json, top, detailIsObject: true, isBareRecord: true, out evt, out reason);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        {
            reason = "unreadable event: " + FirstLine(e.Message);
            return false;
        }
    }

    /// <summary>
    /// Validates the envelope fields and reads the detail, scanned into <paramref name="detail"/> (for a bare record, the
    /// record itself). <paramref name="detailIsObject"/>: the detail is a JSON object (a detail of another kind has no fields).
    /// The time is <paramref name="time"/>'s value when the envelope's <c>Time</c> is null (an envelope read from the input).
    /// </summary>
    private static bool TryRead(EnvelopeBuilder.Fields envelope, JsonValueRef time, ReadOnlySpan<byte> json, in RecordFields detail, bool detailIsObject, bool isBareRecord, out OrgEvent? evt, out string? reason)
    {
        evt = null;
        var account = envelope.Account;
        if (account is null) { reason = "event has no account"; return false; }
        if (!IsAccountId(account)) { reason = $"account id '{Truncate(account)}' is not 12 digits"; return false; }

        if (!TryReadTime(envelope.Time, time, json, out var at, out reason)) return false;

        var detailType = envelope.DetailType;
        if (string.IsNullOrEmpty(detailType)) { reason = "event has an empty detail-type"; return false; }
        var source = envelope.Source;
        if (string.IsNullOrEmpty(source)) { reason = "event has no source"; return false; }

        CloudTrailDetail? cloudTrail = null;
        string? detailRegion = null;
        if (IsCloudTrail(detailType) && detailIsObject)
        {
            // A bare record's envelope id is its eventID, already read: no second copy of the string.
            var eventId = isBareRecord ? envelope.Id : detail.EventId.Id(json);
            cloudTrail = CloudTrailReader.Read(json, detail, eventId);
        }
        if (envelope.Region is null && detailIsObject) detailRegion = detail.AwsRegion.Text(json, StringCache.Shared);

        var id = envelope.Id.IsPresent ? envelope.Id
            : cloudTrail is { EventIdValue.IsPresent: true } ? cloudTrail.EventIdValue
            : EventIdValue.Of(ContentId(json));
        evt = new OrgEvent(id, account, envelope.Region ?? detailRegion ?? "unknown", at, source, detailType)
        {
            CloudTrail = cloudTrail,
            Finding = cloudTrail is null ? FindingReader.Read(json, detailType, detail, detailIsObject) : null,
        };
        reason = null;
        return true;
    }

    /// <summary>
    /// The event's time, from <paramref name="text"/>, else from the bytes of <paramref name="value"/>: the usual AWS form is
    /// read there without making a string. False with a reason when there is none, it is no timestamp, or out of range.
    /// </summary>
    private static bool TryReadTime(string? text, JsonValueRef value, ReadOnlySpan<byte> json, out DateTimeOffset time, out string? reason)
    {
        reason = null;
        time = default;
        bool parsed = text is null && value.Kind == JsonTokenType.String && !value.Escaped && EventTime.TryParseAwsFormat(value.Raw(json), out time);
        if (!parsed)
        {
            text ??= value.Text(json);
            parsed = EventTime.TryParse(text, out time);
            if (!parsed)
            {
                reason = text is null ? "event has no time" : $"time '{Truncate(text)}' is not a timestamp";
                return false;
            }
        }
        if (time < EventTime.Earliest || time > EventTime.Latest)
        {
            // The burst clock adds gaps and windows to event times: a year-9999 stamp would overflow it.
            text ??= value.Text(json);
            reason = $"time '{Truncate(text!)}' is out of range ({EventTime.Earliest.Year}–{EventTime.Latest.Year})";
            return false;
        }
        return true;
    }

    /// <summary>
    /// Why the framework's reader refuses <paramref name="json"/>, null if it does not: the reason a rejected record gets,
    /// in the words (and with the position) users of System.Text.Json know. Only rejected records pay for it.
    /// </summary>
    internal static string? FrameworkVerdict(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            while (reader.Read())
            {
            }
            return null;
        }
        catch (JsonException e)
        {
            return e.Message;
        }
    }

    private static string KindName(JsonTokenType kind) => kind switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        _ => kind.ToString().ToLowerInvariant(),
    };

    internal static bool IsAccountId(string account)
    {
        if (account.Length != 12) return false;
        foreach (var c in account)
            if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    private static bool IsCloudTrail(string detailType) =>
        detailType.EndsWith(" via CloudTrail", StringComparison.Ordinal);

    /// <summary>An event without any id is identified by its content, so an exact redelivery is still caught.</summary>
    private static string ContentId(ReadOnlySpan<byte> raw) => "content:" + Convert.ToHexStringLower(XxHash128.Hash(raw));

    private static string FirstLine(string message)
    {
        int nl = message.IndexOfAny(['\r', '\n']);
        return nl < 0 ? message : message[..nl];
    }

    internal static string Truncate(string text, int max = 40) => text.Length <= max ? text : text[..max] + "…";

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
