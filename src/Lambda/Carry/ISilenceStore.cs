using Pipeline.Aggregator.Silence;

namespace Pipeline.Lambda.Carry;

/// <summary>
/// Where the function remembers, per account-region, the last event time and how many events came, for the sweeper's
/// silence check (<see cref="SilenceSweeper"/>). A silent account's shard gets no records, so no window of its own
/// can notice the silence: the windows write what they saw, and the sweeper, which sees every account, decides.
/// </summary>
/// <remarks>
/// Crash safety: a window's write is tagged with its call's token (shard + window), so a retried final call does not
/// count its events twice; the last event time only ever moves forward. A silence is marked before it is posted and
/// marked posted after, so a sweep that dies in between posts it again next time, and the ledger refuses the second post.
/// </remarks>
public interface ISilenceStore
{
    /// <summary>Adds a window's sightings (idempotent per <paramref name="token"/>). Throws <see cref="CarryStoreUnavailableException"/> when the store cannot be reached.</summary>
    Task RecordAsync(IReadOnlyList<Sighting> sightings, string token, CancellationToken cancellationToken);

    /// <summary>Every account-region seen.</summary>
    Task<IReadOnlyList<SeenItem>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Marks the account-region silent since <paramref name="last"/>: false when its last event time is no longer
    /// <paramref name="last"/> (events came meanwhile) or it is already marked.
    /// </summary>
    Task<bool> MarkSilentAsync(string account, string region, DateTimeOffset last, CancellationToken cancellationToken);

    /// <summary>Records that the silence since <paramref name="silentSince"/> was posted.</summary>
    Task MarkPostedAsync(string account, string region, DateTimeOffset silentSince, CancellationToken cancellationToken);

    /// <summary>Ends the silence since <paramref name="silentSince"/> (its return was posted); does nothing when another silence is marked by now.</summary>
    Task ClearSilentAsync(string account, string region, DateTimeOffset silentSince, CancellationToken cancellationToken);
}

/// <summary>
/// One account-region as the store holds it: its first and last event times and event count, the first event time written since
/// its silence was marked (<see cref="Resumed"/>), and the silence marked (its start, and whether it was posted).
/// </summary>
public sealed record SeenItem(string Account, string Region, DateTimeOffset First, DateTimeOffset Last, long Count, DateTimeOffset? Resumed, DateTimeOffset? SilentSince, bool SilencePosted);

/// <summary>
/// The silence store in memory, with the same rules as <see cref="DynamoDbSilenceStore"/>: the tests' store, and that
/// of a `pipeline run` whose carries are in a file (it forgets what it saw when the run ends; the ledger still keeps a
/// notice from being posted twice).
/// </summary>
public sealed class MemorySilenceStore : ISilenceStore
{
    private readonly object _gate = new();
    private readonly Dictionary<(string, string), (SeenItem Item, string? Writer)> _items = [];

    public Task RecordAsync(IReadOnlyList<Sighting> sightings, string token, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var s in sightings)
            {
                var key = (s.Account, s.Region);
                if (!_items.TryGetValue(key, out var had))
                {
                    _items[key] = (new SeenItem(s.Account, s.Region, s.First, s.Last, s.Count, s.First, null, false), token);
                    continue;
                }
                if (had.Writer == token) continue; // a retried call: already counted
                var item = had.Item;
                _items[key] = (item with
                {
                    Last = s.Last > item.Last ? s.Last : item.Last,
                    Count = item.Count + s.Count,
                    Resumed = item.Resumed ?? s.First,
                }, token);
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SeenItem>> ListAsync(CancellationToken cancellationToken)
    {
        lock (_gate) return Task.FromResult<IReadOnlyList<SeenItem>>([.. _items.Values.Select(v => v.Item)]);
    }

    public Task<bool> MarkSilentAsync(string account, string region, DateTimeOffset last, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_items.TryGetValue((account, region), out var had) || had.Item.Last != last || had.Item.SilentSince is not null) return Task.FromResult(false);
            _items[(account, region)] = (had.Item with { SilentSince = last, SilencePosted = false, Resumed = null }, had.Writer);
            return Task.FromResult(true);
        }
    }

    public Task MarkPostedAsync(string account, string region, DateTimeOffset silentSince, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_items.TryGetValue((account, region), out var had) && had.Item.SilentSince == silentSince)
                _items[(account, region)] = (had.Item with { SilencePosted = true }, had.Writer);
        }
        return Task.CompletedTask;
    }

    public Task ClearSilentAsync(string account, string region, DateTimeOffset silentSince, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_items.TryGetValue((account, region), out var had) && had.Item.SilentSince == silentSince)
                _items[(account, region)] = (had.Item with { SilentSince = null, SilencePosted = false }, had.Writer);
        }
        return Task.CompletedTask;
    }
}
