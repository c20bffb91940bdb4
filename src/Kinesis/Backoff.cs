namespace Pipeline.Kinesis;

/// <summary>Exponential backoff: base × 2^(attempt−1), capped, optionally with "equal jitter" (half fixed, half random).</summary>
internal static class Backoff
{
    /// <param name="attempt">The attempt that just failed, from 1.</param>
    /// <param name="jitter">A number in [0, 1) per call, or null for exact delays.</param>
    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay, Func<double>? jitter)
    {
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 30);
        var ticks = Math.Min(maxDelay.Ticks, baseDelay.Ticks * (1L << Math.Min(exponent, 20)));
        if (jitter is null) return TimeSpan.FromTicks(ticks);
        // Many writers throttled together must not retry in lockstep.
        return TimeSpan.FromTicks(ticks / 2 + (long)(jitter() * (ticks / 2)));
    }

    /// <summary>
    /// A jitter source of one's own, seeded by the system unless <paramref name="seed"/> is given. Safe to call
    /// from several threads (a <see cref="Random"/> instance is not), and no process-wide state is shared.
    /// </summary>
    public static Func<double> NewJitterSource(int? seed = null)
    {
        var random = seed is { } s ? new Random(s) : new Random();
        return () =>
        {
            lock (random) return random.NextDouble();
        };
    }
}
