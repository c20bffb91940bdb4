using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Configuration;
using Pipeline.Kinesis;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Windows;
using StreamRecord = Pipeline.Kinesis.KinesisRecord;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>Settings of the local event source mapping, as the Lambda one would have them.</summary>
internal sealed record EventSourceMappingOptions
{
    public required string Stream { get; init; }
    /// <summary>Records per handler call (Lambda's BatchSize).</summary>
    public int BatchSize { get; init; } = 100;
    /// <summary>Tumbling window length (Lambda's TumblingWindowInSeconds). Bursts outlive windows (carries), so it only sets how often state is written.</summary>
    public required TimeSpan TumblingWindow { get; init; }
    /// <summary>How often the sweeper closes the due carries of quiet shards (the deployed schedule runs every minute).</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>Stop once every shard is read to its tip, closing the open windows (a replay); otherwise follow the stream until stopped.</summary>
    public bool UntilIdle { get; init; }
    /// <summary>How often an idle stream is asked for new records.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Calls of a failing batch before the run stops (the checkpoint stays before the batch).</summary>
    public int MaxBatchAttempts { get; init; } = 5;
    /// <summary>
    /// Where a shard with no usable checkpoint starts: TRIM_HORIZON or LATEST. Given, it also allows replacing a checkpoint
    /// that does not belong to the stream (one deleted and recreated under the same name); null starts new shards at
    /// TRIM_HORIZON and stops the run on such a checkpoint (<see cref="StaleCheckpointException"/>), so nothing is skipped or reread unasked.
    /// </summary>
    public ShardPosition? StartAt { get; init; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Stream)) throw new InvalidOptionException("{Stream} is required.");
        if (BatchSize is < 1 or > 10_000) throw new InvalidOptionException($"{{BatchSize}} must be 1–10000, as Lambda's (got {BatchSize}).");
        // Lambda's TumblingWindowInSeconds is a whole number of seconds, up to 900.
        if (TumblingWindow < TimeSpan.FromSeconds(1) || TumblingWindow > TimeSpan.FromMinutes(15) || TumblingWindow.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new InvalidOptionException($"{{TumblingWindow}} must be whole seconds between 1 s and 15 min, as Lambda's (got {Duration.Format(TumblingWindow)}).");
        if (SweepInterval < TimeSpan.FromMilliseconds(100) || SweepInterval > TimeSpan.FromHours(1))
            throw new InvalidOptionException($"{{SweepInterval}} must be between 100ms and 1h (got {Duration.Format(SweepInterval)}).");
        if (MaxBatchAttempts < 1) throw new InvalidOptionException($"{{MaxBatchAttempts}} must be at least 1 (got {MaxBatchAttempts}).");
        if (StartAt is { Type: not (ShardIteratorType.TrimHorizon or ShardIteratorType.Latest) })
            throw new InvalidOptionException($"{{StartAt}} must be TRIM_HORIZON or LATEST (got {StartAt.Type}).");
    }
}

/// <summary>
/// The stored checkpoints belong to another stream of the same name (deleted and recreated): their sequence numbers cannot be
/// read here. Nothing was read or changed; the message says how to start over.
/// </summary>
internal sealed class StaleCheckpointException(string message) : Exception(message);

/// <summary>A batch kept failing: the run stops with its checkpoint before that batch.</summary>
internal sealed class BatchFailedException(string message) : Exception(message);

