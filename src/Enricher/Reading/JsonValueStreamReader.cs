using System.Buffers;
using System.Numerics;
using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Reading;

/// <summary>
/// Reads a stream of JSON values record by record: a CloudTrail log file <c>{"Records":[…]}</c>, the event Lambda
/// receives from Kinesis, a JSON array of events, or several of these one after another (as <c>zcat *.json.gz</c>
/// gives). A container yields its elements; any other value is one record. Memory is bounded by the record limit,
/// whatever the stream's size: only the record being read is buffered.
/// </summary>
/// <remarks>
/// Values are found by their structure alone (brackets, strings and their escapes) and handed on as bytes, which the
/// parser validates. A <see cref="Utf8JsonReader"/> over the stream would stop for good at the first malformed record
/// and lose the rest of the file; this way a malformed record is rejected alone and the next one is read. A record over
/// the limit is passed over as it is read, never held whole, and rejected; a stream that ends inside a record or
/// before its container closes yields one rejected record saying so.
/// </remarks>
internal sealed class JsonValueStreamReader(Stream stream, string name, bool transient, int maxRecordBytes) : IDisposable
{
    private static readonly SearchValues<byte> Structure = SearchValues.Create("\"{}[]"u8);
    private static readonly SearchValues<byte> StringEnd = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> ScalarEnd = SearchValues.Create(",]} \t\r\n"u8);

    /// <summary>How far ahead the <c>{"Records":[</c> head is looked for (white space in it included).</summary>
    private const int HeadBytes = 4096;

    // Given back on Dispose: see ReadBuffer.
    private readonly ReadBuffer _buffer = new(Math.Max(HeadBytes, Math.Min(64 * 1024, maxRecordBytes + 1)));
    private int _start; // the first byte not yet consumed
    private int _end;
    private bool _eof;
    // Line counting: _line is the line number at buffer position _lineAt.
    private long _line = 1;
    private int _lineAt;
    private bool _cutShort;

    private enum Kind { Value, Array, Records }

    /// <summary>Whether <paramref name="head"/> (a whole stream's first bytes, white space aside) opens a container this reader streams.</summary>
    public static bool StartsContainer(ReadOnlySpan<byte> head) => StartsContainer(head, final: true) ?? false;

    /// <summary>
    /// Whether <paramref name="head"/> opens a container; null when it cannot tell yet and more of the stream may follow
    /// (not <paramref name="final"/>). Decided on the fewest bytes it can, so a slow pipe's first record is not held back.
    /// </summary>
    public static bool? StartsContainer(ReadOnlySpan<byte> head, bool final)
    {
        head = head.TrimStart(" \t\r\n"u8);
        if (head.IsEmpty) return final ? false : null;
        if (head[0] == (byte)'[') return true;
        return RecordsHeadLength(head, final) switch
        {
            > 0 => true,
            0 => false,
            _ => null,
        };
    }

    public IEnumerable<RawRecord> Read()
    {
        while (SkipWhiteSpace())
        {
            var origin = new RecordOrigin(name, LineAt(_start));
            var kind = _buffer.Array[_start] == (byte)'[' ? Kind.Array : Kind.Value;
            if (_buffer.Array[_start] == (byte)'{')
            {
                int head;
                while ((head = RecordsHeadLength(_buffer.Array.AsSpan(_start, _end - _start), final: _eof || _end - _start >= HeadBytes)) < 0)
                    Fill(); // reads what the stream has: a slow pipe's record is not held back for a full head
                if (head > 0)
                {
                    kind = Kind.Records;
                    _start += head - 1; // on the array's '['
                }
            }
            if (kind == Kind.Value)
            {
                yield return ReadValue(origin, kind);
                continue;
            }

            _start++; // past '['
            int index = 0;
            while (true)
            {
                if (!SkipWhiteSpace())
                {
                    yield return Truncated(origin with { Index = index }, $"the input ends before its {Describe(kind)} closes (cut short?): records after the {index} read are missing");
                    yield break;
                }
                byte c = _buffer.Array[_start];
                if (c == (byte)']')
                {
                    _start++;
                    if (kind == Kind.Records) PassOverRestOfObject();
                    break;
                }
                if (c == (byte)',')
                {
                    _start++;
                    continue;
                }
                var record = ReadValue(origin with { Index = index }, kind);
                index++;
                yield return record;
                if (_cutShort) yield break; // what was left is that one rejected record
            }
        }
    }

    /// <summary>Gives the buffer back: no record read (a transient one's bytes) may be used after this.</summary>
    public void Dispose() => _buffer.Dispose();

    private static string Describe(Kind kind) => kind == Kind.Records ? "Records" : "array";

