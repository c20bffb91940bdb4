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

    /// <summary>The largest file the several-member check reads again whole (a file of several members is rare).</summary>
    internal const long LargestRecheck = 512L * 1024 * 1024;

    /// <summary>
    /// Whether a file whose compressed bytes were read through <paramref name="tail"/> and decompressed to
    /// <paramref name="decompressed"/> bytes ended whole. A file of several members (<c>cat a.gz b.gz</c>, which gzip and
    /// .NET read as one) has only its last member's length at its end: it is checked again member by member, from
    /// <paramref name="reopen"/>, when given. An empty file is not whole: gzip writes at least 20 bytes, and an empty
    /// <c>.gz</c> in an export is most likely a download that failed.
    /// </summary>
    public static bool EndedWhole(TailStream tail, long decompressed, Func<Stream>? reopen)
    {
        if (tail.Total >= ShortestMember && tail.LastFour == (uint)decompressed) return true;
        if (reopen is null || tail.Total > LargestRecheck) return false;
        byte[] bytes;
        using (var again = reopen())
        {
            using var copy = new MemoryStream();
            again.CopyTo(copy);
            bytes = copy.ToArray();
        }
        return bytes.Length == tail.Total && WholeMembers(bytes, bytes.Length);
    }

    /// <summary>
    /// Whether <c>bytes[0..end)</c> is one or more whole members: some gzip header starts a last member whose output's
    /// length matches its trailer, and what is before it is whole members too.
    /// </summary>
    private static bool WholeMembers(byte[] bytes, int end)
    {
        if (end < ShortestMember) return false;
        uint stated = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(end - 4));
        for (int start = end - ShortestMember; start >= 0; start--)
        {
            if (bytes[start] != 0x1f || bytes[start + 1] != 0x8b || bytes[start + 2] != 8) continue; // gzip's magic and deflate
            if (DecompressedLength(bytes, start, end) is { } length && (uint)length == stated && (start == 0 || WholeMembers(bytes, start)))
                return true;
        }
        return false;
    }

    /// <summary>The length <c>bytes[start..end)</c> decompresses to, or null when it is not gzip.</summary>
    private static long? DecompressedLength(byte[] bytes, int start, int end)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(bytes, start, end - start, writable: false), CompressionMode.Decompress);
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
