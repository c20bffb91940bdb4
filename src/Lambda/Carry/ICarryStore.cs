using Pipeline.Aggregator.Processing;

namespace Pipeline.Lambda.Carry;

/// <summary>
/// Where open bursts wait between windows: one item per account (<see cref="AccountCarry"/>), so the next window of
/// whichever shard gets the account, or the sweeper, takes it over. A carry has one owner at a time: a window claims
/// the accounts it meets (a lease until its end plus <c>CARRY_LEASE</c>) and releases them with its final call.
/// </summary>
/// <remarks>
/// Crash safety: claims are idempotent (the same owner may claim again), and a release is tagged with a token that
/// names the call (shard and window): a retry of that very call finds its own release, reads the carry as it was
/// claimed (<see cref="CarryWrite.Claimed"/>, kept beside the new one) and writes the same result again. Digests are
/// posted before the release, through the digest ledger, so none is lost and none is posted twice.
/// </remarks>
public interface ICarryStore
{
    /// <summary>
    /// Claims the accounts for <paramref name="owner"/> until <paramref name="leaseUntil"/> and returns the carries that
    /// exist. A carry released with <paramref name="token"/> (a retry of the same call) is returned as it was before that release.
    /// An unreadable carry comes back empty with its <see cref="ClaimedCarry.Problem"/>.
    /// Throws <see cref="CarryConflictException"/> when another owner's lease holds one (retry later),
    /// <see cref="CarryStoreUnavailableException"/> when the store cannot be reached.
    /// </summary>
    Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the owner's carries back and ends its claim on them: an empty carry deletes its item. Allowed while the
    /// owner's claim stands or when the item already holds this token's write (a retry). Throws
    /// <see cref="CarryConflictException"/> naming the accounts another owner took meanwhile.
    /// </summary>
    Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken);

    /// <summary>Accounts whose open burst falls due by <paramref name="now"/> and that no live claim holds (the sweeper's work), at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);
}

/// <summary>A carry as a claim found it, with its stored bytes (handed back on release, for a retry of the same call).</summary>
public sealed record ClaimedCarry(AccountCarry Carry, byte[] Bytes)
{
    /// <summary>Why the stored bytes could not be read (then <see cref="Carry"/> is empty); null when they could.</summary>
    public string? Problem { get; init; }
}

/// <summary>
/// One account's carry to write back. <see cref="DueAt"/> is the sweeper's cue (null: no burst open);
/// <see cref="Claimed"/> the bytes the claim read in this same call, if any (kept for a retry of the call).
/// </summary>
public sealed record CarryWrite(string Account, AccountCarry? Carry, DateTimeOffset? DueAt, DateTimeOffset ExpiresAt, byte[]? Claimed = null);

/// <summary>Another owner holds a carry (or took it meanwhile). Retryable: leases end.</summary>
public sealed class CarryConflictException(string message, IReadOnlyList<string> accounts) : Exception(message)
{
    public IReadOnlyList<string> Accounts { get; } = accounts;
}

/// <summary>The carry store could not be reached. Retryable.</summary>
public sealed class CarryStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
