using System.Threading.Channels;
using Pipeline.Enricher.Model;

namespace Pipeline.Cli.Hosting;

/// <summary>
/// Records read on their own task, so that a stop (Ctrl-C, SIGTERM) ends the input even while a read is blocked: stdin
/// from a producer that stays quiet, a FIFO nobody writes. The consumer sees the input end where the stop came; the
/// blocked read is left to the process's exit. A read error is rethrown to the consumer as it was thrown. The reader
/// runs ahead, so the source must not reuse one buffer for its records (read it with <c>transient: false</c>).
/// </summary>
internal static class StoppableReading
{
    // Small: the reader runs only a little ahead, so a stop leaves little read and not digested (all of it counted
    // nowhere, as for a read that never happened), and a slow pipe's first record is handed on at once.
    private const int ReadAhead = 64;

    public static IEnumerable<RawRecord> Until(IEnumerable<RawRecord> source, CancellationToken stop)
    {
        var channel = Channel.CreateBounded<RawRecord>(new BoundedChannelOptions(ReadAhead) { SingleReader = true, SingleWriter = true });
        _ = Task.Run(async () =>
        {
            try
            {
                foreach (var record in source)
                    await channel.Writer.WriteAsync(record, stop).ConfigureAwait(false);
                channel.Writer.TryComplete();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }, CancellationToken.None);

        while (WaitForMore(channel.Reader, stop))
            while (channel.Reader.TryRead(out var record))
            {
                if (stop.IsCancellationRequested) yield break;
                yield return record;
            }
    }

    /// <summary>
    /// True when a record is ready; false at the end of the input or on a stop. A channel completed with the reader's
    /// error throws that error here, as the reader threw it (an <c>InputException</c> stays one: exit 3).
    /// </summary>
    private static bool WaitForMore(ChannelReader<RawRecord> reader, CancellationToken stop)
    {
        try
        {
            // The consumer is synchronous (an enumerable under Rx's ToObservable): it waits here, on its own thread.
            return reader.WaitToReadAsync(stop).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return false;
        }
    }
}
