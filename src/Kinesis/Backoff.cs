namespace Pipeline.Kinesis;

/// <summary>Exponential backoff: base × 2^(attempt−1), capped, optionally with "equal jitter" (half fixed, half random).</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay, bool jitter)
    {
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 30);
        var ticks = Math.Min(maxDelay.Ticks, baseDelay.Ticks * (1L << Math.Min(exponent, 20)));
        if (!jitter) return TimeSpan.FromTicks(ticks);
        // Many writers throttled together must not retry in lockstep.
        return TimeSpan.FromTicks(ticks / 2 + (long)(Random.Shared.NextDouble() * (ticks / 2)));
    }
}
