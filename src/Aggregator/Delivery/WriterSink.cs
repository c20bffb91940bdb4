using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Aggregator.Delivery;

/// <summary>Writes each notice (digest, roll-up, alert), rendered, to a text stream (stdout): the destination of `digest`, `demo` and `run`.</summary>
/// <param name="flushEach">
/// Flush after every notice, so that a reader piping the output sees each digest as it closes. A host that flushes at
/// its own batch ends passes false: a replay prints tens of thousands of notices a second, and a write call for each cost
/// `digest` more than its roll-up stage (docs/performance.md, "Speed, sixth session").
/// </param>
public sealed class WriterSink(IDigestRenderer renderer, TextWriter output, bool flushEach = true) : IDigestSink
{
    private readonly object _gate = new();

    public Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            renderer.Write(notice, output);
            if (flushEach) output.Flush();
        }
        return Task.FromResult(DeliveryOutcome.Delivered);
    }
}
