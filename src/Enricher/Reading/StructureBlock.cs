using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Pipeline.Enricher.Reading;

/// <summary>
/// Where the JSON structure is in 64 bytes, one bit per byte (bit i for byte i): quotes, backslashes, opening and
/// closing brackets. What <see cref="JsonValueStreamReader.Scan"/> needs to find a value's end a block at a time.
/// </summary>
internal readonly record struct StructureBlock(ulong Quotes, ulong Backslashes, ulong Opens, ulong Closes)
{
    public const int Size = 64;

    /// <summary>Whether this machine compares 16 or 32 bytes at once; without it the token-at-a-time reading is faster.</summary>
    public static bool IsAccelerated => Vector128.IsHardwareAccelerated;

    /// <summary>Classifies the first <see cref="Size"/> bytes of <paramref name="bytes"/>.</summary>
    public static StructureBlock Of(ReadOnlySpan<byte> bytes) => Of(bytes, wide: Vector256.IsHardwareAccelerated);

    /// <summary><see cref="Of(ReadOnlySpan{byte})"/>, 32 bytes at a time when <paramref name="wide"/>, else 16 (tests run both).</summary>
    internal static StructureBlock Of(ReadOnlySpan<byte> bytes, bool wide)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes.Length, Size, nameof(bytes));
        ref byte start = ref MemoryMarshal.GetReference(bytes);
        var block = default(StructureBlock);
        if (wide)
        {
            for (int offset = 0; offset < Size; offset += 32)
                block = block.OrAt(Classify(Vector256.LoadUnsafe(ref start, (nuint)offset)), offset);
        }
        else
        {
            for (int offset = 0; offset < Size; offset += 16)
                block = block.OrAt(Classify(Vector128.LoadUnsafe(ref start, (nuint)offset)), offset);
        }
        return block;
    }

    /// <summary>This block with the bits of <paramref name="part"/> (16 or 32 bytes' worth) or-ed in at <paramref name="offset"/>.</summary>
    private StructureBlock OrAt(StructureBlock part, int offset) => new(
        Quotes | part.Quotes << offset, Backslashes | part.Backslashes << offset, Opens | part.Opens << offset, Closes | part.Closes << offset);

    /// <summary>
    /// Bit i of the result is the parity of the bits 0 to i of <paramref name="bits"/>: with the quotes of a block, which
    /// bytes are inside a string (when the block starts outside one).
    /// </summary>
    public static ulong PrefixXor(ulong bits)
    {
        bits ^= bits << 1;
        bits ^= bits << 2;
        bits ^= bits << 4;
        bits ^= bits << 8;
        bits ^= bits << 16;
        bits ^= bits << 32;
        return bits;
    }

    // '{' (0x7B) and '[' (0x5B) differ in one bit, 0x20, and so do '}' and ']': setting it matches both with one compare.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static StructureBlock Classify(Vector256<byte> v)
    {
        var folded = v | Vector256.Create((byte)0x20);
        return new(
            Vector256.Equals(v, Vector256.Create((byte)'"')).ExtractMostSignificantBits(),
            Vector256.Equals(v, Vector256.Create((byte)'\\')).ExtractMostSignificantBits(),
            Vector256.Equals(folded, Vector256.Create((byte)'{')).ExtractMostSignificantBits(),
            Vector256.Equals(folded, Vector256.Create((byte)'}')).ExtractMostSignificantBits());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static StructureBlock Classify(Vector128<byte> v)
    {
        var folded = v | Vector128.Create((byte)0x20);
        return new(
            Vector128.Equals(v, Vector128.Create((byte)'"')).ExtractMostSignificantBits(),
            Vector128.Equals(v, Vector128.Create((byte)'\\')).ExtractMostSignificantBits(),
            Vector128.Equals(folded, Vector128.Create((byte)'{')).ExtractMostSignificantBits(),
            Vector128.Equals(folded, Vector128.Create((byte)'}')).ExtractMostSignificantBits());
    }
}
