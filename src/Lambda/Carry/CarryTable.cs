using Pipeline.Aggregator.Processing;

namespace Pipeline.Lambda.Carry;

/// <summary>
/// One account's item in a carry store, as DynamoDB holds it (<see cref="DynamoDbCarryStore"/> has the attribute names):
/// the carry's bytes (null for a bare claim marker), the bytes the last release had claimed (<see cref="Prev"/>) and its
/// token (<see cref="Writer"/>), the owner and its lease (epoch ms), when the open burst falls due (epoch ms, null when
/// none is open) and when the item may go (epoch seconds, the TTL).
/// </summary>
public sealed record CarryItem(string Account, byte[]? State, byte[]? Prev, string? Writer, string? Owner, long OwnedUntilMs, long? DueAtMs, long ExpiresAtSeconds);

/// <summary>A held digest as a store keeps it: the digest's bytes (<see cref="Aggregator.Bursts.DigestCodec"/>), the parking call's window (ms) and the TTL (epoch seconds).</summary>
public sealed record HeldItem(string DigestId, byte[] Bytes, long WindowMs, long ExpiresAtSeconds);

/// <summary>An account a claim or a release could not take, and who held it (null when the item had no owner).</summary>
public sealed record CarryHolder(string Account, string? Owner);

/// <summary>
/// What a claim did before it is judged: the accounts it claimed with the bytes they hold for this call (null: no
/// carry), and those another owner's lease holds. Those it claimed stay claimed even when others conflict, as they do
/// in DynamoDB, where each account is its own conditional write.
/// </summary>
public sealed record CarryClaimResult(IReadOnlyList<KeyValuePair<string, byte[]?>> Claimed, IReadOnlyList<CarryHolder> Conflicts)
{
    /// <summary>The carries found, decoded. Throws <see cref="CarryConflictException"/> when any account was held. Bytes
    /// that are not a carry come back as an empty carry with its <see cref="ClaimedCarry.Problem"/>: failing would block
    /// every batch that meets the account, so the caller starts it afresh and says what was lost.</summary>
    public IReadOnlyList<ClaimedCarry> Conclude()
    {
        if (Conflicts.Count > 0)
            throw new CarryConflictException(
                $"carry held by another owner's lease (retry when it ends): {CarryTable.Describe(Conflicts)}",
                [.. Conflicts.Select(c => c.Account)]);
        var carries = new List<ClaimedCarry>();
        foreach (var (account, bytes) in Claimed)
        {
            if (bytes is null) continue;
            try
            {
                carries.Add(new ClaimedCarry(AccountCarryCodec.Decode(bytes), bytes));
            }
            catch (FormatException e)
            {
                carries.Add(new ClaimedCarry(new AccountCarry(account, null, null, []), bytes) { Problem = $"the carry of account {account} is unreadable: {e.Message}" });
            }
        }
        return carries;
    }
}

/// <summary>What a release did: how many writes landed, and the accounts another owner had taken meanwhile.</summary>
public sealed record CarryReleaseResult(int Applied, IReadOnlyList<CarryHolder> Conflicts)
{
    public void ThrowIfConflicts()
    {
        if (Conflicts.Count > 0)
            throw new CarryConflictException(
                $"carry taken over by another owner meanwhile, not written: {CarryTable.Describe(Conflicts)}",
                [.. Conflicts.Select(c => c.Account)]);
    }
}

/// <summary>
/// The carry store's rules over items in memory, condition for condition the same as <see cref="DynamoDbCarryStore"/>'s
/// conditional writes, so the local stores (the file of `pipeline run`, the tests' in-memory store) behave as the
/// table does. Not thread-safe: its user holds a gate around each call. Expired items are kept (DynamoDB's TTL is lazy
/// too, and nothing reads <c>expiresAt</c>).
/// </summary>
public sealed class CarryTable
{
    private readonly Dictionary<string, CarryItem> _items = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, HeldItem> _held = new(StringComparer.Ordinal);

    public CarryTable()
    {
    }

