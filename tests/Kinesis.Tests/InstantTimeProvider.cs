using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Pipeline.Kinesis.Tests;

/// <summary>
/// A FakeTimeProvider whose timers fire at once: every pause the code asks for is recorded in
/// <see cref="Delays"/> and the fake clock jumps ahead by it, so backoff is observable and nothing sleeps.
/// </summary>
internal sealed class InstantTimeProvider : FakeTimeProvider
{
    public ConcurrentQueue<TimeSpan> Delays { get; } = new();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            Delays.Enqueue(dueTime);
            ThreadPool.QueueUserWorkItem(_ => Advance(dueTime));
        }
        return timer;
    }
}
