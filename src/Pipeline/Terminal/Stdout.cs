using System.Text;

namespace Pipeline.Cli.Terminal;

/// <summary>
/// Standard output for a command that prints many notices: a buffered writer that writes only when flushed (or full).
/// <c>Console.Out</c> writes through every 256 characters, about ten calls for one digest (docs/performance.md, "Speed,
/// sixth session"). The caller flushes where a reader should see what was printed.
/// </summary>
internal static class Stdout
{
    public static StreamWriter OpenBuffered() =>
        new(Console.OpenStandardOutput(), WithoutPreamble(Console.OutputEncoding), 1 << 16) { AutoFlush = false };

    /// <summary>
    /// The console's encoding without a byte order mark: <c>Console.Out</c> never writes one, but a writer of our own would
    /// put it before the first JSON line where the console reports UTF-8 with one (Windows, code page 65001).
    /// </summary>
    internal static Encoding WithoutPreamble(Encoding encoding) =>
        encoding.GetPreamble().Length == 0 ? encoding
        : encoding is UTF8Encoding ? new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)
        : encoding is UnicodeEncoding unicode ? new UnicodeEncoding(bigEndian: unicode.CodePage == 1201, byteOrderMark: false)
        : encoding;
}
