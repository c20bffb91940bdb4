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
    /// <summary>
    /// Larger buffers (a record of megabytes) are made to measure and left to the GC: the pool rounds up to a power of two,
    /// which would double what a reader at the 4 MiB record limit holds, and would keep every size it grew through.
    /// </summary>
    internal const int PooledUpTo = 1024 * 1024;

    private byte[]? _array = Take(length);

    /// <summary>The bytes; only the first <see cref="Length"/> are the buffer's.</summary>
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(ReadBuffer));

    public int Length { get; private set; } = length;

    /// <summary>Makes the buffer <paramref name="length"/> bytes long, keeping its bytes.</summary>
    public void Grow(int length)
    {
        if (length <= Length) return;
        var array = Array;
        if (length > array.Length)
        {
            var bigger = Take(length);
            Buffer.BlockCopy(array, 0, bigger, 0, Length);
            Give(array);
            _array = bigger;
        }
        Length = length;
    }

    /// <summary>Gives the memory back; nothing read from the buffer may be used after this (a transient reader's records included).</summary>
    public void Dispose()
    {
        if (_array is { } array) Give(array);
        _array = null;
    }

    private static byte[] Take(int length) =>
        length <= PooledUpTo ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);

    private static void Give(byte[] array)
    {
        // Only what the pool handed out: one of ours made to measure is longer than any it rents to us.
        if (array.Length <= PooledUpTo) ArrayPool<byte>.Shared.Return(array);
    }
}
