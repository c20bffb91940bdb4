using System.Text;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;
using static Pipeline.Aggregator.Tests.TestEvents;

namespace Pipeline.Aggregator.Tests.Rendering;

/// <summary>The JSON lines written straight into a text writer (what `digest --format json` prints) are Render's text.</summary>
public sealed class JsonRendererTests
{
    // Two-, three- and four-byte UTF-8 in a name a user chose (the JSON escapes them; the stream under it must not
    // depend on that): each must come out whole, wherever a write ends.
    private const string Name = "prod – Zürich 東京 🚀";

    /// <summary>A digest and the alert its risky call raised, of an account with <see cref="Name"/>.</summary>
    private static List<Notice> Notices()
    {
        var agg = new BurstAggregator(new BurstWindowOptions());
        var info = new AccountInfo("111122223333", Name);
        agg.Add(At(Events.T0, eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com"), info);
        agg.Add(At(Events.T0.AddSeconds(5), eventName: "DeleteBucket", eventSource: "s3.amazonaws.com", errorCode: "AccessDenied"), info);
        var notices = new List<Notice>(agg.TakeAlerts());
        notices.AddRange(agg.Flush());
        return notices;
    }

    [Fact]
    public void Writing_notices_into_a_text_writer_prints_what_Render_returns()
    {
        var renderer = new JsonRenderer();
        var notices = Notices();
        Assert.Contains(notices, n => n is Digest);
        Assert.Contains(notices, n => n is Alerts.Alert);

        var written = new StringWriter();
        foreach (var notice in notices) ((IDigestRenderer)renderer).Write(notice, written);

        Assert.Equal(string.Concat(notices.Select(renderer.Render)), written.ToString());
        // The contract escapes what is not ASCII; read back, the name is the account's own.
        var digestLine = written.ToString().Split('\n').Single(l => l.StartsWith("{\"type\":\"digest\"", StringComparison.Ordinal));
        using var doc = System.Text.Json.JsonDocument.Parse(digestLine);
        Assert.Equal(Name, doc.RootElement.GetProperty("accountName").GetString());
    }

    [Fact]
    public void Each_writer_gets_only_its_own_lines_when_one_thread_writes_to_two()
    {
        // The renderer keeps a decoding buffer per thread, bound to the last writer: a change of writer must not carry
        // anything of the earlier one's over.
        var renderer = (IDigestRenderer)new JsonRenderer();
        var notice = Notices().OfType<Digest>().Single();
        var first = new StringWriter();
        var second = new StringWriter();

        renderer.Write(notice, first);
        renderer.Write(notice, second);
        renderer.Write(notice, first);

        var line = renderer.Render(notice);
        Assert.Equal(line + line, first.ToString());
        Assert.Equal(line, second.ToString());
    }

    [Fact]
    public void Writing_a_line_makes_no_string_of_it()
    {
        var renderer = (IDigestRenderer)new JsonRenderer();
        var notice = Notices().OfType<Digest>().Single();
        int lineChars = renderer.Render(notice).Length;
        renderer.Write(notice, TextWriter.Null); // the thread's buffers, made once

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) renderer.Write(notice, TextWriter.Null);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A string of each line alone would be two bytes per character.
        Assert.True(allocated < 20 * lineChars, $"{allocated:N0} bytes allocated for 20 lines of {lineChars:N0} characters");
    }

    [Fact]
    public void A_character_cut_between_two_writes_comes_out_whole()
    {
        var output = new StringWriter();
        using var stream = new Utf8ToTextStream(output);
        var bytes = Encoding.UTF8.GetBytes(Name + "\n");

        // One byte at a time: every multi-byte character is cut.
        foreach (var b in bytes) stream.WriteByte(b);

        Assert.Equal(Name + "\n", output.ToString());
    }

    [Fact]
    public void A_line_longer_than_the_decoding_buffer_is_written_whole()
    {
        var output = new StringWriter();
        using var stream = new Utf8ToTextStream(output);
        // The stream decodes 8,192 characters at a time: the rocket's two UTF-16 halves would fall on either side of the
        // first boundary. Then 2,000 names more: about 38,000 characters, several buffers' worth.
        var text = new string('a', 8_191) + "🚀" + string.Concat(Enumerable.Repeat(Name, 2_000));

        stream.Write(Encoding.UTF8.GetBytes(text));

        Assert.Equal(text, output.ToString());
    }

    [Fact]
    public async Task A_sink_that_flushes_at_its_owners_call_is_not_flushed_by_the_lines()
    {
        // `digest` flushes stdout once per batch: writing a line must not flush it (one write call per line cost more
        // than the roll-up stage; docs/performance.md, "Speed, sixth session").
        var output = new CountingWriter();
        var sink = new WriterSink(new JsonRenderer(), output, flushEach: false);

        foreach (var notice in Notices()) await sink.DeliverAsync(notice, CancellationToken.None);

        Assert.NotEqual(0, output.ToString().Length);
        Assert.Equal(0, output.Flushes);
    }

    private sealed class CountingWriter : StringWriter
    {
        public int Flushes { get; private set; }

        public override void Flush()
        {
            Flushes++;
            base.Flush();
        }
    }

    [Fact]
    public async Task The_writer_sink_writes_through_the_renderer_without_asking_for_a_string()
    {
        var renderer = new WriteOnlyRenderer();
        var output = new StringWriter();
        var sink = new WriterSink(renderer, output, flushEach: false);
        var notices = Notices();

        foreach (var notice in notices) Assert.Equal(DeliveryOutcome.Delivered, await sink.DeliverAsync(notice, CancellationToken.None));

        Assert.Equal(string.Concat(notices.Select(n => n.Kind + "\n")), output.ToString());
        Assert.Equal(0, renderer.Rendered);
    }

    /// <summary>A format that only writes: Render counts the calls a sink should not make.</summary>
    private sealed class WriteOnlyRenderer : IDigestRenderer
    {
        public int Rendered { get; private set; }

        public string Render(Notice notice)
        {
            Rendered++;
            return "";
        }

        public string? RenderSummary(RunSummary summary) => null;

        public void Write(Notice notice, TextWriter output) => output.Write(notice.Kind + "\n");
    }
}
