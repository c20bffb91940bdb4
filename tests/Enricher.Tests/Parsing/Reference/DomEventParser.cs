using Pipeline.Enricher.Parsing;
using System.Buffers;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Tests.Parsing.Reference;

/// <summary>
/// A parsed event and the document it came from (kept alive for mute patterns; dispose it). A bare record
/// (CloudTrail log file entry, finding) gets its EventBridge envelope only when <see cref="Envelope"/> is
/// first read: only mute rules and re-publishing need it, and building it costs a second parse.
/// </summary>
internal sealed class DomParsedEvent : IDisposable
{
    private readonly JsonDocument _document;
    private readonly ReadOnlyMemory<byte> _data;
    private readonly EnvelopeBuilder.Fields? _bareRecordFields;
    private JsonDocument? _builtEnvelope;

    internal DomParsedEvent(OrgEvent evt, JsonDocument document, ReadOnlyMemory<byte> data, EnvelopeBuilder.Fields? bareRecordFields)
    {
        Event = evt;
        _document = document;
        _data = data;
        _bareRecordFields = bareRecordFields;
    }

    public OrgEvent Event { get; }

    /// <summary>The event as it travels on the bus: the input itself, or for a bare record the envelope EventBridge would give it.</summary>
    public JsonElement Envelope
    {
        get
        {
            if (_bareRecordFields is null) return _document.RootElement;
            if (_builtEnvelope is null)
            {
                var buffer = new ArrayBufferWriter<byte>(_data.Length + 256);
                EnvelopeBuilder.Write(_bareRecordFields.Value, _data.Span, buffer);
                _builtEnvelope = JsonDocument.Parse(buffer.WrittenMemory, DomEventParser.WrappedOptions);
            }
            return _builtEnvelope.RootElement;
        }
    }

    public void Dispose()
    {
        _document.Dispose();
        _builtEnvelope?.Dispose();
    }
}

/// <summary>
/// Turns the bytes of one record into an <see cref="OrgEvent"/>, or into a reason it cannot be one.
/// Never throws for bad input: every malformed record must be reported, never crash the batch.
/// </summary>
internal static class DomEventParser
{
    internal static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    // A CloudTrail record is parsed at most this deep, and then once more inside its one-level envelope.
    internal static readonly JsonDocumentOptions WrappedOptions = new() { MaxDepth = DocumentOptions.MaxDepth + 1 };

    public static bool TryParse(ReadOnlyMemory<byte> data, out DomParsedEvent? parsed, out string? reason)
    {
        parsed = null;
        data = JsonTextRepair.Repair(data);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(data, DocumentOptions);
        }
        catch (JsonException e)
        {
            reason = "not valid JSON: " + FirstLine(e.Message);
            return false;
        }
        catch (ArgumentException e) // invalid UTF-8 surfaces here on some paths
        {
            reason = "not valid JSON: " + FirstLine(e.Message);
            return false;
        }

        var root = doc.RootElement;
        // Every top-level field the parser reads, found in one pass (see DomRecordFields).
        var top = DomRecordFields.Scan(root);
        var shape = root.ValueKind == JsonValueKind.Object ? DomEnvelope.Detect(top) : EnvelopeBuilder.Shape.Unknown;
        if (shape == EnvelopeBuilder.Shape.Unknown)
        {
            reason = root.ValueKind == JsonValueKind.Object
                ? "not an EventBridge event, a CloudTrail record or a finding (no detail-type, no eventName)"
                : $"expected a JSON object, got {root.ValueKind.ToString().ToLowerInvariant()}";
            doc.Dispose();
            return false;
        }

        try
        {
            // A bare record is read through the fields its envelope would have, without writing the envelope.
            EnvelopeBuilder.Fields? bare = null;
            if (shape != EnvelopeBuilder.Shape.Envelope && !DomEnvelope.TryDescribe(shape, root, top, out bare, out reason))
            {
                doc.Dispose();
                return false;
            }
            var cache = StringCache.Shared;
            var envelope = bare ?? new EnvelopeBuilder.Fields(
                EventIdValue.Of(top.Id.Text()), top.DetailType.Text(cache), top.Source.Text(cache), top.Account.Text(cache), top.Time.Text(), top.Region.Text(cache));
            bool ok = bare is null
                ? TryRead(envelope, top.Detail.AsObject(), detailFields: null, data.Span, out var evt, out reason)
                : TryRead(envelope, root, top, data.Span, out evt, out reason);
            if (!ok)
            {
                doc.Dispose();
                return false;
            }
            parsed = new DomParsedEvent(evt!, doc, data, bare);
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        {
            doc.Dispose();
            reason = "unreadable event: " + FirstLine(e.Message);
            return false;
        }
    }

    /// <summary>
    /// Validates the envelope fields and reads the detail. <paramref name="detailFields"/> are the detail's
    /// scanned properties when the caller has them (a bare record is its own detail), else null.
    /// </summary>
    private static bool TryRead(EnvelopeBuilder.Fields envelope, JsonElement detail, DomRecordFields? detailFields, ReadOnlySpan<byte> raw, out OrgEvent? evt, out string? reason)
    {
        evt = null;
        var account = envelope.Account;
        if (account is null) { reason = "event has no account"; return false; }
        if (!IsAccountId(account)) { reason = $"account id '{Truncate(account)}' is not 12 digits"; return false; }

        var timeText = envelope.Time;
        if (!EventTime.TryParse(timeText, out var time))
        {
            reason = timeText is null ? "event has no time" : $"time '{Truncate(timeText)}' is not a timestamp";
            return false;
        }
        if (time < EventTime.Earliest || time > EventTime.Latest)
        {
            // The burst clock adds gaps and windows to event times: a year-9999 stamp would overflow it.
            reason = $"time '{Truncate(timeText!)}' is out of range ({EventTime.Earliest.Year}–{EventTime.Latest.Year})";
            return false;
        }

        var detailType = envelope.DetailType;
        if (string.IsNullOrEmpty(detailType)) { reason = "event has an empty detail-type"; return false; }
        var source = envelope.Source;
        if (string.IsNullOrEmpty(source)) { reason = "event has no source"; return false; }

        CloudTrailDetail? cloudTrail = null;
        string? detailRegion;
        if (IsCloudTrail(detailType) && detail.ValueKind == JsonValueKind.Object)
        {
            var fields = detailFields ?? DomRecordFields.Scan(detail);
            // A bare record's envelope id is its eventID, already read: no second copy of the string.
            var eventId = detailFields is null ? fields.EventId.Text() : envelope.Id.Text;
            cloudTrail = DomCloudTrailReader.Read(fields, eventId);
            detailRegion = envelope.Region is null ? fields.AwsRegion.Text(StringCache.Shared) : null;
        }
        else
        {
            detailRegion = envelope.Region is null ? detail.Str("awsRegion", StringCache.Shared) : null;
        }

        evt = new OrgEvent
        {
            Id = envelope.Id.Text ?? cloudTrail?.EventId ?? ContentId(raw),
            Account = account,
            Region = envelope.Region ?? detailRegion ?? "unknown",
            Time = time,
            Source = source,
            DetailType = detailType,
            CloudTrail = cloudTrail,
            Finding = cloudTrail is null ? DomFindingReader.Read(detailType, detail) : null,
        };
        reason = null;
        return true;
    }

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
