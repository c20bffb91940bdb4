using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// Where one JSON value sits in the record's bytes, as the reader passed it: its kind, and for a scalar its raw
/// bytes (a string's without the quotes). Nothing is decoded until the parser knows the record's shape and asks for
/// the value: a field that only decides the shape, or that a later duplicate replaces, never becomes a string.
/// <c>default</c> is a missing property.
/// </summary>
internal readonly record struct JsonValueRef(JsonTokenType Kind, int Start, int Length, bool Escaped)
{
    /// <summary>The property was there, whatever its value (null included): what shape detection asks.</summary>
    public bool Present => Kind != JsonTokenType.None;

    public bool IsObject => Kind == JsonTokenType.StartObject;

    /// <summary>The value the reader stands on: a scalar with its bytes, an object or array by its kind only (or its extent, see <see cref="Extent"/>).</summary>
    public static JsonValueRef At(ref JsonCursor reader) => reader.TokenType switch
    {
        JsonTokenType.String => new(JsonTokenType.String, reader.TokenStartIndex + 1, reader.ValueSpan.Length, reader.ValueIsEscaped),
        JsonTokenType.Number => new(JsonTokenType.Number, reader.TokenStartIndex, reader.ValueSpan.Length, false),
        var kind => new(kind, reader.TokenStartIndex, 0, false),
    };

    /// <summary>
    /// The whole value the reader stands on, moving past it: an object or array with its bytes from the opening to the
    /// closing bracket (what <see cref="JsonCursor(ReadOnlySpan{byte}, JsonValueRef, int)"/> reads again); a scalar as <see cref="At"/> gives it.
    /// </summary>
    public static JsonValueRef Extent(ref JsonCursor reader)
    {
        var kind = reader.TokenType;
        if (kind is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return At(ref reader);
        int start = reader.TokenStartIndex;
        reader.Skip();
        return new(kind, start, reader.BytesConsumed - start, false);
    }

    public ReadOnlySpan<byte> Raw(ReadOnlySpan<byte> json) => json.Slice(Start, Length);

    /// <summary>
    /// The value as text, as the digests read loose fields: a string as itself, a number as written, a boolean as
    /// <c>true</c>/<c>false</c>, anything else (null, object, array, missing) as null. With a <paramref name="cache"/>,
    /// repeated strings are shared.
    /// </summary>
    public string? Text(ReadOnlySpan<byte> json, StringCache? cache = null) => Kind switch
    {
        JsonTokenType.String when Escaped => Unescape(json),
        JsonTokenType.String => cache is null ? Encoding.UTF8.GetString(Raw(json)) : cache.Get(Raw(json)),
        JsonTokenType.Number => Encoding.UTF8.GetString(Raw(json)),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => null,
    };

    /// <summary>An event id (<see cref="Text"/>'s text), kept as a GUID when it is one: no string is made for it.</summary>
    public Model.EventIdValue Id(ReadOnlySpan<byte> json) =>
        Kind == JsonTokenType.String && !Escaped && Model.EventIdValue.TryOfGuidUtf8(Raw(json), out var id) ? id : Model.EventIdValue.Of(Text(json));

    /// <summary>A boolean, or the strings CloudTrail writes for one (<c>"true"</c>, <c>"True"</c>); anything else null.</summary>
    public bool? Bool(ReadOnlySpan<byte> json) => Kind switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.String when bool.TryParse(Text(json), out var b) => b,
        _ => null,
    };

    /// <summary>A number, or a string holding one (findings write severities both ways); anything else null.</summary>
    public double? Number(ReadOnlySpan<byte> json)
    {
        if (Kind == JsonTokenType.Number)
        {
            // The reader's own conversion, so a number reads as JsonElement.TryGetDouble reads it (range checks included).
            var reader = new Utf8JsonReader(Raw(json));
            reader.Read();
            return reader.TryGetDouble(out var d) ? d : null;
        }
        if (Kind == JsonTokenType.String && double.TryParse(Text(json), NumberStyles.Float, CultureInfo.InvariantCulture, out var s)) return s;
        return null;
    }

    /// <summary>An escaped string is decoded by the JSON reader itself (its quotes are the bytes either side).</summary>
    private string Unescape(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json.Slice(Start - 1, Length + 2));
        reader.Read();
        return reader.GetString()!;
    }
}
