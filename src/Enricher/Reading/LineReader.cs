namespace Pipeline.Enricher.Reading;

/// <summary>
/// Splits a byte stream on '\n' without decoding it. Each line is its own array (records outlive the read buffer), or,
/// when <paramref name="transient"/>, a slice of the read buffer that is valid only until the next line is read: no copy
/// and no allocation per line, for a consumer that is done with each line before it asks for the next.
/// A byte order mark at the stream's start is skipped unless <paramref name="skipByteOrderMark"/> is false (a stream
/// that is the rest of one already read).
/// </summary>
internal sealed class LineReader(Stream stream, bool transient = false, bool skipByteOrderMark = true)
{
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _atStart = skipByteOrderMark;

    public bool TryReadLine(out ReadOnlyMemory<byte> line)
    {
        if (_atStart) SkipByteOrderMark();
        while (true)
        {
            int nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                line = Copy(_start, nl);
                _start = nl + 1;
                return true;
            }
            if (_eof)
            {
                if (_start < _end)
                {
                    line = Copy(_start, _end);
                    _start = _end;
                    return true;
                }
                line = default;
                return false;
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
        if (_end >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF) _start = 3;
    }

    private ReadOnlyMemory<byte> Copy(int from, int to)
    {
        if (to > from && _buffer[to - 1] == (byte)'\r') to--;
        return transient ? _buffer.AsMemory(from, to - from) : _buffer.AsSpan(from, to - from).ToArray();
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2); // a line longer than the buffer
        int read = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _eof = true;
        _end += read;
    }
}

/// <summary>Reports how many bytes of the underlying (possibly compressed) file have been read, for the progress bar.</summary>
internal sealed class CountingStream(Stream inner, IProgress<long>? progress) : ForwardReadStream(inner)
{
    public override int Read(byte[] buffer, int offset, int count)
    {
        int read = Inner.Read(buffer, offset, count);
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
