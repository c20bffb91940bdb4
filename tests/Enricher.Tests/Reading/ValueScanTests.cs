using System.Text;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Reading;

/// <summary>
/// The container reader finds where each value ends 64 bytes at a time (<see cref="StructureBlock"/>), falling back to a
/// token at a time around escapes. Whatever the bytes, well-formed or not, and however the stream hands them over, it
/// must find the end a byte-at-a-time reading finds: otherwise a record would be cut in two or glued to the next.
/// </summary>
public sealed class ValueScanTests
{
    /// <summary>
    /// The meaning of a value's end, one byte at a time: strings (with their escapes) hide brackets and quotes; outside
    /// them only brackets count. The end (exclusive) of the value that starts at 0, or -1 when the bytes end first.
    /// </summary>
    private static int ReferenceEnd(ReadOnlySpan<byte> bytes)
    {
        int depth = 0;
        bool inString = false, escaped = false;
        for (int i = 0; i < bytes.Length; i++)
        {
            byte c = bytes[i];
            if (escaped) escaped = false;
            else if (inString)
            {
                if (c == '\\') escaped = true;
                else if (c == '"')
                {
                    inString = false;
                    if (depth == 0) return i + 1;
                }
            }
            else if (c == '"') inString = true;
            else if (c is (byte)'{' or (byte)'[') depth++;
            else if (c is (byte)'}' or (byte)']' && --depth == 0) return i + 1;
        }
        return -1;
    }

    /// <summary>The scan over the whole of <paramref name="bytes"/> at once, as the reader starts it on a value's first byte.</summary>
    private static int ScanEnd(byte[] bytes) => new JsonValueStreamReader.Scan(bytes[0]).Advance(bytes, 1, atEnd: true);

    /// <summary>The scan fed the bytes in pieces ending at <paramref name="cuts"/>, as buffer refills hand them over.</summary>
    private static int ScanEndInPieces(byte[] bytes, IEnumerable<int> cuts)
    {
        var scan = new JsonValueStreamReader.Scan(bytes[0]);
        int pos = 1;
        foreach (int cut in cuts.Where(c => c > pos).Append(bytes.Length).Distinct())
        {
            int end = scan.Advance(bytes.AsSpan(0, cut), pos, atEnd: cut == bytes.Length);
            if (end >= 0) return end;
            pos = cut;
        }
        return -1;
    }

    /// <summary>
    /// Bytes heavy in what the scan looks at: quotes, brackets, filler and, one byte in <paramref name="backslashEvery"/>
    /// (never when 0), a backslash. A block with a backslash is read a token at a time, so only the cases with few or
    /// none test the reading a block at a time.
    /// </summary>
    private static byte[] Noise(Random random, int length, int backslashEvery, bool container = false)
    {
        ReadOnlySpan<byte> alphabet = "\"\"{}[]{}[],:ab 0é"u8;
        var bytes = new byte[length];
        bytes[0] = random.Next(container ? 2 : 3) switch { 0 => (byte)'{', 1 => (byte)'[', _ => (byte)'"' };
        for (int i = 1; i < length; i++)
        {
            if (backslashEvery > 0 && random.Next(backslashEvery) == 0) bytes[i] = (byte)'\\';
            else bytes[i] = random.Next(4) == 0 ? alphabet[random.Next(alphabet.Length)] : (byte)'x';
        }
        return bytes;
    }

    private static void AssertSameEnd(byte[] bytes, Random random, string what)
    {
        int expected = ReferenceEnd(bytes);
        Assert.True(expected == ScanEnd(bytes), $"{what}: {Encoding.UTF8.GetString(bytes)}");
        var cuts = Enumerable.Range(0, random.Next(1, 6)).Select(_ => random.Next(1, bytes.Length)).Order().ToList();
        Assert.True(expected == ScanEndInPieces(bytes, cuts), $"{what}, cut at {string.Join(',', cuts)}: {Encoding.UTF8.GetString(bytes)}");
    }

    [Fact]
    public void This_machine_reads_a_block_at_a_time()
    {
        // Otherwise every test here would pass on the token-at-a-time reading alone (x64 and Arm64 both compare 16 bytes at once).
        Assert.True(StructureBlock.IsAccelerated, "Vector128 is not accelerated here: the block reading is not tested");
    }

    [Fact]
    public void The_end_of_any_bytes_is_where_a_byte_at_a_time_reading_finds_it_whole_or_in_pieces()
    {
        var random = new Random(20261204);
        for (int n = 0; n < 20_000; n++)
            AssertSameEnd(Noise(random, random.Next(2, 600), backslashEvery: 40), random, $"case {n}");
    }

    [Fact]
    public void Containers_with_few_or_no_escapes_end_where_a_byte_at_a_time_reading_ends_them()
    {
        // Whole blocks with no backslash, one after another: the string state and the depth carried from block to block.
        var random = new Random(1204);
        int pastTwoBlocks = 0;
        for (int n = 0; n < 20_000; n++)
        {
            var bytes = Noise(random, random.Next(65, 1200), backslashEvery: n % 2 == 0 ? 0 : 400, container: true);
            AssertSameEnd(bytes, random, $"case {n}");
            if (ReferenceEnd(bytes) > 1 + 2 * StructureBlock.Size) pastTwoBlocks++;
        }
        Assert.True(pastTwoBlocks > 2_000, $"{pastTwoBlocks} cases ended past two whole blocks");
    }

