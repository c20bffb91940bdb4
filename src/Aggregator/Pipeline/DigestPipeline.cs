using System.Reactive.Concurrency;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Pipeline;

/// <summary>The Rx operator that turns the Enricher's outcomes into digests, counting everything on the way.</summary>
internal static class DigestPipeline
{
    /// <summary>
    /// Feeds each outcome to <paramref name="aggregator"/> and emits digests as bursts close; at the end of
    /// input every open burst is flushed. With <paramref name="idleClock"/> (a live host), the stream's
    /// clock also moves while no event arrives, so a quiet account's burst closes without waiting for
    /// the next event: every <paramref name="idleTick"/> of the scheduler's time with no event moves
    /// the watermark on by that much. Tests pass a <c>HistoricalScheduler</c> and run in virtual time.
    /// </summary>
    public static IObservable<Digest> ToDigests(
        this IObservable<EnrichmentOutcome> outcomes,
        BurstAggregator aggregator,
        RunTally tally,
        IScheduler? idleClock = null,
        TimeSpan? idleTick = null,
        BurstCloseReason endReason = BurstCloseReason.EndOfInput)
    {
        return Observable.Create<Digest>(observer =>
        {
            var gate = new object();
            bool heardSinceTick = false;
            var tick = idleTick ?? TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, aggregator.Options.Gap.Ticks / 4));

            void Emit(IReadOnlyList<Digest> digests)
            {
                foreach (var digest in digests)
                {
                    tally.Count(digest);
                    observer.OnNext(digest);
                }
            }

            var timer = idleClock is null
                ? Disposable.Empty
                : idleClock.SchedulePeriodic(tick, () =>
                {
                    lock (gate)
                    {
                        if (!heardSinceTick) Emit(aggregator.Advance(tick));
                        heardSinceTick = false;
                    }
                });

            var subscription = outcomes.Subscribe(
                outcome =>
                {
                    lock (gate)
                    {
                        heardSinceTick = true;
                        tally.Count(outcome);
                        Emit(aggregator.Feed(outcome));
                    }
                },
                error =>
                {
                    lock (gate) observer.OnError(error);
                },
                () =>
                {
                    lock (gate)
                    {
                        Emit(aggregator.Flush(endReason));
                        observer.OnCompleted();
                    }
                });

            return new CompositeDisposable(timer, subscription);
        });
    }
}
