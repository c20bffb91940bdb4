using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Slack.Rendering;

/// <summary>
/// `--format slack`: each digest's Slack payload on one line, exactly what would be posted (the account's channel
/// named, as a bot token would post it). The stream holds payloads only, so it has no summary line.
/// </summary>
public sealed class SlackPayloadRenderer : IDigestRenderer
{
    public string Render(Digest digest) =>
        JsonRenderer.Utf8(buffer =>
        {
            SlackDigestRenderer.WritePayload(digest, buffer, channel: digest.AccountInfo?.SlackChannel, indented: false);
            buffer.WriteByte((byte)'\n');
        });

    public string? RenderSummary(RunSummary summary) => null;
}
