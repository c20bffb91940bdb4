using System.Net;
using System.Net.Sockets;

namespace Pipeline.Enricher.Muting;

/// <summary>
/// IP addresses and CIDR blocks the way event-ruler reads them: only text shaped like an address is
/// parsed (four dotted decimals, or hex digits and colons); an IPv4-mapped IPv6 address counts as IPv4.
/// </summary>
internal static class IpAddressText
{
    /// <summary>The address's bytes (4 or 16), or null when the text is not an IP address.</summary>
    public static byte[]? TryParse(string text)
    {
        if (LooksLikeIPv4(text))
            return TryParseIPv4(text);
        if (!LooksLikeIPv6(text) || !IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            return null;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return address.GetAddressBytes();
    }

    /// <summary>Parses "10.0.0.0/24" into its lowest and highest address; throws with event-ruler's reason.</summary>
    public static (byte[] Low, byte[] High) ParseCidr(string cidr)
    {
        var parts = cidr.Split('/');
        if (parts.Length != 2 || parts[1].Length == 0)
            throw new PatternException("Malformed CIDR, one '/' required");
        if (!int.TryParse(parts[1], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var maskBits))
            throw new PatternException("Malformed CIDR, mask bits must be an integer");
        if (maskBits < 0)
            throw new PatternException("Malformed CIDR, mask bits must not be negative");
        if (!LooksLikeIPv4(parts[0]) && !LooksLikeIPv6(parts[0]))
            throw new PatternException("Nonstandard IP address: " + parts[0]);
        var address = TryParse(parts[0]) ?? throw new PatternException("Invalid IP address: " + parts[0]);
        // event-ruler's own limits: a single address is written as an exact value, not as /32 or /128.
        if (address.Length == 4 && maskBits > 31)
            throw new PatternException("IPv4 mask bits must be < 32");
        if (address.Length == 16 && maskBits > 127)
            throw new PatternException("IPv6 mask bits must be < 128");

        var low = (byte[])address.Clone();
        var high = (byte[])address.Clone();
        for (var bit = maskBits; bit < address.Length * 8; bit++)
        {
            var mask = (byte)(0x80 >> (bit % 8));
            low[bit / 8] &= (byte)~mask;
            high[bit / 8] |= mask;
        }
        return (low, high);
    }

    private static bool LooksLikeIPv4(string text)
    {
        var dots = 0;
        var digitsInPart = 0;
        foreach (var c in text)
        {
            if (c == '.')
            {
                if (digitsInPart == 0)
                    return false;
                dots++;
                digitsInPart = 0;
            }
            else if (char.IsAsciiDigit(c))
                digitsInPart++;
            else
                return false;
        }
        return dots == 3 && digitsInPart > 0;
    }

    private static bool LooksLikeIPv6(string text) =>
        text.Contains(':', StringComparison.Ordinal) && text.All(c => c == ':' || char.IsAsciiHexDigit(c));

    private static byte[]? TryParseIPv4(string text)
    {
        var bytes = new byte[4];
        var i = 0;
        foreach (var part in text.Split('.'))
        {
            // Leading zeros could mean octal to some parsers: such text is not treated as an address.
            if (part.Length > 3 || (part.Length > 1 && part[0] == '0'))
                return null;
            var value = int.Parse(part, System.Globalization.CultureInfo.InvariantCulture);
            if (value > 255)
                return null;
            bytes[i++] = (byte)value;
        }
        return bytes;
    }
}