    /// <summary>Reads the value at <see cref="_start"/>: its record, or a rejected one when it is over the limit or cut short.</summary>
    private RawRecord ReadValue(RecordOrigin origin, Kind container)
    {
        var scan = new Scan(_buffer.Array[_start]);
        int pos = _start + 1;
        long passedOver = 0;
        while (true)
        {
            int end = scan.Advance(_buffer.Array.AsSpan(0, _end), pos, _eof);
            if (end >= 0)
            {
                long length = passedOver + (end - _start);
                var bytes = _buffer.Array.AsMemory(_start, end - _start);
                _start = end;
                if (length > maxRecordBytes) return new RawRecord(ReadOnlyMemory<byte>.Empty, origin, RecordReader.OverLimit(length, maxRecordBytes));
                return Record(bytes, origin);
            }
            if (_eof)
                return Truncated(origin, $"the input ends inside {(container == Kind.Value ? "a value" : $"{Describe(container)}[{origin.Index}]")} ({passedOver + (_end - _start)} bytes read of it; cut short?)");
            pos = _end;
            if (passedOver + (_end - _start) > maxRecordBytes)
            {
                // Over the limit: keep scanning for its end, without keeping its bytes (Fill drops them).
                passedOver += _end - _start;
                _start = _end;
            }
            int shift = _start;
            Fill();
            pos -= shift;
        }
    }

    /// <summary>
    /// Past the rest of a <c>{"Records":[…]}</c> object once its array has closed: any other property it has is not a record
    /// (a parsed document ignored it too).
    /// </summary>
    private void PassOverRestOfObject()
    {
        var scan = new Scan((byte)'{');
        while (true)
        {
            int end = scan.Advance(_buffer.Array.AsSpan(0, _end), _start, _eof);
            if (end >= 0)
            {
                _start = end;
                return;
            }
            _start = _end;
            if (_eof) return;
            Fill();
        }
    }

    private RawRecord Record(ReadOnlyMemory<byte> bytes, RecordOrigin origin)
    {
        // A Lambda Kinesis event's entry carries its record in base64: decoded as the document reader decodes it.
        if (bytes.Span.IndexOf("\"kinesis\""u8) >= 0)
        {
            try
            {
                using var doc = JsonDocument.Parse(bytes);
                return RecordReader.FromContainerItem(doc.RootElement, origin);
            }
            catch (JsonException)
            {
                // Not JSON after all: handed on for the parser to say why.
            }
        }
        return new RawRecord(transient ? bytes : bytes.ToArray(), origin);
    }

    private RawRecord Truncated(RecordOrigin origin, string reason)
    {
        _cutShort = true;
        _start = _end;
        return new RawRecord(ReadOnlyMemory<byte>.Empty, origin, reason);
    }

    /// <summary>Moves to the next byte that is not white space; false at the end of the stream.</summary>
    private bool SkipWhiteSpace()
    {
        while (true)
        {
            int skip = _buffer.Array.AsSpan(_start, _end - _start).IndexOfAnyExcept(" \t\r\n"u8);
            if (skip >= 0)
            {
                _start += skip;
                return true;
            }
            _start = _end;
            if (_eof) return false;
            Fill();
        }
    }

