using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;
using Pipeline.Aggregator.Rendering.Slack;
using Pipeline.Cli.Lambda;
using Pipeline.Slack.Delivery;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>
/// Where `pipeline run` posts what the handler closes: stdout in the chosen format and, when configured, Slack.
/// A digest parked in the outbox counts as posted (it is safe); an outbox that fails throws, so the handler
/// retries the batch and nothing is lost.
/// </summary>
internal sealed class RunDigestPoster(OutputFormat format, TextWriter stdout, IDigestSink? slack) : IDigestPoster
{
    private readonly object _gate = new();

    public long Printed { get; private set; }
    public long Delivered { get; private set; }
    public long Outboxed { get; private set; }

    public async Task PostAsync(Digest digest, CancellationToken cancellationToken)
    {
        if (slack is not null)
        {
            var result = await slack.DeliverAsync(digest, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (result.Delivered) Delivered++; else Outboxed++;
            }
        }
        lock (_gate)
        {
            using var buffer = new MemoryStream();
            switch (format)
            {
                case OutputFormat.Json:
                    DigestJson.WriteDigest(buffer, digest);
                    stdout.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
                    break;
                case OutputFormat.Slack:
                    SlackDigestRenderer.WritePayload(digest, buffer, channel: digest.AccountInfo?.SlackChannel, indented: false);
                    stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
                    break;
                default:
                    stdout.WriteLine(TextDigestRenderer.Render(digest));
                    break;
            }
            stdout.Flush();
            Printed++;
        }
    }
}
