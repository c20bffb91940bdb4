using System.Text;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// Makes a record's strings decodable before it is parsed. System.Text.Json accepts invalid UTF-8 and
/// unpaired surrogate escapes (<c>"\ud800"</c>) at parse time and only throws when a string is read, which
/// can be anywhere later (a mute pattern, a renderer). Rejecting such records would let whoever controls a
/// field (a user agent, a session name) hide their events from the digests, so the bad text is replaced
/// with U+FFFD instead, as most log tools do, and the event goes on.
/// </summary>
internal static class JsonTextRepair
{
    private static readonly byte[] Replacement = "\\ufffd"u8.ToArray();

    /// <summary><paramref name="data"/> itself when it needs no repair (the usual case: one vectorised check and one scan).</summary>
    public static ReadOnlyMemory<byte> Repair(ReadOnlyMemory<byte> data)
    {
        if (!System.Text.Unicode.Utf8.IsValid(data.Span))
            data = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(data.Span)); // invalid sequences become U+FFFD
        return HasUnpairedSurrogateEscape(data.Span) ? ReplaceUnpairedSurrogateEscapes(data.Span) : data;
    }

    private static bool HasUnpairedSurrogateEscape(ReadOnlySpan<byte> json)
    {
        for (int i = json.IndexOf((byte)'\\'); i >= 0 && i < json.Length; )
        {
            int length = EscapeLength(json, i, out bool unpaired);
            if (unpaired) return true;
            int next = json[(i + length)..].IndexOf((byte)'\\');
            if (next < 0) return false;
            i += length + next;
        }
        return false;
    }

    private static byte[] ReplaceUnpairedSurrogateEscapes(ReadOnlySpan<byte> json)
    {
        var output = new List<byte>(json.Length);
        for (int i = 0; i < json.Length; )
        {
            if (json[i] != (byte)'\\') { output.Add(json[i++]); continue; }
            int length = EscapeLength(json, i, out bool unpaired);
            if (unpaired) output.AddRange(Replacement);
            else foreach (var b in json.Slice(i, length)) output.Add(b);
            i += length;
        }
        return [.. output];
    }

    /// <summary>
    /// The length of the escape starting at <paramref name="i"/> (a backslash): 12 for a surrogate pair,
    /// 6 for any other <c>\uXXXX</c>, 2 otherwise. Scanning escape by escape keeps <c>\\ud800</c> (an escaped
    /// backslash, then text) from being taken for a surrogate.
    /// </summary>
    private static int EscapeLength(ReadOnlySpan<byte> json, int i, out bool unpaired)
    {
        unpaired = false;
        if (!TryHex(json, i, out int unit)) return Math.Min(2, json.Length - i);
        if (unit is >= 0xD800 and <= 0xDBFF && TryHex(json, i + 6, out int low) && low is >= 0xDC00 and <= 0xDFFF) return 12;
        unpaired = unit is >= 0xD800 and <= 0xDFFF;
        return 6;
    }

    private static bool TryHex(ReadOnlySpan<byte> json, int i, out int value)
    {
        value = 0;
        if (i + 6 > json.Length || json[i] != (byte)'\\' || json[i + 1] != (byte)'u') return false;
        for (int k = 2; k < 6; k++)
        {
            int d = HexDigit(json[i + k]);
            if (d < 0) return false;
            value = value * 16 + d;
        }
        return true;
    }

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
