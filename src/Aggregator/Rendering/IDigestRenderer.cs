using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;

namespace Pipeline.Aggregator.Rendering;

/// <summary>One output format of notices (digests, roll-ups, alerts): the terminal's text, the JSON contract, Slack's payloads.</summary>
public interface IDigestRenderer
{
    /// <summary>The notice as one piece of output, ending with a line break (empty when the format shows nothing of it).</summary>
    string Render(Notice notice);

    /// <summary>
    /// The run's summary in the same format, ending with a line break; null when the format's stream must hold
    /// nothing but digests (then the host prints the text summary on stderr).
    /// </summary>
    string? RenderSummary(RunSummary summary);

    /// <summary>
    /// Writes what <see cref="Render"/> returns into <paramref name="output"/>. A format that can write as it renders
    /// overrides it, so a host that prints every notice makes no string of each.
    /// </summary>
    void Write(Notice notice, TextWriter output) => output.Write(Render(notice));
}

/// <summary>The terminal's format: <see cref="TextDigestRenderer"/>.</summary>
public sealed class TextRenderer : IDigestRenderer
{
    public string Render(Notice notice) => TextDigestRenderer.Render(notice) + "\n";
    public string? RenderSummary(RunSummary summary) => TextDigestRenderer.RenderSummary(summary).TrimEnd() + "\n";
}

/// <summary>The JSON contract: one line per digest, then one summary line (<see cref="DigestJson"/>).</summary>
public sealed class JsonRenderer : IDigestRenderer
{
    public string Render(Notice notice) => Utf8(buffer => DigestJson.Write(buffer, notice));
    public string? RenderSummary(RunSummary summary) => Utf8(buffer => DigestJson.WriteSummary(buffer, summary));

    /// <summary>
    /// The notice's line decoded straight into <paramref name="output"/>, through a buffer kept per thread. Through
    /// <see cref="Render"/>, each line was a stream grown to its size and then a string of it: `digest --format json`
    /// made about five bytes of garbage per character it printed (docs/performance.md, "Speed, seventh session").
    /// </summary>
    public void Write(Notice notice, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var stream = _toText is { } kept && ReferenceEquals(kept.Output, output) ? kept : _toText = new Utf8ToTextStream(output);
        DigestJson.Write(stream, notice);
    }

    // The decoding stream of the writer this thread last wrote to (8 KB of characters, made again only when the thread
    // writes to another writer). It keeps that writer alive as long as the thread: a host has one stdout for its life.
    [ThreadStatic]
    private static Utf8ToTextStream? _toText;

    /// <summary>Runs a UTF-8 writer into a string (the writers already end their line).</summary>
    public static string Utf8(Action<MemoryStream> write)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
