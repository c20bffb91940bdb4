using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Pipeline.Enricher.Reading;

namespace Pipeline.Enricher.Tests.Reading;

public sealed class KinesisEventRecordTests
{
    /// <summary>
    /// The record's data is decoded by <see cref="KinesisEventRecord.DecodeInPlace"/>, which must say what the framework's
    /// in-place decoder says of every text: the same bytes, or the same refusal.
    /// </summary>
    [Fact]
    public void Decoding_in_place_gives_the_framework_decoders_verdict_and_bytes_on_every_text()
    {
        var random = new Random(20261203);
        var texts = new List<byte[]>
        {
            ""u8.ToArray(), " "u8.ToArray(), "===="u8.ToArray(), "Q"u8.ToArray(), "QQ"u8.ToArray(), "QQ="u8.ToArray(), "QQ=="u8.ToArray(),
            "QUI="u8.ToArray(), "QU=I"u8.ToArray(), "QQ==QQ=="u8.ToArray(), "QUJD QUJD"u8.ToArray(), "\tQ U J D\r\n"u8.ToArray(), "QUJ=D"u8.ToArray(),
        };
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n-_!\"\\";
        for (int i = 0; i < 3000; i++)
        {
            var raw = new byte[random.Next(0, 3000)];
            random.NextBytes(raw);
            var text = new StringBuilder(Convert.ToBase64String(raw));
            // Most texts are valid (the long ones cross the vectorised decoder's blocks); the rest are broken in a few places.
            for (int edits = random.Next(0, 4) == 0 ? 0 : random.Next(0, 4); edits > 0 && text.Length > 0; edits--)
            {
                int at = random.Next(text.Length);
                char c = alphabet[random.Next(alphabet.Length)];
                switch (random.Next(3))
                {
                    case 0: text[at] = c; break;
                    case 1: text.Insert(at, c); break;
                    default: text.Remove(at, 1); break;
                }
            }
            texts.Add(Encoding.ASCII.GetBytes(text.ToString()));
        }

        int valid = 0;
        foreach (var text in texts)
        {
            var expected = (byte[])text.Clone();
            bool expectedOk = Base64.DecodeFromUtf8InPlace(expected, out int expectedWritten) == OperationStatus.Done;
            var actual = (byte[])text.Clone();
            bool ok = KinesisEventRecord.DecodeInPlace(actual, out int written);

            Assert.True(expectedOk == ok, $"verdict differs on '{Encoding.ASCII.GetString(text)}'");
            if (!ok) continue;
            valid++;
            Assert.Equal(expected.AsSpan(0, expectedWritten).ToArray(), actual.AsSpan(0, written).ToArray());
        }
        Assert.InRange(valid, texts.Count / 4, texts.Count - 100); // both kinds were tried, many of each
    }
}
