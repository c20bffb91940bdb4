using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// A forward-only reader of one JSON text in memory, token by token: the part of <see cref="Utf8JsonReader"/> the
/// record's pass uses (<see cref="Read"/>, <see cref="Skip"/>, the token's kind, place and bytes), with the same verdict on
/// every input. It accepts exactly what the framework's reader accepts with the parser's options (RFC 8259 JSON, no
/// comments, no trailing commas, one value, at most <c>maxDepth</c> deep) and throws <see cref="JsonException"/> where
/// that reader would. Like that reader, it does not check the UTF-8 inside strings (a string is decoded, and checked,
/// only when the parser asks for it) nor the pairing of <c>\u</c> surrogate escapes.
/// </summary>
/// <remarks>
/// Why a reader of our own: a record's pass is mostly reading tokens, and most of that in values the digest never
/// reads (response elements, resources, a finding's body). <see cref="Utf8JsonReader"/> pays, per token, for options
/// this parser never sets (comments, trailing commas, multiple values, input in segments); this one checks only what
/// JSON requires and skips a value in one tight loop. What it accepts is checked against the framework's reader
/// (<c>JsonCursorTests</c>: every corpus line, thousands of mutated ones, and the corners of the grammar). Its error
/// messages are its own; <see cref="EventParser"/> reports the framework's message for a rejected record.
/// </remarks>
internal ref struct JsonCursor
{
    private readonly ReadOnlySpan<byte> _json;
    private readonly int _maxDepth;
    private int _pos;            // the next byte to look at
    private int _tokenStart;
    private int _valueStart, _valueLength;
    private int _depth;
    private JsonTokenType _type;
    private bool _escaped;
    // One bit per open container, set for an object: 512 levels, more than any maxDepth the parser uses.
    private ContainerBits _objects;

    [InlineArray(8)]
    private struct ContainerBits
    {
        private ulong _bits;
    }

    /// <summary>Whether the container open at <paramref name="level"/> (0: the outermost) is an object.</summary>
    private static bool IsObjectAt(in ContainerBits bits, int level) => (bits[level >> 6] & (1UL << (level & 63))) != 0;

    /// <summary>Notes the kind of the container opening at <paramref name="level"/>.</summary>
    private static void MarkAt(ref ContainerBits bits, int level, bool isObject)
    {
        ref ulong word = ref bits[level >> 6];
        ulong bit = 1UL << (level & 63);
        word = isObject ? word | bit : word & ~bit;
    }

    /// <summary>The deepest a caller may ask for (<see cref="ContainerBits"/> holds this many levels).</summary>
    public const int DepthLimit = 512;

    public JsonCursor(ReadOnlySpan<byte> json, int maxDepth = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxDepth, DepthLimit);
        _json = json;
        _maxDepth = maxDepth;
    }

    /// <summary>
    /// A cursor over the one value found at <paramref name="value"/> in <paramref name="json"/> (its extent, as
    /// <see cref="JsonValueRef.Extent"/> found it), read again: its tokens keep their places in <paramref name="json"/>,
    /// so what is located in it is read from the same bytes as the rest of the record.
    /// </summary>
    public JsonCursor(ReadOnlySpan<byte> json, JsonValueRef value, int maxDepth)
        : this(json[..(value.Start + value.Length)], maxDepth)
    {
        if (value.Kind is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            throw new ArgumentException("expected an object's or array's extent", nameof(value));
        _pos = value.Start;
    }

    public readonly JsonTokenType TokenType => _type;

    /// <summary>Where the current token starts (a string's opening quote).</summary>
    public readonly int TokenStartIndex => _tokenStart;

    /// <summary>The bytes read so far: the index just past the current token.</summary>
    public readonly int BytesConsumed => _pos;

    /// <summary>A string's or property name's raw bytes between the quotes; any other token's own bytes (a number, a literal, a bracket).</summary>
    public readonly ReadOnlySpan<byte> ValueSpan => _json.Slice(_valueStart, _valueLength);

    /// <summary>The string or name holds an escape sequence: <see cref="ValueSpan"/> is not its text.</summary>
    public readonly bool ValueIsEscaped => _escaped;

    /// <summary>The current string or property name, unescaped (by the framework's reader, which also checks its UTF-8).</summary>
    public readonly string GetString()
    {
        if (_type is not (JsonTokenType.String or JsonTokenType.PropertyName))
            throw new InvalidOperationException($"Cannot get the value of a token type '{_type}' as a string.");
        var reader = new Utf8JsonReader(_json.Slice(_valueStart - 1, _valueLength + 2));
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>Moves to the next token. False once the one value and the whitespace after it are read.</summary>
    /// <exception cref="JsonException">The text is not JSON here.</exception>
    public bool Read()
    {
        var json = _json;
        int pos = SkipWhitespace(json, _pos);
        switch (_type)
        {
            case JsonTokenType.None:
                if (pos >= json.Length) throw Invalid(pos, "the input does not contain any JSON tokens");
                ReadValue(pos);
                return true;
            case JsonTokenType.PropertyName:
                ReadValue(pos); // the name's token took its colon
                return true;
            case JsonTokenType.StartObject:
                if (pos < json.Length && json[pos] == (byte)'}') { End(pos, JsonTokenType.EndObject); return true; }
                ReadName(pos);
                return true;
            case JsonTokenType.StartArray:
                if (pos < json.Length && json[pos] == (byte)']') { End(pos, JsonTokenType.EndArray); return true; }
                ReadValue(pos);
                return true;
        }
        // After a whole value: the end of the text, a comma, or the end of the container around it.
        if (_depth == 0)
        {
            if (pos < json.Length) throw Invalid(pos, "text after the JSON value");
            _pos = pos;
            return false;
        }
        if (pos >= json.Length) throw Invalid(pos, "the text ends inside an object or array");
        bool inObject = InObject;
        switch (json[pos])
        {
            case (byte)',':
                pos = SkipWhitespace(json, pos + 1);
                if (inObject) ReadName(pos);
                else ReadValue(pos);
                return true;
            case (byte)'}' when inObject:
                End(pos, JsonTokenType.EndObject);
                return true;
            case (byte)']' when !inObject:
                End(pos, JsonTokenType.EndArray);
                return true;
            default:
                throw Invalid(pos, "expected ',' or the end of the object or array");
        }
    }

    /// <summary>
    /// As <see cref="Utf8JsonReader.Skip"/>: on a property name, moves onto its value first; on an object's or array's
    /// start, moves to its end (every byte in between checked as JSON); on anything else, stays.
    /// </summary>
    public void Skip()
    {
        if (_type == JsonTokenType.PropertyName) Read();
        if (_type is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return;
        int end = SkipContainer(_pos, _type == JsonTokenType.StartObject);
        // Now on the container's end token, as the framework's reader is after Skip.
        _depth--;
        _type = _json[end] == (byte)'}' ? JsonTokenType.EndObject : JsonTokenType.EndArray;
        _tokenStart = _valueStart = end;
        _valueLength = 1;
        _escaped = false;
        _pos = end + 1;
    }

    /// <summary>
    /// Checks the inside of the object or array just opened (<paramref name="pos"/>: the byte after its bracket) and
    /// returns the index of its closing bracket. The same grammar as <see cref="Read"/>, in one loop over local state:
    /// no token is kept, so nothing is written back per token.
    /// </summary>
    private readonly int SkipContainer(int pos, bool isObject)
    {
        var json = _json;
        // The levels opened inside this container get their bits (set: an object) in a copy of the cursor's own: the
        // cursor's state is written back once, at the end, by the caller.
        int depth = _depth;           // absolute depth, this container included
        int baseDepth = depth - 1;
        var objects = _objects;
        bool inObject = isObject;
        // true: a value (or, in an object, a name) may come, or the end right after the opening bracket
        bool justOpened = true;
        while (true)
        {
            pos = SkipWhitespace(json, pos);
            if (pos >= json.Length) throw Invalid(pos, "the text ends inside an object or array");
            byte b = json[pos];
            // The container's end: right after its opening bracket, or after a value (not after a comma: see below).
            if (b == (inObject ? (byte)'}' : (byte)']'))
            {
                if (--depth == baseDepth) return pos;
                inObject = IsObjectAt(objects, depth - 1);
                justOpened = false;
                pos++;
                continue;
            }
            if (!justOpened)
            {
                // After a value, a comma; then a name or a value must come (an end bracket there is a trailing comma).
                if (b != (byte)',') throw Invalid(pos, "expected ',' or the end of the object or array");
                pos = SkipWhitespace(json, pos + 1);
                if (pos >= json.Length) throw Invalid(pos, "the text ends inside an object or array");
                b = json[pos];
            }
            if (inObject)
            {
                if (b != (byte)'"') throw Invalid(pos, "expected a property name");
                pos = StringEnd(json, pos, out _) + 1;
                pos = SkipWhitespace(json, pos);
                if (pos >= json.Length || json[pos] != (byte)':') throw Invalid(pos, "expected ':' after a property name");
                pos = SkipWhitespace(json, pos + 1);
                if (pos >= json.Length) throw Invalid(pos, "expected a value");
                b = json[pos];
            }
            // A value.
            switch (b)
            {
                case (byte)'"':
                    pos = StringEnd(json, pos, out _) + 1;
                    justOpened = false;
                    break;
                case (byte)'{' or (byte)'[':
                    if (depth >= _maxDepth) throw Invalid(pos, $"deeper than {_maxDepth} levels");
                    inObject = b == (byte)'{';
                    MarkAt(ref objects, depth, inObject);
                    depth++;
                    pos++;
                    justOpened = true;
                    break;
                case (byte)'t' or (byte)'f' or (byte)'n':
                    pos = LiteralEnd(json, pos, Literal(b));
                    justOpened = false;
                    break;
                case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                    pos = NumberEnd(json, pos);
                    justOpened = false;
                    break;
                default:
                    throw Invalid(pos, "not the start of a JSON value");
            }
        }
    }

    private static int LiteralEnd(ReadOnlySpan<byte> json, int pos, ReadOnlySpan<byte> literal)
    {
        if (!json[pos..].StartsWith(literal)) throw Invalid(pos, "not a JSON literal (true, false, null)");
        return pos + literal.Length;
    }

    private readonly bool InObject => IsObjectAt(_objects, _depth - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipWhitespace(ReadOnlySpan<byte> json, int pos)
    {
        while ((uint)pos < (uint)json.Length && json[pos] <= (byte)' ')
        {
            byte b = json[pos];
            if (b != (byte)' ' && b != (byte)'\n' && b != (byte)'\r' && b != (byte)'\t') break;
            pos++;
        }
        return pos;
    }

    private void ReadValue(int pos)
    {
        var json = _json;
        if (pos >= json.Length) throw Invalid(pos, "expected a value");
        _tokenStart = pos;
        switch (json[pos])
        {
            case (byte)'"':
                ReadString(pos);
                _type = JsonTokenType.String;
                return;
            case (byte)'{':
                Open(pos, isObject: true);
                return;
            case (byte)'[':
                Open(pos, isObject: false);
                return;
            case (byte)'t' or (byte)'f' or (byte)'n':
                ReadLiteral(pos);
                return;
            case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                ReadNumber(pos);
                return;
            default:
                throw Invalid(pos, "not the start of a JSON value");
        }
    }

    private void ReadName(int pos)
    {
        if (pos >= _json.Length || _json[pos] != (byte)'"') throw Invalid(pos, "expected a property name");
        _tokenStart = pos;
        ReadString(pos);
        _type = JsonTokenType.PropertyName;
        // The colon belongs to the name's token, as it does for the framework's reader (BytesConsumed counts it).
        int colon = SkipWhitespace(_json, _pos);
        if (colon >= _json.Length || _json[colon] != (byte)':') throw Invalid(colon, "expected ':' after a property name");
        _pos = colon + 1;
    }

    private void Open(int pos, bool isObject)
    {
        if (_depth >= _maxDepth) throw Invalid(pos, $"deeper than {_maxDepth} levels");
        MarkAt(ref _objects, _depth, isObject);
        _depth++;
        _type = isObject ? JsonTokenType.StartObject : JsonTokenType.StartArray;
        _valueStart = pos;
        _valueLength = 1;
        _escaped = false;
        _pos = pos + 1;
    }

    private void End(int pos, JsonTokenType type)
    {
        _depth--;
        _type = type;
        _tokenStart = pos;
        _valueStart = pos;
        _valueLength = 1;
        _escaped = false;
        _pos = pos + 1;
    }

    private void ReadLiteral(int pos)
    {
        var text = Literal(_json[pos]);
        _pos = LiteralEnd(_json, pos, text);
        _type = _json[pos] switch { (byte)'t' => JsonTokenType.True, (byte)'f' => JsonTokenType.False, _ => JsonTokenType.Null };
        _valueStart = pos;
        _valueLength = text.Length;
        _escaped = false;
    }

    /// <summary>The literal a value starting with <paramref name="first"/> (<c>t</c>, <c>f</c> or <c>n</c>) must be.</summary>
    private static ReadOnlySpan<byte> Literal(byte first) => first switch
    {
        (byte)'t' => "true"u8,
        (byte)'f' => "false"u8,
        _ => "null"u8,
    };

    /// <summary>A string from its opening quote at <paramref name="pos"/>: its escapes and characters checked, its end found.</summary>
    private void ReadString(int pos)
    {
        int end = StringEnd(_json, pos, out bool escaped);
        _valueStart = pos + 1;
        _valueLength = end - pos - 1;
        _escaped = escaped;
        _pos = end + 1;
    }

    /// <summary>
    /// The index of the closing quote of the string that opens at <paramref name="pos"/>, its escapes and characters
    /// checked. Inlined into the reading and the skipping loops: measured 11–15% on the parser alone (most strings are short).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int StringEnd(ReadOnlySpan<byte> json, int pos, out bool escaped)
    {
        int i = pos + 1;
        escaped = false;
        while (true)
        {
            int stop = IndexOfStringStop(json, i);
            if (stop < 0) throw Invalid(json.Length, "the text ends inside a string");
            byte c = json[stop];
            if (c == (byte)'"') return stop;
            if (c < 0x20) throw Invalid(stop, "a control character inside a string");
            // An escape: \" \\ \/ \b \f \n \r \t or \u and four hex digits.
            escaped = true;
            int e = stop + 1;
            if (e >= json.Length) throw Invalid(e, "the text ends inside a string");
            switch (json[e])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i = e + 1;
                    break;
                case (byte)'u':
                    if (e + 4 >= json.Length || !IsHex(json[e + 1]) || !IsHex(json[e + 2]) || !IsHex(json[e + 3]) || !IsHex(json[e + 4]))
                        throw Invalid(e, "'\\u' not followed by four hex digits");
                    i = e + 5;
                    break;
                default:
                    throw Invalid(e, "not an escapable character");
            }
        }
    }

    /// <summary>
    /// The index of the first closing quote, backslash or control character in <paramref name="json"/> from
    /// <paramref name="from"/> on, or -1. Sixteen bytes at a time, compared with the three at once: most strings end
    /// in their first block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOfStringStop(ReadOnlySpan<byte> json, int from)
    {
        int i = from;
        ref byte start = ref MemoryMarshal.GetReference(json);
        if (Vector128.IsHardwareAccelerated)
        {
            var quote = Vector128.Create((byte)'"');
            var backslash = Vector128.Create((byte)'\\');
            var space = Vector128.Create((byte)' ');
            for (; i <= json.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var block = Vector128.LoadUnsafe(ref start, (nuint)i);
                var stops = Vector128.Equals(block, quote) | Vector128.Equals(block, backslash) | Vector128.LessThan(block, space);
                if (stops != Vector128<byte>.Zero) return i + BitOperations.TrailingZeroCount(stops.ExtractMostSignificantBits());
            }
        }
        for (; i < json.Length; i++)
        {
            byte b = Unsafe.Add(ref start, i);
            if (b == (byte)'"' || b == (byte)'\\' || b < (byte)' ') return i;
        }
        return -1;
    }

    private static bool IsHex(byte b) => (uint)(b - '0') <= 9 || (uint)((b | 0x20) - 'a') <= 5;

    private void ReadNumber(int pos)
    {
        int end = NumberEnd(_json, pos);
        _type = JsonTokenType.Number;
        _valueStart = pos;
        _valueLength = end - pos;
        _escaped = false;
        _pos = end;
    }

    /// <summary>The index just past the number at <paramref name="pos"/>: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>.</summary>
    private static int NumberEnd(ReadOnlySpan<byte> json, int pos)
    {
        int i = pos;
        if (json[i] == (byte)'-') i++;
        if (i >= json.Length) throw Invalid(i, "a number without digits");
        if (json[i] == (byte)'0')
        {
            i++;
            // JSON has no leading zeros: "01" is not a number (the framework's reader says so too).
            if (i < json.Length && IsDigit(json[i])) throw Invalid(i, "a leading zero");
        }
        else if (IsDigit(json[i]))
        {
            i = Digits(json, i);
        }
        else
        {
            throw Invalid(i, "a number without digits");
        }
        if (i < json.Length && json[i] == (byte)'.')
        {
            i++;
            if (i >= json.Length || !IsDigit(json[i])) throw Invalid(i, "no digit after a decimal point");
            i = Digits(json, i);
        }
        if (i < json.Length && (json[i] | 0x20) == (byte)'e')
        {
            i++;
            if (i < json.Length && (json[i] == (byte)'+' || json[i] == (byte)'-')) i++;
            if (i >= json.Length || !IsDigit(json[i])) throw Invalid(i, "no digit in an exponent");
            i = Digits(json, i);
        }
        return i;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static int Digits(ReadOnlySpan<byte> json, int i)
    {
        while (i < json.Length && IsDigit(json[i])) i++;
        return i;
    }

    private static JsonException Invalid(int pos, string what) => new($"Not valid JSON at byte {pos}: {what}.");
}
