using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Slack.Rendering;

/// <summary>
/// `--format slack`: each digest's Slack payload on one line, exactly what would be posted (the account's channel
/// named, as a bot token would post it). The stream holds payloads only, so it has no summary line.
/// </summary>
public sealed class SlackPayloadRenderer : IDigestRenderer
{
    public string Render(Notice notice) => !notice.Posted ? "" : // folded into a roll-up: no message of its own
        JsonRenderer.Utf8(buffer =>
        {
            var channel = notice switch { Digest d => d.AccountInfo?.SlackChannel, Alert a => a.AccountInfo?.SlackChannel, Aggregator.Silence.SilenceNotice n => n.AccountInfo?.SlackChannel, _ => null };
            buffer.Write(SlackDigestRenderer.Render(notice).ToPayload(channel, plainTextOnly: false, indented: false));
            buffer.WriteByte((byte)'\n');
        });

    public string? RenderSummary(RunSummary summary) => null;
}
