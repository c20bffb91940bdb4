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

    /// <summary>Runs a UTF-8 writer into a string (the writers already end their line).</summary>
    public static string Utf8(Action<MemoryStream> write)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
