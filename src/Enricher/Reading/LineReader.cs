namespace Pipeline.Enricher.Reading;

/// <summary>
/// Splits a byte stream on '\n' without decoding it. Each line is its own array (records outlive the read buffer), or,
/// when <paramref name="transient"/>, a slice of the read buffer that is valid only until the next line is read: no copy
/// and no allocation per line, for a consumer that is done with each line before it asks for the next.
/// A byte order mark at the stream's start is skipped unless <paramref name="skipByteOrderMark"/> is false (a stream
/// that is the rest of one already read). The buffer is rented (<see cref="ReadBuffer"/>) and given back on
/// <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// A line longer than <paramref name="maxLineBytes"/> is not kept: its bytes are passed over as they are read, so the
/// buffer never grows past the limit whatever the line's length, and the reader hands out an empty line with
/// <see cref="OverLimitLength"/> set, for the caller to reject. The next line is read normally.
/// </remarks>
internal sealed class LineReader(Stream stream, bool transient = false, bool skipByteOrderMark = true, int maxLineBytes = RecordReader.MaxRecordBytes) : IDisposable
{
    private readonly ReadBuffer _buffer = new(Math.Min(64 * 1024, maxLineBytes + 2));
    private int _start;
    private int _end;
    private bool _eof;
    private bool _atStart = skipByteOrderMark;
    /// <summary>Bytes of the current line already passed over because it is over the limit.</summary>
    private long _passedOver;

    /// <summary>The length of the line just read when it was over the limit (its bytes are not handed out); else 0.</summary>
    public long OverLimitLength { get; private set; }

    public bool TryReadLine(out ReadOnlyMemory<byte> line)
    {
        if (_atStart) SkipByteOrderMark();
        OverLimitLength = 0;
        while (true)
        {
            int nl = Array.IndexOf(_buffer.Array, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                line = Take(_start, nl);
                _start = nl + 1;
                return true;
            }
            if (_eof)
            {
                if (_start < _end || _passedOver > 0)
                {
                    line = Take(_start, _end);
                    _start = _end;
                    return true;
                }
                line = default;
                return false;
            }
            if (_start == 0 && _end == _buffer.Length && _buffer.Length > maxLineBytes)
            {
                // Full with no line end: the line is over the limit. Pass over what is read; keep only the count.
                _passedOver += _end;
                _end = 0;
            }
            Fill();
        }
    }

    /// <summary>
    /// A UTF-8 byte order mark (EF BB BF, which Windows editors and PowerShell write) is not part of the first line:
    /// left there, it would make the first record, or a whole <c>{"Records":[…]}</c> file, unreadable JSON.
    /// </summary>
    private void SkipByteOrderMark()
    {
        _atStart = false;
        while (_end < 3 && !_eof) Fill();
        if (_end >= 3 && _buffer.Array[0] == 0xEF && _buffer.Array[1] == 0xBB && _buffer.Array[2] == 0xBF) _start = 3;
    }

    /// <summary>The bytes not yet handed out, then the rest of the stream: for a reader that takes over from this one.</summary>
    public Stream Rest()
    {
        if (_atStart) SkipByteOrderMark();
        return new PrefixedStream(_buffer.Array.AsMemory(_start, _end - _start), _eof ? Stream.Null : stream);
    }

    /// <summary>
    /// The bytes read ahead and not yet handed out, reading once more first when fewer than <paramref name="atLeast"/> are
    /// (fewer at the stream's end or when the buffer is full: <see cref="AtEnd"/> or the same length again).
    /// </summary>
    public ReadOnlySpan<byte> Peek(int atLeast)
    {
        if (_atStart) SkipByteOrderMark();
        if (_end - _start < atLeast && !_eof) Fill();
        return _buffer.Array.AsSpan(_start, _end - _start);
    }

    /// <summary>Whether the whole rest of the stream is in the buffer.</summary>
    public bool AtEnd => _eof;

    private ReadOnlyMemory<byte> Take(int from, int to)
    {
        if (to > from && _buffer.Array[to - 1] == (byte)'\r') to--;
        long length = _passedOver + (to - from);
        _passedOver = 0;
        if (length > maxLineBytes)
        {
            OverLimitLength = length;
            return ReadOnlyMemory<byte>.Empty;
        }
        return transient ? _buffer.Array.AsMemory(from, to - from) : _buffer.Array.AsSpan(from, to - from).ToArray();
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer.Array, _start, _buffer.Array, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            // A line longer than the buffer: grow, but never past the limit and its line end, so no size overflows.
            if (_buffer.Length >= maxLineBytes + 2L) return;
            _buffer.Grow((int)Math.Min(_buffer.Length * 2L, maxLineBytes + 2L));
        }
        int read = stream.Read(_buffer.Array, _end, _buffer.Length - _end);
        if (read == 0) _eof = true;
        _end += read;
    }

    /// <summary>Gives the buffer back: no line read (nor the stream <see cref="Rest"/> gave) may be used after this.</summary>
    public void Dispose() => _buffer.Dispose();
}

/// <summary>
/// Reports how many bytes of the underlying (possibly compressed) file have been read, for the progress bar. A read that
/// fails (a disk error, a file whose permission changed, a network share gone) becomes an <see cref="InputException"/>
/// naming the file: the run stops with that one line and its exit code, not a stack trace.
/// </summary>
internal sealed class CountingStream(Stream inner, IProgress<long>? progress, string name = "input") : ForwardReadStream(inner)
{
    public override int Read(byte[] buffer, int offset, int count)
    {
        int read;
        try
        {
            read = Inner.Read(buffer, offset, count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"cannot read '{name}' after {BytesRead} bytes: {e.Message}", e);
        }
        BytesRead += read;
        progress?.Report(BytesRead);
        return read;
    }
}

/// <summary>
/// Ends a decompressing stream at the first damaged byte instead of throwing, and keeps what went wrong in
/// <see cref="Damage"/>, so the reader can hand on the lines before the damage and report the rest.
/// </summary>
internal sealed class DamageStoppingStream(Stream inner) : ForwardReadStream(inner)
{
    /// <summary>Why reading stopped early; null when the stream ended normally.</summary>
    public string? Damage { get; private set; }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (Damage is not null) return 0;
        try
        {
            int read = Inner.Read(buffer, offset, count);
            BytesRead += read;
            return read;
        }
        catch (InvalidDataException e)
        {
            Damage = e.Message;
            return 0;
        }
    }
}

/// <summary>Bytes already read, then the rest of a stream: hands the bytes one reader looked ahead at to the next.</summary>
internal sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : ForwardReadStream(inner)
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    public override int Read(byte[] buffer, int offset, int count)
    {
        int read;
        if (_prefix.IsEmpty) read = Inner.Read(buffer, offset, count);
        else
        {
            read = Math.Min(count, _prefix.Length);
            _prefix.Span[..read].CopyTo(buffer.AsSpan(offset));
            _prefix = _prefix[read..];
        }
        BytesRead += read;
        return read;
    }
}

/// <summary>
/// A stream the reader only reads forward, wrapping (and owning) another: what the wrapper does with each read is
/// its own; its position is the bytes read through it.
/// </summary>
internal abstract class ForwardReadStream(Stream inner) : Stream
{
    protected Stream Inner { get; } = inner;

    /// <summary>Bytes read through this stream so far: its <see cref="Position"/>.</summary>
    protected long BytesRead { get; set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => Inner.Length;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) Inner.Dispose();
        base.Dispose(disposing);
    }
}