    [Fact]
    public void A_value_ending_or_a_string_turning_at_a_block_edge_ends_where_it_should()
    {
        // The scan starts at byte 1 (the value's first byte is its opening bracket), so its blocks are bytes 1–64, 65–128 …
        foreach (int edge in new[] { 64, 65, 128, 129 })
        {
            for (int shift = -2; shift <= 2; shift++)
            {
                int last = edge + shift; // where the value's closing bracket goes
                var ends = new byte[last + 1 + 20];
                Array.Fill(ends, (byte)'x');
                ends[0] = (byte)'[';
                ends[last] = (byte)']';
                Assert.Equal(last + 1, ScanEnd(ends));

                // A string whose closing quote sits at the same place hides a bracket before it; the value ends after it.
                var turns = (byte[])ends.Clone();
                turns[1] = (byte)'"';
                turns[last - 1] = (byte)']';
                turns[last] = (byte)'"';
                turns[last + 1] = (byte)']';
                Assert.Equal(last + 2, ScanEnd(turns));

                // A backslash as the last byte of a piece escapes the first byte of the next.
                var escaped = (byte[])turns.Clone();
                escaped[last - 1] = (byte)'\\';
                Assert.Equal(ReferenceEnd(escaped), ScanEndInPieces(escaped, [last]));
                Assert.Equal(ReferenceEnd(escaped), ScanEnd(escaped));

                // Pieces cut on the block edges themselves.
                Assert.Equal(last + 2, ScanEndInPieces(turns, [edge, edge + 1]));
            }
        }
    }

    [Fact]
    public void Brackets_and_quotes_inside_strings_and_escapes_at_block_edges_do_not_end_a_record()
    {
        // A value whose string holds brackets and escaped quotes, slid across the block edges one byte at a time.
        for (int pad = 0; pad < 140; pad++)
        {
            var text = "{\"a\":\"" + new string('x', pad) + "}]\\\"{\\\\\",\"b\":[\"]\",{\"c\":\"\\\\\\\"}\"}]}";
            var bytes = Encoding.UTF8.GetBytes(text + "  {\"next\":1}");
            Assert.Equal(ReferenceEnd(bytes), ScanEnd(bytes));
            Assert.Equal(Encoding.UTF8.GetByteCount(text), ScanEnd(bytes));
        }
    }

    [Fact]
    public void A_block_classifies_every_byte_value_in_every_place_16_or_32_at_a_time()
    {
        var bytes = new byte[StructureBlock.Size];
        for (int place = 0; place < StructureBlock.Size; place++)
        {
            for (int value = 0; value < 256; value++)
            {
                Array.Fill(bytes, (byte)'x');
                bytes[place] = (byte)value;
                ulong bit = 1UL << place;
                var expected = new StructureBlock(
                    value == '"' ? bit : 0,
                    value == '\\' ? bit : 0,
                    value is '{' or '[' ? bit : 0,
                    value is '}' or ']' ? bit : 0);
                Assert.Equal(expected, StructureBlock.Of(bytes, wide: true));
                Assert.Equal(expected, StructureBlock.Of(bytes, wide: false));
            }
        }
        // And bytes of every kind side by side.
        var random = new Random(7);
        for (int n = 0; n < 2_000; n++)
        {
            random.NextBytes(bytes);
            ulong quotes = 0, backslashes = 0, opens = 0, closes = 0;
            for (int i = 0; i < bytes.Length; i++)
            {
                ulong bit = 1UL << i;
                if (bytes[i] == '"') quotes |= bit;
                if (bytes[i] == '\\') backslashes |= bit;
                if (bytes[i] is (byte)'{' or (byte)'[') opens |= bit;
                if (bytes[i] is (byte)'}' or (byte)']') closes |= bit;
            }
            var expected = new StructureBlock(quotes, backslashes, opens, closes);
            Assert.Equal(expected, StructureBlock.Of(bytes, wide: true));
            Assert.Equal(expected, StructureBlock.Of(bytes, wide: false));
        }
    }

    [Fact]
    public void Prefix_xor_gives_each_bit_the_parity_of_the_bits_up_to_it()
    {
        var random = new Random(11);
        for (int n = 0; n < 1_000; n++)
        {
            ulong bits = (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
            ulong expected = 0, parity = 0;
            for (int i = 0; i < 64; i++)
            {
                parity ^= (bits >> i) & 1;
                expected |= parity << i;
            }
            Assert.Equal(expected, StructureBlock.PrefixXor(bits));
        }
    }

    /// <summary>A stream that hands its bytes over a few at a time, as a pipe or a slow download does.</summary>
    private sealed class TricklingStream(byte[] bytes, Random random) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, random.Next(1, 200)));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, random.Next(1, 200))]);
    }

    [Fact]
    public void A_CloudTrail_file_of_the_demo_events_read_in_trickles_gives_each_record_back_whole()
    {
        var demo = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl");
        var lines = File.ReadAllLines(demo).Select(l => l.Trim()).Where(l => l.Length > 0 && IsJson(l)).ToList();
        Assert.True(lines.Count > 100, $"{lines.Count} demo lines");
        var file = Encoding.UTF8.GetBytes("{\"Records\":[" + string.Join(",\n", lines) + "]}");
        var random = new Random(3);
        for (int round = 0; round < 3; round++)
        {
            List<RawRecord> records = [.. RecordReader.ReadStream(new TricklingStream(file, random), "corpus.json", transient: false)];
            Assert.Equal(lines, records.Select(r => r.ReadError ?? Encoding.UTF8.GetString(r.Data.Span)));
        }
    }

    private static bool IsJson(string line)
    {
        try
        {
            System.Text.Json.JsonDocument.Parse(line).Dispose();
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
