using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Parsing;

/// <summary>
/// The parser's own JSON reader (<see cref="JsonCursor"/>) against the framework's (<see cref="Utf8JsonReader"/> with the
/// parser's options): on every input both accept it or both refuse it, and on what they accept both give the same tokens
/// at the same places, whether the walk reads every token or skips values on the way. A reader that accepted what
/// the framework refuses would let a record through that a DOM parse (the mute rules' envelope, any other consumer)
/// reads differently or not at all.
/// </summary>
public sealed class JsonCursorTests
{
    [Fact]
    public void Every_demo_event_gives_the_framework_readers_tokens() => AssertSameOnAll(FuzzSeeds.Demo);

    [SkippableFact]
    public void Every_corpus_event_gives_the_framework_readers_tokens() => AssertSameOnAll(FuzzSeeds.Corpus);

    [SkippableFact]
    public void Mutated_events_get_the_framework_readers_verdict_and_tokens()
    {
        var seeds = FuzzSeeds.Corpus.Concat(FuzzSeeds.Demo).ToList();
        FuzzRunner.Run("json-cursor", 4000, rng => Mutated(new Mutator(rng), seeds), input => AssertSame(input.Bytes, skipSeed: input.Bytes.Length));
    }

    [Fact]
    public void Byte_mutations_of_the_demo_get_the_framework_readers_verdict()
    {
        var seeds = FuzzSeeds.Demo;
        FuzzRunner.Run("json-cursor-bytes", 3000, rng =>
        {
            var mutator = new Mutator(rng);
            var log = new List<string>();
            return new FuzzInput(mutator.MutateBytes(mutator.Pick(seeds), log), string.Join("; ", log));
        }, input => AssertSame(input.Bytes, skipSeed: 7));
    }

    [Fact]
    public void Nesting_around_the_depth_limits_gets_the_framework_readers_verdict()
    {
        FuzzRunner.Run("json-cursor-depth", 200, rng =>
        {
            var bytes = new Mutator(rng).DeepNesting(out int depth);
            return new FuzzInput(bytes, $"nested {depth} deep");
        }, input =>
        {
            AssertSame(input.Bytes, maxDepth: 256);
            AssertSame(input.Bytes, maxDepth: 64);
            AssertSame(input.Bytes, maxDepth: 256, skipSeed: 1);
        });
    }

    [Fact]
    public void Objects_and_arrays_mixed_across_the_depth_words_get_the_framework_readers_verdict()
    {
        // The cursor keeps one bit per open level in 64-bit words: a skip must find each level's kind across the words.
        FuzzRunner.Run("json-cursor-mixed-depth", 300, rng =>
        {
            int depth = new[] { 62, 63, 64, 65, 66, 127, 128, 129, 191, 192, 193, 255, 256, 257 }[rng.Next(14)];
            var kinds = Enumerable.Range(0, depth).Select(_ => rng.Next(2) == 0).ToList(); // true: an object
            var text = new StringBuilder();
            foreach (bool isObject in kinds) text.Append(isObject ? "{\"k\":" : "[0,");
            text.Append("\"leaf\"");
            // One input in four has one wrong end bracket somewhere: the rest must be read whole.
            int swapped = rng.Next(4) == 0 ? rng.Next(depth) : -1;
            for (int i = kinds.Count - 1; i >= 0; i--) text.Append(kinds[i] != (i == swapped) ? "}" : "]");
            return new FuzzInput(Encoding.UTF8.GetBytes(text.ToString()), $"{depth} levels, mixed, end bracket {swapped} swapped");
        }, input =>
        {
            AssertSame(input.Bytes);
            AssertSame(input.Bytes, skipSeed: input.Bytes.Length);
            AssertSame(input.Bytes, skipSeed: 11);
        });
    }

