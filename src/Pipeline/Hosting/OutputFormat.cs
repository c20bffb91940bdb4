using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;
using Pipeline.Slack.Rendering;

namespace Pipeline.Cli.Hosting;

/// <summary>The `--format` of the commands that print digests.</summary>
internal enum OutputFormat { Text, Json, Slack, Html }

/// <summary>The one place that turns a <see cref="OutputFormat"/> into its renderer.</summary>
internal static class OutputFormats
{
    public static IDigestRenderer Renderer(this OutputFormat format) => format switch
    {
        OutputFormat.Json => new JsonRenderer(),
        OutputFormat.Slack => new SlackPayloadRenderer(),
        OutputFormat.Html => new Slack.Preview.HtmlPreviewRenderer(),
        _ => new TextRenderer(),
    };

    /// <summary>
    /// `--format html` is a page of a whole replay (`digest`, `demo`); a command that prints something else, or never
    /// ends, says so instead of printing half a page.
    /// </summary>
    public static void RefuseHtml(this OutputFormat format, string command, string instead)
    {
        if (format == OutputFormat.Html) throw new Commands.UsageException($"--format html is for `digest` and `demo`; {command} {instead}.");
    }

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
