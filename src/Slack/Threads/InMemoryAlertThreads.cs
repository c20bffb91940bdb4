namespace Pipeline.Slack.Threads;

/// <summary>
/// <see cref="IAlertThreads"/> for one process (the file hosts): a burst's alerts and its digest are posted by the same
/// run, so memory is enough. Bounded: past <see cref="Capacity"/> entries the oldest are forgotten, whose digests (long
/// since posted in any realistic run) would then only lose their thread.
/// </summary>
public sealed class InMemoryAlertThreads(int capacity = InMemoryAlertThreads.DefaultCapacity) : IAlertThreads
{
    public const int DefaultCapacity = 10_000;

    private readonly Dictionary<(string AlertId, string Channel), string> _threads = [];
    private readonly Queue<(string AlertId, string Channel)> _order = new();
    private readonly object _gate = new();

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), "the capacity must be positive");

    public Task RememberAsync(string alertId, string channel, string ts, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_threads.TryAdd((alertId, channel), ts))
            {
                _order.Enqueue((alertId, channel));
                while (_order.Count > Capacity) _threads.Remove(_order.Dequeue());
            }
            else
            {
                _threads[(alertId, channel)] = ts; // posted again (a resend): its newest message is the thread to follow
            }
        }
        return Task.CompletedTask;
    }

    public Task<string?> FindAsync(string alertId, string channel, CancellationToken cancellationToken)
    {
        lock (_gate) return Task.FromResult(_threads.GetValueOrDefault((alertId, channel)));
    }
}
