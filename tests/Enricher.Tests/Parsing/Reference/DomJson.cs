using Pipeline.Enricher.Parsing;
using System.Text.Json;

namespace Pipeline.Enricher.Tests.Parsing.Reference;

/// <summary>Tolerant accessors: real events carry nulls, numbers where strings were expected, and missing objects.</summary>
internal static class DomJson
{
    public static string? Str(this JsonElement element, string name, StringCache? cache = null) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value.Text(cache) : null;

    // UTF-8 name overloads: a string name is transcoded to UTF-8 on every lookup; a "name"u8 literal is not.

    public static string? Str(this JsonElement element, ReadOnlySpan<byte> utf8Name, StringCache? cache = null) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(utf8Name, out var value) ? value.Text(cache) : null;

    public static JsonElement Obj(this JsonElement element, ReadOnlySpan<byte> utf8Name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(utf8Name, out var value) ? value.AsObject() : default;

    public static bool? Bool(this JsonElement element, ReadOnlySpan<byte> utf8Name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(utf8Name, out var value) ? value.BoolValue() : null;

    /// <summary>
    /// A property value read as <see cref="Str(JsonElement, string, StringCache?)"/> reads it (missing or <c>default</c>: null). With a
    /// <paramref name="cache"/>, repeated string values share one string.
    /// </summary>
    public static string? Text(this JsonElement value, StringCache? cache = null) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };

    public static JsonElement Obj(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value.AsObject() : default;

    /// <summary>The value if it is an object, else <c>default</c> (as <see cref="Obj(JsonElement, string)"/> returns for a non-object).</summary>
    public static JsonElement AsObject(this JsonElement value) => value.ValueKind == JsonValueKind.Object ? value : default;

    public static bool Has(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out _);

    public static bool? Bool(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value.BoolValue() : null;

    /// <summary>A property value read as <see cref="Bool(JsonElement, string)"/> reads it (missing or <c>default</c>: null).</summary>
    public static bool? BoolValue(this JsonElement value)
    {
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            // CloudTrail writes mfaAuthenticated as the strings "true"/"false" (sometimes "True").
            JsonValueKind.String when bool.TryParse(value.GetString(), out var b) => b,
            _ => null,
        };
    }

    public static double? Number(this JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value)) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d)) return d;
        if (value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out d)) return d;
        return null;
    }
}
