using System.Text;
using Pipeline.Cli.Terminal;

namespace Pipeline.Tests.Terminal;

public sealed class StdoutTests
{
    [Fact]
    public void The_buffered_stdout_never_starts_with_a_byte_order_mark()
    {
        // What Console.OutputEncoding reports on Windows with code page 65001, and the UTF-16 encodings: each has a preamble.
        foreach (var console in new Encoding[] { Encoding.UTF8, Encoding.Unicode, Encoding.BigEndianUnicode })
        {
            var encoding = Stdout.WithoutPreamble(console);
            Assert.Empty(encoding.GetPreamble());
            Assert.Equal(console.GetBytes("{\"type\":\"digest\"} é"), encoding.GetBytes("{\"type\":\"digest\"} é"));

            using var bytes = new MemoryStream();
            using (var writer = new StreamWriter(bytes, encoding, 1 << 16, leaveOpen: true)) writer.Write("{");
            Assert.Equal(console.GetBytes("{"), bytes.ToArray());
        }
        var plain = new UTF8Encoding(false);
        Assert.Same(plain, Stdout.WithoutPreamble(plain));
    }
}