    /// <summary>A table holding <paramref name="items"/> and <paramref name="held"/> digests; throws <see cref="ArgumentException"/> when a key comes twice.</summary>
    public CarryTable(IEnumerable<CarryItem> items, IEnumerable<HeldItem> held)
        : this(items)
    {
        ArgumentNullException.ThrowIfNull(held);
        foreach (var item in held) _held.Add(item.DigestId, item);
    }

    /// <summary>The held digests, by id.</summary>
    public IReadOnlyCollection<HeldItem> HeldItems => _held.Values;

    /// <summary>PutItem per digest, unconditional: the same digest id always holds the same digest, so a repeat is harmless.</summary>
    public void PutHeld(IReadOnlyList<HeldDigest> digests)
    {
        ArgumentNullException.ThrowIfNull(digests);
        foreach (var held in digests)
            _held[held.Digest.DigestId] = new HeldItem(held.Digest.DigestId, held.Encode(), (long)held.Window.TotalMilliseconds, held.ExpiresAt.ToUnixTimeSeconds());
    }

    public IReadOnlyList<StoredHeld> ListHeld() =>
        [.. _held.Values.Select(h => StoredHeld.From(h.DigestId, h.Bytes, h.WindowMs, h.ExpiresAtSeconds))];

    /// <summary>DeleteItem per id (no condition): the number removed.</summary>
    public int DeleteHeld(IReadOnlyCollection<string> digestIds)
    {
        ArgumentNullException.ThrowIfNull(digestIds);
        return digestIds.Count(_held.Remove);
    }

    /// <summary>The planner's lease is a claim on its reserved key, with the claim's condition: free, ours, or run out.</summary>
    public bool LeasePlanner(string owner, DateTimeOffset now, DateTimeOffset leaseUntil) =>
        Claim([HeldKeys.PlannerLease], owner, owner, now, leaseUntil).Conflicts.Count == 0;

    /// <summary>Deletes the lease item when <paramref name="owner"/> holds it (the release's condition); leaves another owner's.</summary>
    public void ReleasePlanner(string owner) =>
        Release([new CarryWrite(HeldKeys.PlannerLease, null, null, DateTimeOffset.UnixEpoch)], owner, owner);

