using System.Buffers;

namespace Pipeline.Enricher.Reading;

/// <summary>
/// A reader's buffer, <see cref="Length"/> bytes, rented from the shared pool and given back when the reader is done
/// with its stream (<see cref="Dispose"/>).
/// </summary>
/// <remarks>
/// A replay of CloudTrail's S3 files opens a stream per file, and an organisation's trail writes files of a few records
/// each by the hundred thousand a day. Two new 64 KiB buffers a file, cleared by the runtime and faulted in by the
/// kernel, were most of what reading a small file cost. The pool hands the same memory back, uncleared: a reader only
/// ever reads bytes it has written itself. The rented array may be longer than asked; <see cref="Length"/> is the size
/// the reader asked for and keeps to, so the limits it enforces stay exactly the same.
/// </remarks>
internal sealed class ReadBuffer(int length) : IDisposable
{
    private byte[]? _array = ArrayPool<byte>.Shared.Rent(length);

    /// <summary>The bytes; only the first <see cref="Length"/> are the buffer's.</summary>
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(ReadBuffer));

    public int Length { get; private set; } = length;

    /// <summary>Makes the buffer <paramref name="length"/> bytes long, keeping its bytes.</summary>
    public void Grow(int length)
    {
        if (length <= Length) return;
        var bigger = ArrayPool<byte>.Shared.Rent(length);
        Buffer.BlockCopy(Array, 0, bigger, 0, Length);
        ArrayPool<byte>.Shared.Return(Array);
        _array = bigger;
        Length = length;
    }

    /// <summary>Gives the memory back; nothing read from the buffer may be used after this (a transient reader's records included).</summary>
    public void Dispose()
    {
        if (_array is { } array) ArrayPool<byte>.Shared.Return(array);
        _array = null;
    }
}
