using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Processing;

/// <summary>
/// The core as an Rx operator, the way a pushed stream of records is composed: an adapter over
/// <see cref="DigestCore"/>, never a second implementation of it.
/// </summary>
public static class DigestCoreObservable
{
    /// <summary>
    /// Runs <paramref name="records"/> through <paramref name="core"/> a naming batch at a time and emits each batch's
    /// outcomes and closed digests; at the end of input every open burst is flushed (one last batch with no outcomes).
    /// The batch is processed on the producer's thread before the next record is read: a slow account table holds the
    /// reader back instead of letting records pile up in memory (Rx has no back-pressure of its own).
    /// </summary>
    /// <param name="idleClock">
    /// A live host's scheduler: then each record is processed as it arrives (a live stream has no batch to wait for),
    /// and every <paramref name="idleTick"/> with no record moves the core's clock on by that much, so a quiet account's
    /// burst closes without waiting for the next event. Tests pass a <c>HistoricalScheduler</c> and run in virtual time.
    /// </param>
    public static IObservable<CoreBatch> Through(
        this IObservable<RawRecord> records,
        DigestCore core,
        IScheduler? idleClock = null,
        TimeSpan? idleTick = null,
        BurstCloseReason endReason = BurstCloseReason.EndOfInput)
    {
        int batchSize = core.Options.Enricher.NamingBatchSize;
        var tick = idleTick ?? TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, core.Options.Window.Gap.Ticks / 4));
        return Observable.Create<CoreBatch>(observer =>
        {
            var gate = new object();
            // Each record is classified (parsed, deduplicated, muted) as it arrives, so its bytes are not needed after: a
            // file reader may hand out slices of one reused buffer (RecordReader's transient mode), nothing copied per line.
            // Under the gate, as everything else that touches the core: the idle clock's ticks come from another thread.
            var batches = records.Select(record => { lock (gate) return core.Classify(record); }).Buffer(idleClock is null ? batchSize : 1);
            bool heardSinceTick = false;

            var timer = idleClock is null
                ? Disposable.Empty
                : idleClock.SchedulePeriodic(tick, () =>
                {
                    lock (gate)
                    {
                        if (!heardSinceTick && core.Advance(tick) is { Count: > 0 } closed) observer.OnNext(new CoreBatch([], closed));
                        heardSinceTick = false;
                    }
                });

            var subscription = batches.Subscribe(
                batch =>
                {
                    if (batch.Count == 0) return;
                    lock (gate)
                    {
                        heardSinceTick = true;
                        observer.OnNext(core.ProcessAsync((IReadOnlyList<ClassifiedRecord>)batch, CancellationToken.None).AsTask().GetAwaiter().GetResult());
                    }
                },
                error =>
                {
                    lock (gate) observer.OnError(error);
                },
                () =>
                {
                    lock (gate) Finish(core, endReason, observer);
                });

            return new CompositeDisposable(timer, subscription);
        });
    }

    /// <summary>
    /// Runs batches of records already parsed (a replay's, from <see cref="ParseAhead.Batches"/>) through
    /// <paramref name="core"/>, one batch at a time on the producer's thread, and emits each batch's outcomes and closed
    /// digests; at the end of input every open burst is flushed (one last batch with no outcomes). The same digests as
    /// the record-by-record adapter with no idle clock: the core parses the same way, and the batches are the same.
    /// </summary>
    public static IObservable<CoreBatch> Through(
        this IObservable<IReadOnlyList<ParsedRecord>> batches,
        DigestCore core,
        BurstCloseReason endReason = BurstCloseReason.EndOfInput) =>
        Observable.Create<CoreBatch>(observer => batches.Subscribe(
            batch =>
            {
                if (batch.Count > 0) observer.OnNext(core.ProcessAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult());
            },
            observer.OnError,
            () => Finish(core, endReason, observer)));

    private static void Finish(DigestCore core, BurstCloseReason endReason, IObserver<CoreBatch> observer)
    {
        var flushed = core.Flush(endReason);
        // Records a replay held raise their alerts and sightings only now.
        observer.OnNext(new CoreBatch([], flushed) { Alerts = core.TakeAlerts(), Silences = core.TakeSilences() });
        observer.OnCompleted();
    }
}
