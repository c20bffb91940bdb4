using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;
using Pipeline.Slack.Rendering;

namespace Pipeline.Cli.Hosting;

/// <summary>The `--format` of the commands that print digests.</summary>
internal enum OutputFormat { Text, Json, Slack }

/// <summary>The one place that turns a <see cref="OutputFormat"/> into its renderer.</summary>
internal static class OutputFormats
{
    public static IDigestRenderer Renderer(this OutputFormat format) => format switch
    {
        OutputFormat.Json => new JsonRenderer(),
        OutputFormat.Slack => new SlackPayloadRenderer(),
        _ => new TextRenderer(),
    };

    /// <summary>
    /// Prints the run's summary in the output's format; where the format has none (Slack payloads) the text summary
    /// goes to stderr, so stdout stays machine-readable.
    /// </summary>
    public static void WriteSummary(this IDigestRenderer renderer, RunSummary summary, TextWriter stdout, TextWriter stderr)
    {
        if (renderer.RenderSummary(summary) is { } text)
        {
            stdout.Write(text);
            stdout.Flush();
        }
        else
        {
            stderr.Write(new TextRenderer().RenderSummary(summary));
        }
    }
}