    /// <summary>
    /// The length of <c>{"Records":[</c> (white space included) at the start of <paramref name="json"/>; 0 when it is not
    /// there; -1 when <paramref name="json"/> ends before that is known and is not <paramref name="final"/>.
    /// </summary>
    private static int RecordsHeadLength(ReadOnlySpan<byte> json, bool final)
    {
        try
        {
            var reader = new Utf8JsonReader(json, isFinalBlock: final, default);
            if (!reader.Read()) return final ? 0 : -1;
            if (reader.TokenType != JsonTokenType.StartObject) return 0;
            if (!reader.Read()) return final ? 0 : -1;
            if (reader.TokenType != JsonTokenType.PropertyName || !KinesisEventRecord.NameIs(ref reader, "Records"u8)) return 0;
            if (!reader.Read()) return final ? 0 : -1;
            return reader.TokenType == JsonTokenType.StartArray ? (int)reader.BytesConsumed : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    /// <summary>The line number of buffer position <paramref name="pos"/>, counting the line ends passed since the last call.</summary>
    private long LineAt(int pos)
    {
        _line += _buffer.Array.AsSpan(_lineAt, pos - _lineAt).Count((byte)'\n');
        _lineAt = pos;
        return _line;
    }

    /// <summary>Drops the bytes before <paramref name="pos"/> from the buffer (their line ends counted first).</summary>
    private void Discard(int pos)
    {
        LineAt(pos);
        Buffer.BlockCopy(_buffer.Array, pos, _buffer.Array, 0, _end - pos);
        _end -= pos;
        _start -= pos;
        _lineAt = 0;
    }

    /// <summary>Reads more of the stream after the unconsumed bytes, growing the buffer up to the record limit.</summary>
    private void Fill()
    {
        if (_start > 0) Discard(_start);
        if (_end == _buffer.Length)
        {
            if (_buffer.Length > maxRecordBytes) return; // full: the caller passes over what it has
            _buffer.Grow((int)Math.Min(_buffer.Length * 2L, maxRecordBytes + 1L));
        }
        int read = stream.Read(_buffer.Array, _end, _buffer.Length - _end);
        if (read == 0) _eof = true;
        _end += read;
    }

    /// <summary>
    /// Finds where one JSON value ends by its structure: the matching bracket, the closing quote, or the end of a number or
    /// literal. Resumable: it keeps its place between buffer refills.
    /// </summary>
    /// <remarks>
    /// Inside a container it reads 64 bytes at a time (<see cref="StructureBlock"/>): a record of the corpus has some 175
    /// quotes and brackets, and finding each with a search of its own cost more than a DOM parse of the record. A block
    /// with a backslash in it, the rare one, is read a token at a time as before, so an escape is always judged by the
    /// bytes before it, inside a string or not, exactly as the token-at-a-time reading judges it.
    /// </remarks>
    internal struct Scan(byte first)
    {
        private int _depth = first is (byte)'{' or (byte)'[' ? 1 : 0;
        private bool _inString = first == (byte)'"';
        private bool _escaped;
        private readonly bool _scalar = first is not ((byte)'{' or (byte)'[' or (byte)'"');

        /// <summary>The end (exclusive) of the value, scanning <paramref name="bytes"/> from <paramref name="pos"/>; -1 when it needs more bytes.</summary>
        public int Advance(ReadOnlySpan<byte> bytes, int pos, bool atEnd)
        {
            if (_scalar)
            {
                int stop = bytes[pos..].IndexOfAny(ScalarEnd);
                return stop >= 0 ? pos + stop : atEnd ? bytes.Length : -1;
            }
            while (pos < bytes.Length)
            {
                if (StructureBlock.IsAccelerated && _depth > 0 && !_escaped && bytes.Length - pos >= StructureBlock.Size)
                {
                    var block = StructureBlock.Of(bytes.Slice(pos, StructureBlock.Size));
                    if (block.Backslashes == 0)
                    {
                        int end = Block(block);
                        if (end >= 0) return pos + end;
                        pos += StructureBlock.Size;
                        continue;
                    }
                    // An escape in the block: token at a time to its end (the last token may reach past it).
                    for (int blockEnd = pos + StructureBlock.Size; pos < blockEnd;)
                    {
                        int end = Token(bytes, ref pos);
                        if (end != NotYet) return end;
                    }
                    continue;
                }
                int found = Token(bytes, ref pos);
                if (found != NotYet) return found;
            }
            return -1;
        }

        /// <summary>
        /// What <see cref="Token"/> returns when it has moved on without finding the end, and the bytes have not run out:
        /// the loop goes on. Not -1, which is <see cref="Advance"/>'s own answer for "the bytes ran out first".
        /// </summary>
        private const int NotYet = int.MinValue;

        /// <summary>
        /// A block of 64 bytes with no backslash, inside the value (depth above 0): the end of the value in the block, or
        /// -1 with the depth and the string state moved past it.
        /// </summary>
        private int Block(StructureBlock block)
        {
            // Bit i of inString: byte i is inside a string (an opening quote counts in, a closing one out). With no
            // backslash in the block every quote counts, so the running parity of the quotes is the string state.
            ulong inString = StructureBlock.PrefixXor(block.Quotes);
            if (_inString) inString = ~inString;
            ulong opens = block.Opens & ~inString, closes = block.Closes & ~inString;
            _inString = (long)inString < 0; // the last byte's state carries into the next block

            // The depth cannot come down to 0 in a block with fewer closing brackets than it: count and move on.
            if (BitOperations.PopCount(closes) < _depth)
            {
                _depth += BitOperations.PopCount(opens) - BitOperations.PopCount(closes);
                return -1;
            }
            for (ulong brackets = opens | closes; brackets != 0; brackets &= brackets - 1)
            {
                int at = BitOperations.TrailingZeroCount(brackets);
                if ((opens & (1UL << at)) != 0) _depth++;
                else if (--_depth == 0) return at + 1;
            }
            return -1;
        }

        /// <summary>One step of the token-at-a-time reading from <paramref name="pos"/>: the value's end, -1 when the bytes run out, else <see cref="NotYet"/>.</summary>
        private int Token(ReadOnlySpan<byte> bytes, ref int pos)
        {
            if (_escaped)
            {
                _escaped = false;
                pos++;
                return NotYet;
            }
            if (_inString)
            {
                int at = bytes[pos..].IndexOfAny(StringEnd);
                if (at < 0) return -1;
                pos += at;
                if (bytes[pos] == (byte)'\\') _escaped = true;
                else
                {
                    _inString = false;
                    if (_depth == 0) return pos + 1;
                }
                pos++;
                return NotYet;
            }
            int next = bytes[pos..].IndexOfAny(Structure);
            if (next < 0) return -1;
            pos += next;
            switch (bytes[pos])
            {
                case (byte)'"': _inString = true; break;
                case (byte)'{' or (byte)'[': _depth++; break;
                default:
                    if (--_depth == 0) return pos + 1;
                    break;
            }
            pos++;
            return NotYet;
        }
    }
}
