using System.Buffers;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Parsing;

/// <summary>A parsed event and the envelope document it came from (kept alive for mute patterns; dispose it).</summary>
internal sealed class ParsedEvent(OrgEvent evt, JsonDocument envelope) : IDisposable
{
    public OrgEvent Event { get; } = evt;
    public JsonElement Envelope => envelope.RootElement;
    public void Dispose() => envelope.Dispose();
}

/// <summary>
/// Turns the bytes of one record into an <see cref="OrgEvent"/>, or into a reason it cannot be one.
/// Never throws for bad input: every malformed record must be reported, never crash the batch.
/// </summary>
internal static class EventParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    // A CloudTrail record is parsed at most this deep, and then once more inside its one-level envelope.
    private static readonly JsonDocumentOptions WrappedOptions = new() { MaxDepth = DocumentOptions.MaxDepth + 1 };

    public static bool TryParse(ReadOnlyMemory<byte> data, out ParsedEvent? parsed, out string? reason)
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

        var shape = EnvelopeBuilder.Detect(doc.RootElement);
        if (shape == EnvelopeBuilder.Shape.Unknown)
        {
            reason = doc.RootElement.ValueKind == JsonValueKind.Object
                ? "not an EventBridge event, a CloudTrail record or a finding (no detail-type, no eventName)"
                : $"expected a JSON object, got {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}";
            doc.Dispose();
            return false;
        }

        if (shape != EnvelopeBuilder.Shape.Envelope)
        {
            var buffer = new ArrayBufferWriter<byte>(data.Length + 256);
            bool wrapped = EnvelopeBuilder.TryWrap(shape, doc.RootElement, data.Span, buffer, out reason);
            doc.Dispose();
            if (!wrapped) return false;
            doc = JsonDocument.Parse(buffer.WrittenMemory, WrappedOptions);
        }

        try
        {
            if (!TryRead(doc.RootElement, data.Span, out var evt, out reason))
            {
                doc.Dispose();
                return false;
            }
            parsed = new ParsedEvent(evt!, doc);
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        {
            doc.Dispose();
            reason = "unreadable event: " + FirstLine(e.Message);
            return false;
        }
    }

    private static bool TryRead(JsonElement envelope, ReadOnlySpan<byte> raw, out OrgEvent? evt, out string? reason)
    {
        evt = null;
        var account = envelope.Str("account");
        if (account is null) { reason = "event has no account"; return false; }
        if (!IsAccountId(account)) { reason = $"account id '{Truncate(account)}' is not 12 digits"; return false; }

        var timeText = envelope.Str("time");
        if (!EventTime.TryParse(timeText, out var time))
        {
            reason = timeText is null ? "event has no time" : $"time '{Truncate(timeText)}' is not a timestamp";
            return false;
        }

        var detailType = envelope.Str("detail-type");
        if (string.IsNullOrEmpty(detailType)) { reason = "event has an empty detail-type"; return false; }
        var source = envelope.Str("source");
        if (string.IsNullOrEmpty(source)) { reason = "event has no source"; return false; }

        var detail = envelope.Obj("detail");
        var cloudTrail = IsCloudTrail(detailType) && detail.ValueKind == JsonValueKind.Object ? CloudTrailReader.Read(detail) : null;

        evt = new OrgEvent
        {
            Id = envelope.Str("id") ?? cloudTrail?.EventId ?? ContentId(raw),
            Account = account,
            Region = envelope.Str("region") ?? detail.Str("awsRegion") ?? "unknown",
            Time = time,
            Source = source,
            DetailType = detailType,
            CloudTrail = cloudTrail,
            Finding = cloudTrail is null ? FindingReader.Read(detailType, detail) : null,
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
