namespace Pipeline.Cli.Lambda;

/// <summary>What the ledger said about a digest the handler is about to post.</summary>
internal enum ClaimStatus
{
    /// <summary>This attempt owns the digest now: post it, then <see cref="IDigestLedger.MarkPostedAsync"/>.</summary>
    Claimed,
    /// <summary>An earlier attempt posted it and recorded so: do not post again.</summary>
    AlreadyPosted,
    /// <summary>Another attempt claimed it within the lease and has not confirmed: retry the batch later.</summary>
    InProgress,
}

internal sealed record LedgerClaim(string DigestId, ClaimStatus Status, string Token);

/// <summary>
/// Remembers which digests were posted, so a retried invocation (Lambda retries a batch after a failure, a
/// timeout or a crash) cannot post the same digest twice. Digest ids are deterministic (account + first event),
/// so a retry of the same records produces the same ids.
/// </summary>
/// <remarks>
/// Claim → post → mark posted. A claim is a conditional write: it succeeds when the id is absent, expired, or
/// claimed by an attempt whose lease has run out (a crashed attempt). The consequences, crash point by crash point:
/// <list type="bullet">
/// <item>before the claim: nothing recorded, the retry posts. Nothing lost, nothing twice.</item>
/// <item>post fails (Slack/outbox error): the claim is released, the batch is retried, the retry posts.</item>
/// <item>process dies after the claim, before Slack received the digest: the retry waits for the lease, then posts.</item>
/// <item>process dies after Slack received it, before "posted" was recorded: the retry posts it <b>again</b> once the
/// lease has run out. This window (one HTTP response plus one DynamoDB write) is the only way to a duplicate; a
/// webhook has no idempotency key, so no ledger can close it. We chose at-least-once: a security digest lost is
/// worse than one repeated.</item>
/// <item>"posted" cannot be recorded (DynamoDB down right after the post): logged; the invocation still succeeds, so
/// no retry exists to repeat it.</item>
/// </list>
/// </remarks>
internal interface IDigestLedger
{
    Task<LedgerClaim> TryClaimAsync(string digestId, CancellationToken cancellationToken);

    Task MarkPostedAsync(LedgerClaim claim, CancellationToken cancellationToken);

    /// <summary>Gives a claim up after a failed post, so the retry need not wait for the lease.</summary>
    Task ReleaseAsync(LedgerClaim claim, CancellationToken cancellationToken);
}

/// <summary>The ledger could not be reached or answered with an error: a retry may cure it.</summary>
internal sealed class LedgerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The ledger in memory, with the same rules as the DynamoDB one (lease, TTL), for unit tests and local hosts.
/// <see cref="Unavailable"/> makes every call fail, as DynamoDB does in an outage.
/// </summary>
internal sealed class InMemoryDigestLedger(TimeProvider time, TimeSpan lease, TimeSpan ttl) : IDigestLedger
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
