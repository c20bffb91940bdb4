using System.Buffers.Binary;
using System.IO.Compression;

namespace Pipeline.Enricher.Reading;

/// <summary>
/// Whether a gzip file ended where its own trailer says, rather than being cut short. .NET's <see cref="GZipStream"/>
/// reports a cut-off file as an ordinary end: it throws for damaged bytes, but a file that simply stops (a partial S3
/// download, a copy killed half-way) decompresses to what was there, with no error. A file cut between two records would
/// then lose the rest without a word. The check: a gzip member ends with its output's length (mod 2^32) in its last 4
/// bytes, so a whole file's last 4 bytes match the length its last member decompressed to.
/// </summary>
internal static class GzipEnding
{
    /// <summary>The shortest gzip member: a 10-byte header, an empty deflate block, the 8-byte trailer.</summary>
    private const int ShortestMember = 20;

    /// <summary>
    /// Null when a file whose compressed bytes were read through <paramref name="tail"/> and decompressed to
    /// <paramref name="decompressed"/> bytes ended whole; else why not, for its rejected record. A file of several members
    /// (<c>cat a.gz b.gz</c>, which gzip and .NET read as one) has only its last member's length at its end: it is checked
    /// again member by member from <paramref name="again"/> (the same file, seekable, read again from its end), which costs
    /// a second decompression of such files only. An empty file is not whole: gzip writes at least 20 bytes, and an empty
    /// <c>.gz</c> in an export is most likely a download that failed.
    /// </summary>
    public static string? Problem(TailStream tail, long decompressed, Stream? again)
    {
        const string cut = "gzip file cut short: it ends after {0} bytes without the end gzip writes (a partial download?); the records before the cut were read";
        if (tail.Total >= ShortestMember && tail.LastFour == (uint)decompressed) return null;
        if (tail.Total < ShortestMember || again is null) return string.Format(System.Globalization.CultureInfo.InvariantCulture, cut, tail.Total);
        try
        {
            if (again.Length == tail.Total && WholeMembers(again)) return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"gzip file's end could not be checked again ({e.Message.TrimEnd('.')}): it may be cut short; the records before its end were read";
        }
        return string.Format(System.Globalization.CultureInfo.InvariantCulture, cut, tail.Total);
    }

    /// <summary>
    /// Whether <paramref name="file"/> is whole members, found from its end: the last member starts at the latest gzip
    /// header (<c>1f 8b 08</c>) from which the rest decompresses to the length its trailer states; then the one before it,
    /// up to the start. A loop, not a recursion: a file of many thousands of members must not run out of stack.
    /// </summary>
    private static bool WholeMembers(Stream file)
    {
        var starts = HeaderPositions(file);
        long end = file.Length;
        int candidate = starts.Count - 1;
        while (end > 0)
        {
            if (end < ShortestMember) return false;
            uint stated = ReadUInt32At(file, end - 4);
            while (candidate >= 0 && (starts[candidate] > end - ShortestMember || !Decompresses(starts[candidate], end, stated))) candidate--;
            if (candidate < 0) return false;
            end = starts[candidate--];
        }
        return true;

        bool Decompresses(long start, long stop, uint length) => DecompressedLength(file, start, stop) is { } actual && (uint)actual == length;
    }

    /// <summary>Every position of the bytes <c>1f 8b 08</c> (gzip's magic and deflate) in the file, in order.</summary>
    private static List<long> HeaderPositions(Stream file)
    {
        var positions = new List<long>();
        var buffer = new byte[64 * 1024];
        file.Position = 0;
        long offset = 0; // the file position of buffer[0]
        int kept = 0;    // bytes carried over from the previous read (a header may straddle two reads)
        int read;
        while ((read = file.Read(buffer, kept, buffer.Length - kept)) > 0)
        {
            int filled = kept + read;
            var span = buffer.AsSpan(0, filled);
            for (int i = span.IndexOf((byte)0x1f); i >= 0 && i + 2 < filled; )
            {
                if (span[i + 1] == 0x8b && span[i + 2] == 8) positions.Add(offset + i);
                int next = span[(i + 1)..].IndexOf((byte)0x1f);
                i = next < 0 ? -1 : i + 1 + next;
            }
            kept = Math.Min(2, filled);
            span[(filled - kept)..].CopyTo(buffer);
            offset += filled - kept;
        }
        return positions;
    }

    private static uint ReadUInt32At(Stream file, long position)
    {
        Span<byte> four = stackalloc byte[4];
        file.Position = position;
        file.ReadExactly(four);
        return BinaryPrimitives.ReadUInt32LittleEndian(four);
    }

    /// <summary>The length the file's bytes from <paramref name="start"/> to <paramref name="end"/> decompress to, or null when they are not gzip.</summary>
    private static long? DecompressedLength(Stream file, long start, long end)
    {
        try
        {
            file.Position = start;
            using var gzip = new GZipStream(new BoundedStream(file, end - start), CompressionMode.Decompress);
            var buffer = new byte[16 * 1024];
            long length = 0;
            int read;
            while ((read = gzip.Read(buffer, 0, buffer.Length)) > 0) length += read;
            return length;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The next <c>length</c> bytes of a stream, as a stream of their own (left open).</summary>
    private sealed class BoundedStream(Stream inner, long length) : ForwardReadStream(inner)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = Inner.Read(buffer, offset, (int)Math.Min(count, length - BytesRead));
            BytesRead += read;
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            // The file is the caller's: not closed with this view of it.
        }
    }

    /// <summary>Passes a compressed stream through, keeping how many bytes went by and the last 4 of them.</summary>
    internal sealed class TailStream(Stream inner) : ForwardReadStream(inner)
    {
        private uint _lastFour;

        public long Total => BytesRead;

        /// <summary>The last 4 bytes read, little-endian (a gzip trailer's length field); meaningful from 4 bytes on.</summary>
        public uint LastFour => _lastFour;

        public override int Read(byte[] buffer, int offset, int count)
        {
            int read = Inner.Read(buffer, offset, count);
            // Shifted in a byte at a time from the end of what was read: a read of fewer than 4 bytes keeps the older ones.
            for (int i = Math.Max(offset, offset + read - 4); i < offset + read; i++)
                _lastFour = (_lastFour >> 8) | ((uint)buffer[i] << 24);
            BytesRead += read;
            return read;
        }
    }
}