    [SkippableFact]
    public void A_value_read_again_from_its_extent_gives_the_same_tokens_at_the_same_places()
    {
        int checkedValues = 0;
        // The lines that are JSON objects (the demo holds broken ones on purpose).
        foreach (var line in FuzzSeeds.Corpus.Concat(FuzzSeeds.Demo).Where(l => EventParser.FrameworkVerdict(l) is null && l.AsSpan().TrimStart(" "u8).StartsWith("{"u8)))
        {
            var cursor = new JsonCursor(line, 256);
            cursor.Read();
            while (cursor.Read() && cursor.TokenType == JsonTokenType.PropertyName)
            {
                cursor.Read();
                int start = cursor.TokenStartIndex;
                var extent = JsonValueRef.Extent(ref cursor);
                if (!extent.IsObject && extent.Kind != JsonTokenType.StartArray) continue;
                Assert.Equal(start, extent.Start);
                Assert.Equal(cursor.BytesConsumed, extent.Start + extent.Length);
                // Read again in place, against the framework's reader over the value's bytes alone, shifted by its start.
                var again = new JsonCursor(line, extent, 256);
                var alone = new Utf8JsonReader(line.AsSpan(extent.Start, extent.Length), new JsonReaderOptions { MaxDepth = 256 });
                while (alone.Read())
                {
                    Assert.True(again.Read());
                    Assert.Equal(alone.TokenType, again.TokenType);
                    Assert.Equal(extent.Start + alone.TokenStartIndex, again.TokenStartIndex);
                    Assert.Equal(extent.Start + alone.BytesConsumed, again.BytesConsumed);
                    Assert.True(alone.ValueSpan.SequenceEqual(again.ValueSpan));
                }
                Assert.False(again.Read());
                checkedValues++;
            }
        }
        Assert.True(checkedValues > 1000, $"only {checkedValues} objects and arrays were read again");
    }

    [Fact]
    public void A_scalar_is_no_extent_to_read_again()
    {
        var json = "{\"a\":\"text\"}"u8.ToArray();
        var cursor = new JsonCursor(json);
        cursor.Read();
        cursor.Read();
        cursor.Read();
        var scalar = JsonValueRef.Extent(ref cursor);
        Assert.Equal(JsonValueRef.At(ref cursor), scalar); // a scalar's extent is what At gives: its bytes without the quotes
        Assert.Throws<ArgumentException>(() => new JsonCursor(json, scalar, 256));
    }

    public static TheoryData<string> Grammar() =>
    [
        // values at the top
        "1", "-0", "1E+5", "1.5e-3", "0.0", "\"text\"", "true", "false", "null", "{}", "[]", " 1 \r\n\t",
        // numbers JSON does not have
        "01", "[01]", "{\"a\":-01}", "-", "1.", "1e", "1.e5", ".5", "+1", "00", "-01", "1x", "0x10", "Infinity", "NaN", "1e+", "--1",
        // literals
        "nul", "nulll", "True", "truex", "[truefalse]", "[null,]",
        // structure
        "1 2", "[1 2]", "[1,]", "{\"a\":1,}", "[,1]", "[1,,2]", "{1:2}", "{\"a\" 1}", "{\"a\"::1}", "[1:2]", "[}", "{]", "[]]",
        "{\"a\":1 \"b\":2}", "\"a\":1", "{\"a\"}", "{\"a\":}", "[", "{", "{\"a\":1", "[[[]]", "{\"\":1}", "{\"a\" : 1 , \"b\" : [ ] }",
        // strings
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\uABCD\"", "\"\\/\"", "\"\\\"\"", "\"a\\\\\"", "\"\\ud800\"", "\"\t\"",
        "[\"a\",\"b\\n\",\"\\u00e9x\"]", "{\"event\\u004eame\":\"x\"}",
        // comments and whitespace JSON does not have
        "[1/*x*/]", "[1]//x", "\u00a0[1]", "[\f1]", "\u2028[1]",
        // empty
        "", "   ",
    ];

    [Theory]
    [MemberData(nameof(Grammar))]
    public void The_grammars_corners_get_the_framework_readers_verdict(string json)
    {
        AssertSame(Encoding.UTF8.GetBytes(json));
        AssertSame(Encoding.UTF8.GetBytes(json), skipSeed: 3);
    }

    public static TheoryData<byte[]> RawBytes() =>
    [
        [(byte)'"', 0xff, (byte)'"'],             // invalid UTF-8 inside a string: both leave it to decoding
        [(byte)'"', 0xc0, 0x80, (byte)'"'],
        [(byte)'[', 0xc3, 0xa9, (byte)']'],       // UTF-8 outside a string
        [(byte)'"', 0x01, (byte)'"'],             // control characters inside a string
        [(byte)'"', 0x1f, (byte)'"'],
        [(byte)'"', 0x7f, (byte)'"'],
        [0xef, 0xbb, 0xbf, (byte)'1'],            // a byte order mark
        [(byte)'1', 0],
        [(byte)'"', (byte)'a', 0, (byte)'"'],
    ];

    [Theory]
    [MemberData(nameof(RawBytes))]
    public void Raw_bytes_get_the_framework_readers_verdict(byte[] json) => AssertSame(json);

