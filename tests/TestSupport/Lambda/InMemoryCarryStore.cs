using Pipeline.Aggregator.Processing;
using Pipeline.Lambda.Carry;

namespace Pipeline.TestSupport.Lambda;

/// <summary>
/// The carry store in memory, with the DynamoDB store's rules (<see cref="CarryTable"/>: owner, lease, token, prev),
/// for unit tests and local hosts. Counts its calls, so a test can check what a window costs; <see cref="Unavailable"/>
/// makes every call fail, as DynamoDB does in an outage.
/// </summary>
public sealed class InMemoryCarryStore : ICarryStore
{
    private readonly CarryTable _table = new();
    private readonly object _gate = new();
    private int _claims;
    private int _releases;
    private int _dueQueries;

    public bool Unavailable { get; set; }

    /// <summary>ClaimAsync calls so far (one per call, however many accounts).</summary>
    public int Claims => Volatile.Read(ref _claims);

    /// <summary>ReleaseAsync calls so far.</summary>
    public int Releases => Volatile.Read(ref _releases);

    /// <summary>DueAsync calls so far.</summary>
    public int DueQueries => Volatile.Read(ref _dueQueries);

    /// <summary>Every item, decoded: null for a bare claim marker (an account claimed that has no carry).</summary>
    public IReadOnlyDictionary<string, AccountCarry?> Items
    {
        get
        {
            lock (_gate)
                return _table.Items.ToDictionary(i => i.Account, i => i.State is null ? null : AccountCarryCodec.Decode(i.State), StringComparer.Ordinal);
        }
    }

    /// <summary>Who holds the account's claim (lease over or not); null when nobody does or there is no item.</summary>
    public string? OwnerOf(string account)
    {
        lock (_gate) return _table.Find(account)?.Owner;
    }

    /// <summary>When the account's open burst falls due, as stored; null when none is open or there is no item.</summary>
    public DateTimeOffset? DueAtOf(string account)
    {
        lock (_gate) return _table.Find(account)?.DueAtMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    public Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _claims);
        ThrowIfUnavailable();
        CarryClaimResult result;
        lock (_gate) result = _table.Claim(accounts, owner, token, now, leaseUntil);
        return Task.FromResult(result.Conclude());
    }

    public Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _releases);
        ThrowIfUnavailable();
        CarryReleaseResult result;
        lock (_gate) result = _table.Release(writes, owner, token);
        result.ThrowIfConflicts();
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _dueQueries);
        ThrowIfUnavailable();
        lock (_gate) return Task.FromResult(_table.Due(now, limit));
    }

    /// <summary>The digests held for a roll-up decision, decoded.</summary>
    public IReadOnlyList<StoredHeld> Held
    {
        get
        {
            lock (_gate) return _table.ListHeld();
        }
    }

    public Task PutHeldAsync(IReadOnlyList<HeldDigest> digests, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        lock (_gate) _table.PutHeld(digests);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredHeld>> ListHeldAsync(CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        lock (_gate) return Task.FromResult(_table.ListHeld());
    }

    public Task DeleteHeldAsync(IReadOnlyCollection<string> digestIds, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        lock (_gate) _table.DeleteHeld(digestIds);
        return Task.CompletedTask;
    }

    public Task<bool> TryLeasePlannerAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        lock (_gate) return Task.FromResult(_table.LeasePlanner(owner, now, leaseUntil));
    }

    public Task ReleasePlannerAsync(string owner, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        lock (_gate) _table.ReleasePlanner(owner);
        return Task.CompletedTask;
    }

    private void ThrowIfUnavailable()
    {
        if (Unavailable) throw new CarryStoreUnavailableException("carry store unavailable (test switch)");
    }
}
