using System.IO.Hashing;
using System.Text;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// Shares the strings of JSON values that repeat from event to event (region, event name and source, error
/// code, identity type, user agent …) so that reading them does not allocate a new string per event.
/// <para>
/// A fixed number of slots, each holding the last string whose UTF-8 bytes hashed to it: an attacker who
/// sends many distinct values only evicts entries, the cache never grows. Only short ASCII values are kept.
/// Slots are replaced with single reference writes, so concurrent readers need no lock: at worst a value is
/// allocated again, which is what happens without the cache.
/// </para>
/// </summary>
internal sealed class StringCache
{
    /// <summary>Names, regions, agents: values longer than this are rarely repeated, and comparing them costs more than it saves.</summary>
    private const int DefaultMaxLength = 256;

    private readonly string?[] _slots;
    private readonly int _mask;
    private readonly int _maxLength;

    /// <param name="slots">A power of two.</param>
    /// <param name="maxLength">Longer values are decoded and never kept.</param>
    public StringCache(int slots = 4096, int maxLength = DefaultMaxLength)
    {
        if (slots <= 0 || (slots & (slots - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(slots), "must be a power of two");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        _slots = new string?[slots];
        _mask = slots - 1;
        _maxLength = maxLength;
    }

    /// <summary>The cache the parser uses (4,096 slots: at most ~2.5 MB, usually far less).</summary>
    public static StringCache Shared { get; } = new();

    /// <summary>
    /// Error messages (<c>errorMessage</c>): long (about 500 characters on average in the shared corpus) and repeated by
    /// every retry of a refused call, while a digest shows only the first of each failing call's. Decoded each time, they
    /// were a twentieth of what a replay allocated (docs/performance.md, "Speed, sixth session"). 512 slots of at most
    /// 2,048 characters: at most ~2 MB.
    /// </summary>
    public static StringCache Messages { get; } = new(slots: 512, maxLength: 2048);

    /// <summary>The string of <paramref name="utf8"/>, shared with earlier calls for the same bytes when possible.</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > _maxLength) return Encoding.UTF8.GetString(utf8);
        ref var slot = ref _slots[(int)XxHash3.HashToUInt64(utf8) & _mask];
        var cached = slot;
        // Ascii.Equals is false for any non-ASCII byte, and such values are never stored: no decoding subtleties.
        if (cached is not null && System.Text.Ascii.Equals(utf8, cached)) return cached;
        var text = Encoding.UTF8.GetString(utf8);
        if (System.Text.Ascii.IsValid(utf8)) slot = text;
        return text;
    }

    /// <summary>The string of <paramref name="chars"/>, shared with earlier calls for the same characters when possible.</summary>
    public string Get(ReadOnlySpan<char> chars)
    {
        if (chars.Length > _maxLength || !System.Text.Ascii.IsValid(chars)) return chars.ToString();
        // Narrowed to the UTF-8 (= ASCII) bytes so that bytes and characters of the same text share a slot.
        Span<byte> utf8 = stackalloc byte[chars.Length];
        System.Text.Ascii.FromUtf16(chars, utf8, out _);
        return Get(utf8);
    }

}