    [Fact]
    public void Long_strings_are_read_to_their_end_whatever_block_the_quote_falls_in()
    {
        // The string search reads sixteen bytes at a time: the quote, an escape and a control character at every offset.
        for (int length = 0; length < 70; length++)
        {
            var text = new string('a', length);
            AssertSame(Encoding.UTF8.GetBytes($"[\"{text}\",\"{text}\\n{text}\"]"));
            AssertSame(Encoding.UTF8.GetBytes($"{{\"{text}\":\"{text}\"}}"));
            AssertSame(Encoding.UTF8.GetBytes($"[\"{text}\u0001\"]"));
            AssertSame(Encoding.UTF8.GetBytes($"[\"{text}"));
        }
    }

    [Fact]
    public void An_escaped_name_or_value_reads_as_the_framework_reads_it()
    {
        var json = Encoding.UTF8.GetBytes("{\"event\\u004eame\":\"caf\\u00e9 \\\"x\\\"\"}");
        var cursor = new JsonCursor(json);
        cursor.Read();
        cursor.Read();
        Assert.True(cursor.ValueIsEscaped);
        Assert.Equal("eventName", cursor.GetString());
        cursor.Read();
        Assert.Equal("café \"x\"", cursor.GetString());
    }

    private static void AssertSameOnAll(IReadOnlyList<byte[]> lines)
    {
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            AssertSame(line);
            AssertSame(line, skipSeed: line.Length);
        }
    }

    private static FuzzInput Mutated(Mutator mutator, IReadOnlyList<byte[]> seeds)
    {
        var log = new List<string>();
        return new FuzzInput(mutator.MutateEvent(mutator.Pick(seeds), log), string.Join("; ", log));
    }

    /// <summary>
    /// Walks <paramref name="json"/> with both readers, token by token, or (with <paramref name="skipSeed"/>) skipping
    /// about one step in four on the way (a skip on a property name or a container's start skips the value; on anything
    /// else it stays), and compares where they stand after every step, and the verdict.
    /// </summary>
    private static void AssertSame(byte[] json, int maxDepth = 256, int? skipSeed = null)
    {
        var expected = FrameworkWalk(json, maxDepth, skipSeed is { } a ? new Random(a) : null, out var frameworkError);
        var actual = CursorWalk(json, maxDepth, skipSeed is { } b ? new Random(b) : null, out var cursorError);
        var input = Encoding.UTF8.GetString(json, 0, Math.Min(json.Length, 200));
        Assert.True(frameworkError is null == cursorError is null,
            $"framework reader: {frameworkError ?? "accepted"}; cursor: {cursorError ?? "accepted"}; input: {input}");
        // On a text both refuse, the cursor may read one token more before it says so (the framework checks what follows a
        // number as it reads the number): the record is refused either way. On one both accept, every step is the same.
        if (frameworkError is null) Assert.Equal(expected, actual);
    }

    private readonly record struct Step(string Action, JsonTokenType Token, long Start, long Consumed, string Value, bool Escaped);

    private static List<Step> FrameworkWalk(byte[] json, int maxDepth, Random? skips, out string? error)
    {
        var steps = new List<Step>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = maxDepth });
        error = null;
        try
        {
            while (true)
            {
                bool skip = steps.Count > 0 && skips?.Next(4) == 0;
                if (skip) reader.Skip();
                else if (!reader.Read()) break;
                steps.Add(new(skip ? "skip" : "read", reader.TokenType, reader.TokenStartIndex, reader.BytesConsumed,
                    Encoding.Latin1.GetString(reader.ValueSpan), reader.ValueIsEscaped));
            }
        }
        catch (JsonException e)
        {
            error = e.Message;
        }
        return steps;
    }

    private static List<Step> CursorWalk(byte[] json, int maxDepth, Random? skips, out string? error)
    {
        var steps = new List<Step>();
        var cursor = new JsonCursor(json, maxDepth);
        error = null;
        try
        {
            while (true)
            {
                bool skip = steps.Count > 0 && skips?.Next(4) == 0;
                if (skip) cursor.Skip();
                else if (!cursor.Read()) break;
                steps.Add(new(skip ? "skip" : "read", cursor.TokenType, cursor.TokenStartIndex, cursor.BytesConsumed,
                    Encoding.Latin1.GetString(cursor.ValueSpan), cursor.ValueIsEscaped));
            }
        }
        catch (JsonException e)
        {
            error = e.Message;
        }
        return steps;
    }
}
