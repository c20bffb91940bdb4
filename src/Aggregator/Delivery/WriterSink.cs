using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Aggregator.Delivery;

/// <summary>Writes each notice (digest, roll-up, alert), rendered, to a text stream (stdout): the destination of `digest`, `demo` and `run`.</summary>
public sealed class WriterSink(IDigestRenderer renderer, TextWriter output) : IDigestSink
{
    private readonly object _gate = new();

    public Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        var text = renderer.Render(notice);
        lock (_gate)
        {
            output.Write(text);
            output.Flush(); // a reader piping the output sees each digest as it closes
        }
        return Task.FromResult(DeliveryOutcome.Delivered);
    }
}
