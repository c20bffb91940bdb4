using Microsoft.Extensions.Time.Testing;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>A fake clock that counts the timers made on it: `run` makes one each time it waits for the stream.</summary>
internal sealed class CountingTime(DateTimeOffset start) : FakeTimeProvider(start)
{
    private int _timers;

    public int Timers => Volatile.Read(ref _timers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timers);
        return timer;
    }

    /// <summary>Returns once <paramref name="following"/> (a run following its stream) has come back to wait for it, after what it was doing.</summary>
    public async Task NextWaitAsync(Task following)
    {
        var timers = Timers;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Timers == timers && !following.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.False(following.IsCompleted, following.Exception?.ToString());
        Assert.True(Timers > timers, "run did not come back to wait for the stream");
    }
}
