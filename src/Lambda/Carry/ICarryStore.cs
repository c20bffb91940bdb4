using Pipeline.Aggregator.Bursts;
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

    // Held digests and the planner's lease (issue 13): closed digests waiting for a roll-up decision, which shards
    // cannot make alone. They live beside the carries under reserved keys (HeldKeys) that never look like a carry.

    /// <summary>
    /// Parks closed digests for the sweeper's roll-up decision. Idempotent by digest id: a retried call writes the same
    /// items again. Throws <see cref="CarryStoreUnavailableException"/> when the store cannot be reached.
    /// </summary>
    Task PutHeldAsync(IReadOnlyList<HeldDigest> digests, CancellationToken cancellationToken);

    /// <summary>Every held digest (the planner rebuilds its groups from all of them); an unreadable one comes back with its <see cref="StoredHeld.Problem"/>.</summary>
    Task<IReadOnlyList<StoredHeld>> ListHeldAsync(CancellationToken cancellationToken);

    /// <summary>Removes released digests; ids not held are ignored (a retried delete succeeds).</summary>
    Task DeleteHeldAsync(IReadOnlyCollection<string> digestIds, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the planner's lease for <paramref name="owner"/> until <paramref name="leaseUntil"/>: false when another
    /// owner's lease is still live at <paramref name="now"/> (another sweep is deciding). The same owner may take it again.
    /// </summary>
    Task<bool> TryLeasePlannerAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken);

    /// <summary>Ends the owner's planner lease; does nothing when another owner holds it by now.</summary>
    Task ReleasePlannerAsync(string owner, CancellationToken cancellationToken);
}

/// <summary>
/// A closed digest waiting for the roll-up planner, with the tumbling window of the call that parked it (how late its
/// shard may have been: the sweeper lets groups settle that long) and when the store may drop it (TTL, a safety net).
/// </summary>
public sealed record HeldDigest(Digest Digest, TimeSpan Window, DateTimeOffset ExpiresAt)
{
    /// <summary>Largest encoded digest that is held; a larger one is posted at once (DynamoDB's item limit is 400 KB).</summary>
    public const int MaxBytes = 350_000;

    public byte[] Encode() => DigestCodec.Encode(Digest);
}

/// <summary>A held digest as a listing found it: decoded, or with the <see cref="Problem"/> that kept it from being read.</summary>
public sealed record StoredHeld(string DigestId, HeldDigest? Held, string? Problem = null)
{
    /// <summary>Decodes stored bytes; bytes that are not a digest come back with their problem instead of failing the listing.</summary>
    public static StoredHeld From(string digestId, byte[]? bytes, long windowMs, long expiresAtSeconds)
    {
        if (bytes is null) return new StoredHeld(digestId, null, $"held digest {digestId} has no bytes");
        try
        {
            var digest = DigestCodec.Decode(bytes);
            return new StoredHeld(digestId, new HeldDigest(digest, TimeSpan.FromMilliseconds(windowMs), DateTimeOffset.FromUnixTimeSeconds(expiresAtSeconds)));
        }
        catch (FormatException e)
        {
            return new StoredHeld(digestId, null, $"held digest {digestId} is unreadable: {e.Message}");
        }
    }
}

/// <summary>
/// The carry table's reserved keys: held digests (<c>held#DIGESTID</c>) and the planner's lease (<c>planner#lease</c>).
/// An account id is twelve digits, so a key with <c>#</c> is never an account's; such items have no <c>dueAt</c>, so the
/// sweeper's scan for due carries never returns them.
/// </summary>
public static class HeldKeys
{
    public const string HeldPrefix = "held#";
    public const string PlannerLease = "planner#lease";

    public static string Held(string digestId) => HeldPrefix + digestId;

    /// <summary>True for a key no account may use (a partition key with one is not claimed as a carry).</summary>
    public static bool IsReserved(string key) => key.Contains('#', StringComparison.Ordinal);
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
public sealed record CarryWrite(string Account, AccountCarry? Carry, DateTimeOffset? DueAt, DateTimeOffset ExpiresAt, byte[]? Claimed = null)
{
    /// <summary>
    /// What the sweeper counted for this account (carried in, digested, carried out), or null for a window's write. A store
    /// that keeps a host's totals (the file of `pipeline run`) adds them in the same atomic write as the carry, and only when
    /// the write applies: a sweep has no retry that could count them again, so counts saved in a second write were lost to a
    /// process killed between the two. The table store ignores them (the function keeps no totals across invocations).
    /// </summary>
    public RunSummary? SweptCounts { get; init; }
}

/// <summary>Another owner holds a carry (or took it meanwhile). Retryable: leases end.</summary>
public sealed class CarryConflictException(string message, IReadOnlyList<string> accounts) : Exception(message)
{
    public IReadOnlyList<string> Accounts { get; } = accounts;
}

/// <summary>The carry store could not be reached. Retryable.</summary>
public sealed class CarryStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
