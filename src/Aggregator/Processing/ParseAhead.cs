using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Processing;

/// <summary>
/// Reads and parses a replay's records on a task of their own, a few batches ahead of the core, so that on two cores the
/// parsing (about 40% of a replay's CPU) runs beside dedupe, bursts and rendering instead of before them. Only
/// <see cref="DigestCore.Parse"/> runs there: it touches none of the core's state, so the core sees the same records, in
/// the same order and batches, as when it parses them itself, and makes the same digests.
/// </summary>
/// <remarks>
/// Each record is parsed as soon as it is read, so the source may hand out slices of one reused buffer
/// (<c>RecordReader</c>'s transient mode): the parse keeps nothing of the bytes. Only when the core's mute rules will read
/// the event's envelope later are the bytes copied first, into storage the batch owns (rented, and given back once the
/// next batch is taken). The batches themselves are used again once handed back, so a replay makes none per batch. At most
/// <see cref="Depth"/> parsed batches wait: a slow consumer (a slow account table) holds the reader back, and the reading
/// adds no memory that grows with the input. (What the consumer does with a batch afterwards is its own: the file host's
/// delivery queues behind a slow Slack, as it did before.)
/// </remarks>
public static class ParseAhead
{
    /// <summary>Parsed batches waiting for the consumer, beyond the one it holds and the one being read.</summary>
    public const int Depth = 2;

    /// <summary>Storage is rented in chunks of this size; a larger record gets a chunk of its own size.</summary>
    private const int ChunkBytes = 64 * 1024;

    /// <summary>
    /// The records of <paramref name="source"/> parsed by <paramref name="core"/>, in order, in batches of
    /// <see cref="EnricherOptions.NamingBatchSize"/> (the batches the core would make itself). A batch, and the bytes of its
    /// records, stays valid until the next batch is taken: process it before (as the core's Rx adapter does).
    /// </summary>
    /// <param name="stop">
    /// Ends the input: no record is read after it, and every record read before it is still handed on, so the records read
    /// are the records the core counts. A source whose reads can block for good (stdin, a FIFO) must stop on it itself.
    /// </param>
    /// <exception cref="Exception">Whatever the source threw, rethrown as it was after the batches read before it.</exception>
    public static IEnumerable<IReadOnlyList<ParsedRecord>> Batches(IEnumerable<RawRecord> source, DigestCore core, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(core);
        return Read(source, core, stop);
    }

    private static IEnumerable<IReadOnlyList<ParsedRecord>> Read(IEnumerable<RawRecord> source, DigestCore core, CancellationToken stop)
    {
        var channel = Channel.CreateBounded<Batch>(new BoundedChannelOptions(Depth) { SingleReader = true, SingleWriter = true });
        // Batches the consumer is done with, for the reader to fill again (at most Depth + 2 exist at a time).
        var spare = new ConcurrentQueue<Batch>();
        // Set when the consumer is gone early (an error downstream, a disposed enumerator): the reader then stops at once.
        using var abandoned = new CancellationTokenSource();
        _ = Task.Run(() => ReadAsync(source, core, spare, channel.Writer, stop, abandoned.Token), CancellationToken.None);

        Batch? held = null;
        try
        {
            while (true)
            {
                // Asked for the next batch, the consumer is done with the one it held: that one goes back first, so the
                // reader fills it again instead of making another (at most Depth + 2 batches exist at a time).
                held?.Release(spare);
                held = null;
                if (!channel.Reader.TryRead(out var batch))
                {
                    if (!WaitForMore(channel.Reader)) break;
                    continue;
                }
                held = batch;
                yield return batch.Parsed;
            }
        }
        finally
        {
            held?.Release(spare: null);
            abandoned.Cancel();
            // Batches the consumer will never take. One the reader writes after this is left to the GC, as is the one it
            // was filling: its pool rents are simply not returned.
            while (channel.Reader.TryRead(out var left)) left.Release(spare: null);
        }
    }