    /// <summary>A table holding <paramref name="items"/>; throws <see cref="ArgumentException"/> when an account comes twice.</summary>
    public CarryTable(IEnumerable<CarryItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items) _items.Add(item.Account, item);
    }

    public IReadOnlyCollection<CarryItem> Items => _items.Values;

    public CarryItem? Find(string account) => _items.GetValueOrDefault(account);

    /// <summary>
    /// For each account: <c>attribute_not_exists(owner) OR owner = :owner OR ownedUntil &lt; :now</c>, then
    /// <c>SET owner, ownedUntil, expiresAt = if_not_exists(expiresAt, lease + 1 day)</c> (an account with no item gets a
    /// bare marker, which its TTL removes if the owner never releases it).
    /// </summary>
    public CarryClaimResult Claim(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil)
    {
        var nowMs = EpochMs(now);
        var claimed = new List<KeyValuePair<string, byte[]?>>();
        var conflicts = new List<CarryHolder>();
        foreach (var account in DistinctAccounts(accounts))
        {
            var item = Find(account);
            if (item is { Owner: { } holder } && holder != owner && !(item.OwnedUntilMs < nowMs))
            {
                conflicts.Add(new CarryHolder(account, holder));
                continue;
            }
            item = (item ?? new CarryItem(account, null, null, null, null, 0, null, MarkerExpiresAt(leaseUntil)))
                with { Owner = owner, OwnedUntilMs = EpochMs(leaseUntil) };
            _items[account] = item;
            // Copies: the caller hands these back on release, and must not be able to change what is stored.
            claimed.Add(new(account, ClaimedBytes(item, token)?.ToArray()));
        }
        return new CarryClaimResult(claimed, conflicts);
    }

    /// <summary>
    /// For each write, when <c>attribute_not_exists(account) OR owner = :owner OR (writer = :token AND
    /// attribute_not_exists(owner))</c>: an empty carry deletes the item, any other replaces it (no owner any more).
    /// </summary>
    public CarryReleaseResult Release(IReadOnlyList<CarryWrite> writes, string owner, string token)
    {
        CheckWrites(writes);
        int applied = 0;
        var conflicts = new List<CarryHolder>();
        foreach (var write in writes)
        {
            var item = Find(write.Account);
            if (item is not null && !MayRelease(item, owner, token))
            {
                conflicts.Add(new CarryHolder(write.Account, item.Owner));
                continue;
            }
            if (IsDelete(write))
                _items.Remove(write.Account);
            else
                _items[write.Account] = new CarryItem(
                    write.Account, write.Carry is { IsEmpty: false } carry ? AccountCarryCodec.Encode(carry) : null, write.Claimed?.ToArray(), token, null, 0,
                    write.DueAt is { } due ? EpochMs(due) : null, write.ExpiresAt.ToUnixTimeSeconds());
            applied++;
        }
        return new CarryReleaseResult(applied, conflicts);
    }

    /// <summary>
    /// Nothing left and nothing claimed in this call: the item goes. When the call did claim a carry, an item with no
    /// state stays behind holding what it claimed (<c>prev</c>) under its token, so a retry of the call reads the carry
    /// as it was, not nothing (which would digest the retried records a second time under another first event).
    /// </summary>
    public static bool IsDelete(CarryWrite write) => (write.Carry is null || write.Carry.IsEmpty) && write.Claimed is null;

    /// <summary><c>dueAt &lt;= :now AND (attribute_not_exists(owner) OR ownedUntil &lt; :now)</c>, the soonest due first.</summary>
    public IReadOnlyList<string> Due(DateTimeOffset now, int limit)
    {
        var nowMs = EpochMs(now);
        return [.. _items.Values
            .Where(i => i.DueAtMs <= nowMs && (i.Owner is null || i.OwnedUntilMs < nowMs))
            .OrderBy(i => i.DueAtMs).ThenBy(i => i.Account, StringComparer.Ordinal)
            .Take(Math.Max(limit, 0))
            .Select(i => i.Account)];
    }

    /// <summary>
    /// The bytes a claim with <paramref name="token"/> reads: a retry of the very call that wrote the item reads what
    /// that call had claimed, so it computes the same result again; any other call reads the carry.
    /// </summary>
    public static byte[]? ClaimedBytes(CarryItem item, string token)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.Writer == token ? item.Prev : item.State;
    }

    /// <summary>
    /// A release may write while its owner's claim stands (even past the lease, if nobody took over), or when the item
    /// holds this token's own unowned write (the same release, retried). Not when another owner has claimed since: that
    /// owner read the carry and will write it back, so overwriting it would take its claim away from under it.
    /// </summary>
    public static bool MayRelease(CarryItem item, string owner, string token)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.Owner == owner || (item.Owner is null && item.Writer == token);
    }

    /// <summary>
    /// Epoch milliseconds. <see cref="DateTimeOffset.ToUnixTimeMilliseconds"/> covers the whole range, MaxValue (a
    /// flush of everything) included, and no real lease or due time reaches it, so no clamping is needed.
    /// </summary>
    public static long EpochMs(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    /// <summary>A bare marker's TTL (epoch seconds): a day past the lease, so an abandoned claim disappears.</summary>
    public static long MarkerExpiresAt(DateTimeOffset leaseUntil) =>
        (leaseUntil > DateTimeOffset.MaxValue - TimeSpan.FromDays(1) ? DateTimeOffset.MaxValue : leaseUntil + TimeSpan.FromDays(1)).ToUnixTimeSeconds();

    /// <summary>The accounts once each, in the order given.</summary>
    public static IReadOnlyList<string> DistinctAccounts(IReadOnlyCollection<string> accounts)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        return [.. accounts.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>One write per account: two would race in DynamoDB, and which one lands would be chance.</summary>
    public static void CheckWrites(IReadOnlyList<CarryWrite> writes)
    {
        ArgumentNullException.ThrowIfNull(writes);
        var twice = writes.GroupBy(w => w.Account, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"two carry writes for account {twice.Key} in one release", nameof(writes));
    }

    internal static string Describe(IReadOnlyList<CarryHolder> holders) =>
        string.Join(", ", holders.Select(h => h.Owner is null ? $"account {h.Account}" : $"account {h.Account} (owner {h.Owner})"));
}