/// <summary>
/// A local stand-in for Lambda's Kinesis event source mapping with tumbling windows: reads every shard in order
/// (parents drained before children), cuts batches, assigns them to windows by arrival time, calls the very
/// handler the Lambda runs with the same event and state, retries a batch the handler reports as failed, and
/// checkpoints after every call. Killed at any moment and restarted, it resumes after the last call that
/// finished: nothing lost, nothing counted twice (the ledger keeps a digest from being posted twice). Like the
/// deployed schedule, it runs the carry sweeper every <see cref="EventSourceMappingOptions.SweepInterval"/>, so a
/// quiet account on a quiet shard still gets its digest; a replay (<see cref="EventSourceMappingOptions.UntilIdle"/>)
/// ends with a sweep that closes every carry, as the end of a file does.
/// </summary>
internal sealed class EventSourceMapping(
    KinesisClient kinesis,
    ICheckpointStore store,
    KinesisWindowHandler handler,
    CarrySweeper sweeper,
    EventSourceMappingOptions options,
    TimeProvider time,
    Action<string> log,
    FileCarryStore? carriesKeepingCounts = null)
{
    /// <summary>
    /// The sweeper's totals live in the checkpoint store under this pseudo shard id, beside the shards', unless the
    /// sweeper's carries are in a file store, given as <c>carriesKeepingCounts</c>, which keeps them with the carries.
    /// </summary>
    internal const string SweeperId = "~sweeper";
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;
    private long _sweeps;
    /// <summary>The stream's creation time, stamped on every checkpoint saved (see <see cref="ShardCheckpoint.StreamCreatedAt"/>).</summary>
    private DateTimeOffset? _streamCreatedAt;
    /// <summary>The shards the stream listed when the run started: only they (or shards started over) may start at StartAt.</summary>
    private HashSet<string> _listedAtStart = new(StringComparer.Ordinal);
    /// <summary>
    /// Shards started at LATEST that have read no record yet: the iterator to go on from. A fresh LATEST each round would skip
    /// what was put between rounds.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _latestIterators = new(StringComparer.Ordinal);

    private readonly Dictionary<string, ShardCheckpoint> _checkpoints = new(StringComparer.Ordinal);
    private readonly BatchRetry _retry = new(options.MaxBatchAttempts, time, log);

    /// <summary>
    /// The run's totals as they stand: every shard's checkpoint (finished and open windows) and what the sweeper counted,
    /// wherever it keeps that. Read even when the run was stopped.
    /// </summary>
    public async Task<RunSummary> ReportAsync()
    {
        var totals = carriesKeepingCounts is null ? RunTotals.Zero : await carriesKeepingCounts.SweptAsync(CancellationToken.None).ConfigureAwait(false);
        long open = 0;
        // Finished windows plus the open ones (whose events are not digested yet); with the sweeper's own checkpoint, if any.
        foreach (var cp in Checkpoints)
        {
            totals = totals.Add(cp.Finished).Add(cp.OpenWindow);
            open += cp.OpenWindowEvents;
        }
        return totals.ToSummary(open);
    }

    /// <summary>The shards' checkpoints as they stand.</summary>
    public IReadOnlyCollection<ShardCheckpoint> Checkpoints
    {
        get
        {
            lock (_checkpoints) return [.. _checkpoints.Values];
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        options.Validate();
        foreach (var (id, cp) in await store.LoadAsync(options.Stream, cancellationToken).ConfigureAwait(false)) _checkpoints[id] = cp;
        _streamCreatedAt = (await kinesis.DescribeStreamSummaryAsync(options.Stream, cancellationToken).ConfigureAwait(false)).CreatedAt;
        // Recognised before any read: a checkpoint stamped with another creation time is of a stream deleted and recreated
        // since. (One recreated within the second, or a checkpoint from before the stamp, is caught at its first read: PumpAsync.)
        var stale = Checkpoints.Where(c => c.ShardId != SweeperId && c.StreamCreatedAt is { } at && _streamCreatedAt is { } now && at != now).ToList();
        if (stale.Count > 0)
            await StartOverAsync(stale, $"they were read from a stream of that name created at {stale[0].StreamCreatedAt:u}; this one was created at {_streamCreatedAt:u}", cancellationToken).ConfigureAwait(false);
        var listed = await kinesis.ListShardsAsync(options.Stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        _listedAtStart = listed.Select(s => s.ShardId).ToHashSet(StringComparer.Ordinal);
        // A shard read to its end is closed for good: one the stream lists as open was ended in another stream of this name
        // (a checkpoint without the stamp, or a stream whose creation time is unknown), and taking it as ended would never read it.
        var open = listed.Where(s => !s.IsClosed).Select(s => s.ShardId).ToHashSet(StringComparer.Ordinal);
        var endedButOpen = Checkpoints.Where(c => c.Ended && open.Contains(c.ShardId)).ToList();
        if (endedButOpen.Count > 0)
            await StartOverAsync(endedButOpen, "they say the shards were read to their end, but this stream lists them as open", cancellationToken).ConfigureAwait(false);

        while (!cancellationToken.IsCancellationRequested)
        {
            var shards = await kinesis.ListShardsAsync(options.Stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            var ended = Checkpoints.Where(c => c.Ended).Select(c => c.ShardId).ToHashSet(StringComparer.Ordinal);
            var ready = ShardOrder.ReadyToRead(shards, ended).Where(s => !ended.Contains(s.ShardId)).ToList();

            // Shards are independent (one account stays on one shard), so they are read side by side, as Lambda does.
            var results = await Task.WhenAll(ready.Select(s => PumpAsync(s, cancellationToken))).ConfigureAwait(false);
            bool read = results.Any(r => r.Read), endedNow = results.Any(r => r.Ended);
            // The sweeper judges a carry by the wall clock, so it runs only once the shards are read to their tips: a run
            // restarted after downtime that swept first would close bursts whose next records wait unread on their shard.
            await SweepIfDueAsync(flushAll: false, cancellationToken).ConfigureAwait(false);
            if (endedNow) continue; // children may be ready now

            if (options.UntilIdle)
            {
                if (read) continue;
                foreach (var cp in Checkpoints.Where(c => c.WindowStart is not null))
                    await InvokeAsync(cp, [], final: true, cancellationToken).ConfigureAwait(false);
                // The replay ends: what is still carried closes now, as at the end of a file.
                await SweepIfDueAsync(flushAll: true, cancellationToken).ConfigureAwait(false);
                return;
            }

            // Following a live stream: a window whose end has passed gets its final call even when no record came.
            var now = time.GetUtcNow();
            foreach (var cp in Checkpoints.Where(c => c.WindowStart is { } start && start + options.TumblingWindow <= now))
                await InvokeAsync(cp, [], final: true, cancellationToken).ConfigureAwait(false);
            if (!read)
            {
                try
                {
                    await Task.Delay(options.PollInterval, time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Where a shard without a sequence number starts. StartAt applies only to a shard listed when the run started (or started
    /// over) whose parents were never read: a child born of a reshard, or of a parent read before, starts at its oldest record,
    /// as Lambda starts children at TRIM_HORIZON, or what it received before its parent was drained would be skipped.
    /// </summary>
    private ShardPosition StartOf(Shard shard)
    {
        if (options.StartAt is not { Type: ShardIteratorType.Latest } latest) return options.StartAt ?? ShardPosition.TrimHorizon;
        if (!_listedAtStart.Contains(shard.ShardId)) return ShardPosition.TrimHorizon;
        lock (_checkpoints)
            if (shard.Parents.Any(p => _checkpoints.GetValueOrDefault(p) is { SequenceNumber: not null })) return ShardPosition.TrimHorizon;
        return latest;
    }

    private async Task<(bool Read, bool Ended)> PumpAsync(Shard shard, CancellationToken cancellationToken)
    {
        var (shardId, closed) = (shard.ShardId, shard.IsClosed);
        ShardCheckpoint cp;
        lock (_checkpoints) cp = _checkpoints.GetValueOrDefault(shardId) ?? ShardCheckpoint.Start(shardId);
        var start = StartOf(shard);
        // A shard closed by a reshard is read until the service says it has ended, not only to an empty page: an
        // iterator resumed after the last record may give an empty page first (kinesalite does, when the split came
        // more than a second after that record), and stopping there would never end the parent, so its children
        // would never be read.
        var readerOptions = closed
            ? new ShardReaderOptions { StopAtTip = false, IdleDelay = TimeSpan.FromMilliseconds(200), BatchSize = Math.Max(options.BatchSize, 1000), StartWithoutCheckpoint = start }
            : new ShardReaderOptions { StopAtTip = true, BatchSize = Math.Max(options.BatchSize, 1000), StartWithoutCheckpoint = start };
        var reader = new ShardReader(kinesis, options.Stream, shardId, readerOptions, time);
        var batch = new List<StreamRecord>(options.BatchSize);
        bool read = false;
        try
        {
            // A shard at LATEST with nothing read yet goes on from where its last round stopped, not from a new LATEST.
            var records = cp.SequenceNumber is null && _latestIterators.TryRemove(shardId, out var iterator)
                ? reader.ContinueAsync(iterator, cancellationToken)
                : reader.ReadAsync(cp.SequenceNumber, cancellationToken);
            await foreach (var record in records.ConfigureAwait(false))
            {
                read = true;
                var window = WindowOf(record.ApproximateArrivalTimestamp);
                // A record that arrived just before its window's end can become readable only after that window's final
                // call (made once the end has passed by the wall clock). It joins the next window: opening the finished
                // one again would reuse its carry token, and the carry store, taking the claim for a retry of that final
                // call, would hand back what the window had claimed instead of what it wrote, losing the events between.
                if (cp.LastWindowStart is { } last && window <= last) window = last + options.TumblingWindow;
                if (cp.WindowStart is { } open && open != window)
                {
                    if (batch.Count > 0) cp = await InvokeAsync(cp, batch, final: false, cancellationToken).ConfigureAwait(false);
                    batch.Clear();
                    cp = await InvokeAsync(cp, [], final: true, cancellationToken).ConfigureAwait(false);
                }
                if (cp.WindowStart is null) cp = cp with { WindowStart = window, State = new Dictionary<string, string>() };
                batch.Add(record);
                if (batch.Count == options.BatchSize)
                {
                    cp = await InvokeAsync(cp, batch, final: false, cancellationToken).ConfigureAwait(false);
                    batch.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (read, false); // stopping: the unfinished batch is read again next time
        }
        catch (KinesisException e) when (!read && cp.SequenceNumber is not null && IsFromAnotherStream(e))
        {
            // The service refuses to resume after the checkpoint's sequence number ("… did not come from this stream"):
            // the stream was recreated too soon after the old one for its creation time to differ, or the checkpoint
            // predates the stamp. Nothing of this shard was read yet, so starting over loses nothing.
            await StartOverAsync([cp], e.ServiceMessage, cancellationToken).ConfigureAwait(false);
            return (true, false); // read again from the new start on the next round
        }
        if (batch.Count > 0) cp = await InvokeAsync(cp, batch, final: false, cancellationToken).ConfigureAwait(false);
        if (!read && cp.SequenceNumber is null && start.Type == ShardIteratorType.Latest && reader.NextIterator is { } next) _latestIterators[shardId] = next;

        if (!reader.ShardEnded) return (read, false);
        // A closed, drained parent: its window ends here (Lambda starts children with fresh state), then its children may go.
        if (cp.WindowStart is not null) cp = await InvokeAsync(cp, [], final: true, cancellationToken).ConfigureAwait(false);
        cp = cp with { Ended = true };
        await SaveAsync(cp, cancellationToken).ConfigureAwait(false);
        log($"shard {shardId} is closed and drained; reading its children next");
        return (read, true);
    }

    /// <summary>
    /// Kinesis refusing a sequence number of another stream of this name: "StartingSequenceNumber … is invalid because it did not
    /// come from this stream" (AWS and kinesalite word it alike). Any other InvalidArgumentException is a fault to report, not a
    /// reason to start the shard over.
    /// </summary>
    internal static bool IsFromAnotherStream(KinesisException e) =>
        e.ErrorType == "InvalidArgumentException" && e.ServiceMessage.Contains("did not come from this stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>Runs the sweeper when its interval has passed (always with <paramref name="flushAll"/>), adding its counts to the run's.</summary>
    private async Task SweepIfDueAsync(bool flushAll, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!flushAll && now - _lastSweep < options.SweepInterval) return;
        _lastSweep = now;
        try
        {
            // A replay decides roll-ups once, at its end, as the file host does: the wall clock is far ahead of the records'
            // times, so a sweep on the way would decide groups whose other shards' digests are still to come.
            // Each account's counts are saved with its carry's write (a file store) or right after it: saved once at the end of
            // the sweep, a process killed mid-sweep lost the counts of every account it had swept (their carries were gone).
            await sweeper.SweepAsync($"run-{now.UtcTicks}-{++_sweeps}", flushAll, decideRollups: flushAll || !options.UntilIdle, cancellationToken,
                carriesKeepingCounts is null ? AddSweptAsync : null).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
        {
            // As on AWS, where a failed sweep is simply followed by the next one: each carry is claimed, posted
            // through the ledger and written back one at a time, so a failure loses nothing and posts nothing twice.
            if (flushAll) throw new BatchFailedException($"the final sweep of the carries failed: {e.Message}. Run again with --until-idle: it resumes and closes them.");
            log($"sweep failed ({e.Message}); the next sweep tries again in {Duration.Format(options.SweepInterval)}");
            return;
        }
    }

    /// <summary>Adds one swept account's counts to the sweeper's checkpoint (saved even when the run is being stopped).</summary>
    private async Task AddSweptAsync(RunSummary counts)
    {
        ShardCheckpoint cp;
        lock (_checkpoints) cp = _checkpoints.GetValueOrDefault(SweeperId) ?? ShardCheckpoint.Start(SweeperId);
        await SaveAsync(cp with { Finished = cp.Finished.Add(counts) }, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Checkpoints that belong to an earlier stream of this name: without <see cref="EventSourceMappingOptions.StartAt"/> the run
    /// stops, changing nothing. With it, each such shard's open window gets its final call first (its events go to the carries,
    /// so the old stream's events are still digested and counted), then the shard starts over at StartAt. Its totals and its last
    /// finished window are kept: the totals so the run's counts still add up, the window so a new window never reuses a finished
    /// one's carry token.
    /// </summary>
    private async Task StartOverAsync(IReadOnlyList<ShardCheckpoint> stale, string reason, CancellationToken cancellationToken)
    {
        var shards = string.Join(", ", stale.Select(c => c.ShardId));
        if (options.StartAt is not { } start)
            throw new StaleCheckpointException(
                $"the checkpoints of stream {options.Stream} (shards {shards}) do not belong to it: {reason}. The stream was deleted and recreated under the same name. " +
                "Run again with --start-at trim-horizon to read the new stream from its oldest record, or --start-at latest to read only what is put from now on; " +
                "either way the old stream's open windows are closed and digested first.");
        foreach (var old in stale)
        {
            var cp = old.WindowStart is null ? old : await InvokeAsync(old, [], final: true, cancellationToken).ConfigureAwait(false);
            await SaveAsync(cp with { SequenceNumber = null, Ended = false }, cancellationToken).ConfigureAwait(false);
            _latestIterators.TryRemove(old.ShardId, out _);
        }
        log($"shards {shards}: their checkpoints do not belong to stream {options.Stream} ({reason}); starting them over at {(start.Type == ShardIteratorType.Latest ? "the tip (latest)" : "the oldest record (trim-horizon)")}, as --start-at says");
    }

    /// <summary>Lambda's windows are aligned on multiples of their length, by record arrival time.</summary>
    private DateTimeOffset WindowOf(DateTimeOffset arrival)
    {
        long ticks = options.TumblingWindow.Ticks;
        return new DateTimeOffset(arrival.UtcTicks - arrival.UtcTicks % ticks, TimeSpan.Zero);
    }

    private async Task<ShardCheckpoint> InvokeAsync(ShardCheckpoint cp, IReadOnlyList<StreamRecord> records, bool final, CancellationToken cancellationToken)
    {
        var evt = new KinesisWindowEvent
        {
            Records = [.. records.Select(r => new Pipeline.Lambda.Windows.KinesisRecord(r.SequenceNumber, r.PartitionKey, r.Data) { ArrivalTime = r.ApproximateArrivalTimestamp })],
            ShardId = cp.ShardId,
            EventSourceArn = $"local:stream/{options.Stream}",
            WindowStart = cp.WindowStart,
            WindowEnd = cp.WindowStart + options.TumblingWindow,
            State = cp.State,
            IsFinalInvokeForWindow = final,
        };

        var response = await _retry.CallAsync(cp.ShardId, ct => handler.HandleAsync(evt, ct), cancellationToken).ConfigureAwait(false);

        var summary = response.Summary!;
        var next = final
            ? cp with
            {
                WindowStart = null,
                LastWindowStart = cp.WindowStart,
                State = new Dictionary<string, string>(),
                Finished = cp.Finished.Add(summary),
                OpenWindow = RunTotals.Zero,
                OpenWindowEvents = 0,
            }
            : cp with
            {
                State = response.State ?? new Dictionary<string, string>(),
                OpenWindow = RunTotals.Zero.Add(summary),
                OpenWindowEvents = summary.OpenEvents,
            };
        if (records.Count > 0) next = next with { SequenceNumber = records[^1].SequenceNumber };
        await SaveAsync(next, cancellationToken).ConfigureAwait(false);
        return next;
    }

    private async Task SaveAsync(ShardCheckpoint cp, CancellationToken cancellationToken)
    {
        cp = cp with { StreamCreatedAt = _streamCreatedAt };
        // Saved even when the run is being stopped: the handler's work must not be repeated for nothing.
        await store.SaveAsync(options.Stream, cp, CancellationToken.None).ConfigureAwait(false);
        lock (_checkpoints) _checkpoints[cp.ShardId] = cp;
    }
}
