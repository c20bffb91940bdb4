using System.Collections.Concurrent;

namespace Pipeline.TestSupport;

/// <summary>
/// A clock on which every wait ends at once: a timer due in <c>d</c> moves the clock to (its start + d) and fires
/// immediately. Code under test that waits (backoff, Retry-After, pacing) runs at full speed, and the test reads
/// how long it would have waited from <see cref="Delays"/> and <see cref="TimeProvider.GetUtcNow"/>.
/// </summary>
public sealed class InstantTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _utcTicks = start.UtcTicks;

    public InstantTimeProvider() : this(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero)) { }

    /// <summary>Every wait requested, in order.</summary>
    public ConcurrentQueue<TimeSpan> Delays { get; } = new();

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new InstantTimer(this, callback, state, dueTime);

    private void AdvanceTo(long ticks)
    {
        long seen;
        do
        {
            seen = Interlocked.Read(ref _utcTicks);
            if (seen >= ticks) return;
        }
        while (Interlocked.CompareExchange(ref _utcTicks, ticks, seen) != seen);
    }

    private sealed class InstantTimer : ITimer
    {
        private readonly InstantTimeProvider _clock;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private volatile bool _disposed;

        public InstantTimer(InstantTimeProvider clock, TimerCallback callback, object? state, TimeSpan dueTime)
        {
            _clock = clock;
            _callback = callback;
            _state = state;
            Change(dueTime, Timeout.InfiniteTimeSpan);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed || dueTime == Timeout.InfiniteTimeSpan) return !_disposed;
            _clock.Delays.Enqueue(dueTime);
            _clock.AdvanceTo(_clock.GetUtcNow().UtcTicks + dueTime.Ticks);
            ThreadPool.QueueUserWorkItem(_ => { if (!_disposed) _callback(_state); });
            return true;
        }

        public void Dispose() => _disposed = true;

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
