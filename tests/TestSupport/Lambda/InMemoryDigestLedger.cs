using Pipeline.Lambda.Ledger;

namespace Pipeline.TestSupport.Lambda;

/// <summary>
/// The ledger in memory, with the same rules as the DynamoDB one (lease, TTL), for unit tests and local hosts.
/// <see cref="Unavailable"/> makes every call fail, as DynamoDB does in an outage.
/// </summary>
public sealed class InMemoryDigestLedger(TimeProvider time, TimeSpan lease, TimeSpan ttl) : IDigestLedger
{
    private sealed record Item(string Status, string Token, DateTimeOffset ClaimedAt, DateTimeOffset ExpiresAt);

    private readonly Dictionary<string, Item> _items = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public InMemoryDigestLedger() : this(TimeProvider.System, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7)) { }

    public bool Unavailable { get; set; }

    public IReadOnlyCollection<string> Posted
    {
        get
        {
            lock (_gate) return [.. _items.Where(kv => kv.Value.Status == "posted").Select(kv => kv.Key)];
        }
    }

    public Task<LedgerClaim> TryClaimAsync(string digestId, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_items.TryGetValue(digestId, out var item) && item.ExpiresAt > now)
            {
                if (item.Status == "posted") return Task.FromResult(new LedgerClaim(digestId, ClaimStatus.AlreadyPosted, item.Token));
                if (item.ClaimedAt + lease > now) return Task.FromResult(new LedgerClaim(digestId, ClaimStatus.InProgress, item.Token));
            }
            var token = Guid.NewGuid().ToString("N");
            _items[digestId] = new Item("pending", token, now, now + ttl);
            return Task.FromResult(new LedgerClaim(digestId, ClaimStatus.Claimed, token));
        }
    }

    public Task MarkPostedAsync(LedgerClaim claim, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        lock (_gate)
        {
            if (_items.TryGetValue(claim.DigestId, out var item) && item.Token == claim.Token)
                _items[claim.DigestId] = item with { Status = "posted" };
        }
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(LedgerClaim claim, CancellationToken cancellationToken)
    {
        ThrowIfUnavailable();
        lock (_gate)
        {
            if (_items.TryGetValue(claim.DigestId, out var item) && item.Token == claim.Token && item.Status == "pending")
                _items[claim.DigestId] = item with { ClaimedAt = DateTimeOffset.MinValue };
        }
        return Task.CompletedTask;
    }

    private void ThrowIfUnavailable()
    {
        if (Unavailable) throw new LedgerUnavailableException("ledger unavailable (test switch)");
    }
}
