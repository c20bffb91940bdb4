using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace Pipeline.Aggregator.Notices;

/// <summary>The one way a notice's id is made: the same text always hashes to the same id, on every host and retry.</summary>
internal static class NoticeIds
{
    public static string Of(string text) => Of(text.AsSpan());

    /// <summary>
    /// The id of <paramref name="text"/>: the hexadecimal of the XxHash128 of its UTF-8. The bytes are made on the stack
    /// (ids are made per alert and per digest), the hash too; only the id itself is a new string.
    /// </summary>
    public static string Of(ReadOnlySpan<char> text)
    {
        const int OnStack = 512;
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = max > OnStack ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> utf8 = rented ?? stackalloc byte[OnStack];
        try
        {
            int length = Encoding.UTF8.GetBytes(text, utf8);
            Span<byte> hash = stackalloc byte[16];
            XxHash128.Hash(utf8[..length], hash);
            return Convert.ToHexStringLower(hash);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The id of the texts given, joined by <c>|</c>, without making the joined text.</summary>
    public static string Of(string first, string second, string? third = null)
    {
        Span<char> text = stackalloc char[256];
        bool fits = third is null ? text.TryWrite($"{first}|{second}", out int length) : text.TryWrite($"{first}|{second}|{third}", out length);
        if (fits) return Of(text[..length]);
        return Of(third is null ? $"{first}|{second}" : $"{first}|{second}|{third}");
    }
}
