using Pipeline.Enricher.Reading;

namespace Pipeline.Enricher.Tests.Reading;

/// <summary>The readers' pooled buffer: the length asked for, the bytes kept as it grows, large ones made to measure.</summary>
public sealed class ReadBufferTests
{
    [Fact]
    public void A_buffer_is_the_length_asked_for_and_keeps_its_bytes_as_it_grows()
    {
        using var buffer = new ReadBuffer(100);
        Assert.Equal(100, buffer.Length);
        Assert.True(buffer.Array.Length >= 100);
        for (int i = 0; i < 100; i++) buffer.Array[i] = (byte)i;

        buffer.Grow(5_000);
        Assert.Equal(5_000, buffer.Length);
        Assert.True(buffer.Array.Length >= 5_000);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (byte)i), buffer.Array.Take(100));

        buffer.Grow(10); // never shrinks
        Assert.Equal(5_000, buffer.Length);
    }

    [Fact]
    public void A_buffer_past_the_pooled_size_is_made_to_measure_not_rounded_up()
    {
        // The pool would hand out 2 MiB for this, and 8 MiB for a reader at the 4 MiB record limit.
        using var buffer = new ReadBuffer(ReadBuffer.PooledUpTo + 3);
        Assert.Equal(ReadBuffer.PooledUpTo + 3, buffer.Array.Length);

        buffer.Grow(RecordReader.MaxRecordBytes + 2);
        Assert.Equal(RecordReader.MaxRecordBytes + 2, buffer.Array.Length);
    }

    [Fact]
    public void A_buffer_given_back_cannot_be_read_and_is_given_back_once()
    {
        var buffer = new ReadBuffer(64 * 1024);
        buffer.Dispose();
        buffer.Dispose(); // a second return would put one array in the pool twice: two readers would share it
        Assert.Throws<ObjectDisposedException>(() => buffer.Array);
    }
}
