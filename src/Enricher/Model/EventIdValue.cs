using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Pipeline.Enricher.Model;

/// <summary>
/// An event id as the model keeps it. The ids AWS writes (CloudTrail's <c>eventID</c>, EventBridge's <c>id</c>) are
/// GUIDs in lowercase text: such an id is kept as its 16 bytes and made into text only when asked for (a burst's first
/// event, an alert), while the dedupe memory reads it as bytes. A replay used to make a string per event for it, the
/// largest share of the parser's garbage. Any other id (a finding's, a content hash) is kept as the text it is.
/// </summary>
/// <remarks>
/// The same text always gives the same value, whichever way it came (parsed, or set by code as a string), so the
/// records holding one compare equal exactly when their ids' texts do. <c>default</c> is no id.
/// </remarks>
internal readonly struct EventIdValue : IEquatable<EventIdValue>
{
    /// <summary>The text of a GUID in the form ids are written (8-4-4-4-12 hexadecimal digits).</summary>
    private const int GuidLength = 36;

    // The id's text; or, compared by reference, this marker: the id is _guid's lowercase text.
    private static readonly string InGuid = new('\0', 1);

    private readonly string? _text;
    private readonly Guid _guid;

    private EventIdValue(string? text, Guid guid)
    {
        _text = text;
        _guid = guid;
    }

    public bool IsPresent => _text is not null;

    /// <summary>The id's text (made now for an id kept as a GUID); null for no id.</summary>
    public string? Text => ReferenceEquals(_text, InGuid) ? _guid.ToString("D") : _text;

    public static EventIdValue Of(string? text)
    {
        if (text is null) return default;
        // An ASCII text of a GUID's length goes through the same check as the parser's bytes: one definition of the form.
        Span<byte> ascii = stackalloc byte[GuidLength];
        return text.Length == GuidLength && Ascii.FromUtf16(text, ascii, out _) == OperationStatus.Done && TryOfGuidUtf8(ascii, out var id)
            ? id
            : new(text, default);
    }

    /// <summary>
    /// The id whose text is <paramref name="utf8"/> (a JSON string's bytes, with no escape in them) when it is a lowercase
    /// GUID, without decoding it; false for any other text, which the caller decodes and gives to <see cref="Of"/>.
    /// </summary>
    public static bool TryOfGuidUtf8(ReadOnlySpan<byte> utf8, out EventIdValue id)
    {
        id = default;
        if (utf8.Length != GuidLength) return false;
        // Exactly the form Guid.ToString("D") writes: the parser alone would also take upper case, a + or a 0x in front of
        // a group, whose text the GUID would not give back. Checked a vector at a time (every event's id comes here): the
        // four dashes in place, and only those four among lowercase hex digits.
        if (utf8[8] != (byte)'-' || utf8[13] != (byte)'-' || utf8[18] != (byte)'-' || utf8[23] != (byte)'-') return false;
        if (utf8.ContainsAnyExcept(LowercaseHexOrDash) || utf8.Count((byte)'-') != 4) return false;
        if (!Utf8Parser.TryParse(utf8, out Guid guid, out int consumed, 'D') || consumed != GuidLength) return false;
        id = new(InGuid, guid);
        return true;
    }

    /// <summary>The UTF-8 bytes of the id's text, as <see cref="Encoding.UTF8"/> gives them; false when they do not fit.</summary>
    public bool TryWriteUtf8(Span<byte> destination, out int written)
    {
        if (ReferenceEquals(_text, InGuid)) return _guid.TryFormat(destination, out written, "D");
        written = 0;
        return _text is not null && Encoding.UTF8.TryGetBytes(_text, destination, out written);
    }

    private static readonly SearchValues<byte> LowercaseHexOrDash = SearchValues.Create("0123456789abcdef-"u8);

    public bool Equals(EventIdValue other) =>
        ReferenceEquals(_text, InGuid)
            ? ReferenceEquals(other._text, InGuid) && _guid == other._guid
            : !ReferenceEquals(other._text, InGuid) && string.Equals(_text, other._text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is EventIdValue other && Equals(other);

    public override int GetHashCode() => ReferenceEquals(_text, InGuid) ? _guid.GetHashCode() : _text?.GetHashCode(StringComparison.Ordinal) ?? 0;

    public override string ToString() => Text ?? "";
}
