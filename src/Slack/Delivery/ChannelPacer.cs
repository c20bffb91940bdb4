namespace Pipeline.Slack.Delivery;

/// <summary>
/// Keeps messages to one channel at least <c>interval</c> apart (Slack: about one per second per channel), and
/// holds a channel back after a 429 until its Retry-After has passed. Channels do not wait for each other. The sender
/// holds a channel only for a Retry-After within <see cref="SlackDeliveryOptions.MaxRetryAfter"/>, so no wait is ever
/// longer than that (plus one pacing interval).
/// </summary>
internal sealed class ChannelPacer(TimeSpan interval, TimeProvider time)
{
    private readonly Dictionary<string, DateTimeOffset> _next = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>Waits for the channel's turn and books the next one.</summary>
    public async Task WaitTurnAsync(string channel, CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            var at = _next.TryGetValue(channel, out var next) && next > now ? next : now;
            wait = at - now;
            _next[channel] = at + interval;
        }
        if (wait > TimeSpan.Zero) await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Slack asked this channel to wait: nothing else goes to it before then.</summary>
    public void HoldUntil(string channel, DateTimeOffset until)
    {
        lock (_gate)
        {
            if (!_next.TryGetValue(channel, out var next) || next < until) _next[channel] = until;
        }
    }
}
