using System.Text;

namespace Pipeline.Aggregator.Rendering;

/// <summary>
/// A write-only stream that hands the UTF-8 written to it on to a <see cref="TextWriter"/> as characters, through one
/// buffer of its own: the JSON writers write bytes, while a host prints through a text writer (stdout, a test's
/// <see cref="StringWriter"/>). A sequence cut between two writes is completed by the next one.
/// </summary>
internal sealed class Utf8ToTextStream(TextWriter output) : Stream
{
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetDecoder();
    private readonly char[] _chars = new char[8192];

    public TextWriter Output { get; } = output;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            _decoder.Convert(buffer, _chars, flush: false, out int bytesUsed, out int charsUsed, out _);
            Output.Write(_chars, 0, charsUsed);
            buffer = buffer[bytesUsed..];
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>
    /// Nothing to do: every byte written is in the writer already (a character cut between two writes waits in the
    /// decoder for its end). The writer's own flush is its owner's call: `digest` flushes stdout once per batch, and a
    /// flush here would bring back one write call per line.
    /// </summary>
    public override void Flush()
    {
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