    /// <summary>True when a batch is ready, false at the end of the input; the reader's error is thrown here, as it was thrown.</summary>
    private static bool WaitForMore(ChannelReader<Batch> reader) =>
        // The consumer is synchronous (an enumerable under Rx's ToObservable): it waits here, on its own thread.
        reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();

    private static async Task ReadAsync(IEnumerable<RawRecord> source, DigestCore core, ConcurrentQueue<Batch> spare, ChannelWriter<Batch> writer, CancellationToken stop, CancellationToken abandoned)
    {
        int size = core.Options.Enricher.NamingBatchSize;
        bool copyBytes = core.ParseKeepsBytes;
        var batch = NextBatch();
        try
        {
            if (!stop.IsCancellationRequested)
            {
                foreach (var record in source)
                {
                    batch.Add(record, core);
                    if (batch.Count == size)
                    {
                        await HandOnAsync(batch).ConfigureAwait(false);
                        batch = NextBatch();
                    }
                    if (stop.IsCancellationRequested) break;
                }
            }
            await HandOnAsync(batch).ConfigureAwait(false);
            writer.TryComplete();
        }
        catch (OperationCanceledException) when (abandoned.IsCancellationRequested)
        {
            batch.Release(spare: null);
            writer.TryComplete();
        }
        catch (Exception error)
        {
            // The records read before the error are still handed on, then the error.
            try
            {
                await HandOnAsync(batch).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the first error is the one to report; this batch only goes if it cannot be handed on
            catch (Exception)
#pragma warning restore CA1031
            {
                batch.Release(spare: null);
            }
            writer.TryComplete(error);
        }

        Batch NextBatch() => spare.TryDequeue(out var reused) ? reused : new Batch(size, copyBytes);

        async ValueTask HandOnAsync(Batch full)
        {
            if (full.Count == 0)
            {
                full.Release(spare: null);
                return;
            }
            await writer.WriteAsync(full, abandoned).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records parsed as they were read. With <paramref name="copyBytes"/> (mute rules read the envelope later), each
    /// record's bytes are first copied into chunks rented for this batch alone.
    /// </summary>
    private sealed class Batch(int capacity, bool copyBytes)
    {
        private readonly ParsedRecord[] _parsed = new ParsedRecord[capacity];
        private readonly List<byte[]> _chunks = [];
        private int _used;

        public int Count { get; private set; }

        /// <summary>The records parsed; the array itself when the batch is full (every batch but the input's last).</summary>
        public IReadOnlyList<ParsedRecord> Parsed => Count == _parsed.Length ? _parsed : _parsed[..Count];

        public void Add(RawRecord record, DigestCore core)
        {
            if (copyBytes && !record.Data.IsEmpty) record = record with { Data = Copy(record.Data.Span) };
            // Parsed now, while the bytes are still the record's: the source may reuse them for the next one.
            var parsed = core.Parse(record);
            _parsed[Count++] = parsed;
        }

        private ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> data)
        {
            if (_chunks.Count == 0 || _chunks[^1].Length - _used < data.Length)
            {
                _chunks.Add(ArrayPool<byte>.Shared.Rent(Math.Max(ChunkBytes, data.Length)));
                _used = 0;
            }
            var chunk = _chunks[^1];
            data.CopyTo(chunk.AsSpan(_used));
            var copy = chunk.AsMemory(_used, data.Length);
            _used += data.Length;
            return copy;
        }

        /// <summary>Gives the chunks back and empties the batch, then hands it to <paramref name="spare"/> (null: to the GC).</summary>
        public void Release(ConcurrentQueue<Batch>? spare)
        {
            foreach (var chunk in _chunks) ArrayPool<byte>.Shared.Return(chunk);
            _chunks.Clear();
            _used = 0;
            // The events go with the batch: a batch waiting to be used again keeps none of them alive.
            Array.Clear(_parsed, 0, Count);
            Count = 0;
            spare?.Enqueue(this);
        }
    }
}
