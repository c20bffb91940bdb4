using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Model;
using Pipeline.Lambda.Carry;
using Xunit;

namespace Pipeline.TestSupport.Lambda;

/// <summary>
/// What every <see cref="ICarryStore"/> must do, run against each of them (DynamoDB on dynalite, the file of
/// `pipeline run`, the in-memory one): a derived class supplies a fresh store and a way to look at its items
/// behind its back. Times are fixed values passed in, as the window handler passes its clock's.
/// </summary>
public abstract class CarryStoreContract
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    protected static readonly DateTimeOffset Expires = T0 + TimeSpan.FromDays(1);

    protected const string A = "111111111111";
    protected const string B = "222222222222";
    protected const string C = "333333333333";
    protected const string D = "444444444444";
    protected const string E = "555555555555";

    /// <summary>A fresh, empty store (a new table, a new file).</summary>
    protected abstract Task<ICarryStore> NewStoreAsync();

    /// <summary>Whether the last new store holds an item for the account, and its owner, read behind the store's back.</summary>
    protected abstract Task<(bool Exists, string? Owner)> ReadItemAsync(string account);

    /// <summary>Whether a conflict can name the other owner (dynalite does not return the item that failed a condition).</summary>
    protected virtual bool NamesTheHolder => true;

    /// <summary>A carry with something in every part: an open burst with counts, a pending one with muted counts, dedupe ids.</summary>
    public static AccountCarry SampleCarry(string account, int events = 7)
    {
        var open = new BurstBuilder(account, T0)
        {
            LastSeenAt = T0 + TimeSpan.FromMinutes(2),
            FirstEventTime = T0 - TimeSpan.FromSeconds(1),
            LastEventTime = T0 + TimeSpan.FromMinutes(2),
            FirstEventId = "evt-1",
            AccountInfo = new AccountInfo(account, "payments-prod") { Environment = "prod" },
            EventCount = events,
            ErrorCount = 2,
            ReadOnlyCount = 3,
            RiskyCount = 1,
            Duplicates = 1,
            LateCount = 1,
            LateMaxDelay = TimeSpan.FromSeconds(90),
        };
        open.EventNames["ConsoleLogin"] = 4;
        open.EventNames["CreateUser"] = events - 4;
        open.Principals["alice"] = events;
        open.Regions["eu-west-1"] = events;
        open.AddMuted("noisy-scanner", 2);
        var pending = new BurstBuilder(account, T0 + TimeSpan.FromMinutes(3)) { Duplicates = 2 };
        pending.AddMuted("quiet-hours", 5);
        Deduplicator.Entry[] dedupe =
        [
            new((UInt128)0xDEADBEEF << 64 | 42, T0.UtcTicks, account),
            new(UInt128.MaxValue, (T0 + TimeSpan.FromMinutes(1)).UtcTicks, account),
        ];
        return new AccountCarry(account, open, pending, dedupe);
    }

    /// <summary>A carry with nothing but dedupe ids: no burst open, so never due.</summary>
    public static AccountCarry DedupeOnly(string account) =>
        new(account, null, null, [new Deduplicator.Entry(7, T0.UtcTicks, account)]);

    public static void AssertSameCarry(AccountCarry expected, ClaimedCarry actual)
    {
        Assert.Equal(AccountCarryCodec.Encode(expected), actual.Bytes);
        var carry = actual.Carry;
        Assert.Equal(expected.Account, carry.Account);
        Assert.Equal(expected.Dedupe, carry.Dedupe);
        Assert.Equal(expected.Open is null, carry.Open is null);
        if (expected.Open is { } open)
        {
            Assert.Equal(open.EventCount, carry.Open!.EventCount);
            Assert.Equal(open.ErrorCount, carry.Open.ErrorCount);
            Assert.Equal(open.LastSeenAt, carry.Open.LastSeenAt);
            Assert.Equal(open.EventNames, carry.Open.EventNames);
            Assert.Equal(open.Principals, carry.Open.Principals);
            Assert.Equal(open.Muted, carry.Open.Muted);
            Assert.Equal(open.AccountInfo, carry.Open.AccountInfo);
        }
        Assert.Equal(expected.Pending is null, carry.Pending is null);
        if (expected.Pending is { } pending)
        {
            Assert.Equal(pending.OpenedAt, carry.Pending!.OpenedAt);
            Assert.Equal(pending.Muted, carry.Pending.Muted);
            Assert.Equal(pending.Duplicates, carry.Pending.Duplicates);
        }
    }

    /// <summary>Leaves <paramref name="carry"/> in the store, unowned, as an earlier window would have (claimed and released an hour before T0).</summary>
    protected static async Task StoreAsync(ICarryStore store, AccountCarry carry, DateTimeOffset? dueAt)
    {
        var earlier = T0 - TimeSpan.FromHours(1);
        await store.ClaimAsync([carry.Account], "earlier-window", "earlier:" + carry.Account, earlier, earlier + Lease, default);
        await store.ReleaseAsync([new CarryWrite(carry.Account, carry, dueAt, Expires)], "earlier-window", "earlier:" + carry.Account, default);
    }

    [SkippableFact]
    public async Task Claiming_an_unknown_account_returns_nothing_and_marks_it_owned()
    {
        var store = await NewStoreAsync();

        Assert.Empty(await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default));

        Assert.Equal((true, "w1"), await ReadItemAsync(A));
        // The same owner may claim again (a retried call), and still finds nothing.
        Assert.Empty(await store.ClaimAsync([A, A], "w1", "t1", T0 + TimeSpan.FromSeconds(1), T0 + Lease, default));
    }

    [SkippableFact]
    public async Task Another_owner_cannot_claim_within_the_lease_and_is_told_which_account_is_held()
    {
        var store = await NewStoreAsync();
        await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default);

        var conflict = await Assert.ThrowsAsync<CarryConflictException>(
            () => store.ClaimAsync([A, B], "w2", "t2", T0 + Lease, T0 + 2 * Lease, default));

        Assert.Equal([A], conflict.Accounts);
        Assert.Contains(A, conflict.Message, StringComparison.Ordinal);
        if (NamesTheHolder) Assert.Contains("w1", conflict.Message, StringComparison.Ordinal);
        Assert.Equal((true, "w1"), await ReadItemAsync(A));
        // Each account is claimed on its own: the free one is the second owner's now.
        Assert.Equal((true, "w2"), await ReadItemAsync(B));
    }

    [SkippableFact]
    public async Task After_the_lease_another_owner_claims_the_account()
    {
        var store = await NewStoreAsync();
        await StoreAsync(store, SampleCarry(A), T0 + TimeSpan.FromMinutes(10));
        await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default);

        var claimed = await store.ClaimAsync([A], "w2", "t2", T0 + Lease + TimeSpan.FromMilliseconds(1), T0 + 2 * Lease, default);

        AssertSameCarry(SampleCarry(A), Assert.Single(claimed));
        Assert.Equal((true, "w2"), await ReadItemAsync(A));
    }

    [SkippableFact]
    public async Task A_released_carry_comes_back_intact_to_the_next_owner()
    {
        var store = await NewStoreAsync();
        await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default);

        await store.ReleaseAsync([new CarryWrite(A, SampleCarry(A), T0 + TimeSpan.FromMinutes(10), Expires)], "w1", "t1", default);

        Assert.Equal((true, null), await ReadItemAsync(A));
        var claimed = await store.ClaimAsync([A, B], "w2", "t2", T0 + TimeSpan.FromMinutes(1), T0 + Lease, default);
        AssertSameCarry(SampleCarry(A), Assert.Single(claimed));
    }

    [SkippableFact]
    public async Task Releasing_an_empty_carry_deletes_the_item()
    {
        var store = await NewStoreAsync();
        await StoreAsync(store, SampleCarry(A), T0 + TimeSpan.FromMinutes(10));
        await store.ClaimAsync([A, B], "w1", "t1", T0, T0 + Lease, default);

        await store.ReleaseAsync(
            [new CarryWrite(A, new AccountCarry(A, null, null, []), null, Expires), new CarryWrite(B, null, null, Expires)],
            "w1", "t1", default);

        Assert.Equal((false, null), await ReadItemAsync(A));
        Assert.Equal((false, null), await ReadItemAsync(B));
        Assert.Empty(await store.ClaimAsync([A, B], "w2", "t2", T0 + TimeSpan.FromMinutes(1), T0 + Lease, default));
    }

    [SkippableFact]
    public async Task A_release_retried_with_the_same_token_succeeds()
    {
        var store = await NewStoreAsync();
        await store.ClaimAsync([A, B], "w1", "t1", T0, T0 + Lease, default);
        CarryWrite[] writes = [new(A, SampleCarry(A), T0 + TimeSpan.FromMinutes(10), Expires), new(B, null, null, Expires)];
        await store.ReleaseAsync(writes, "w1", "t1", default);

        // The first landed, but its answer was lost (a timeout): the same call writes again.
        await store.ReleaseAsync(writes, "w1", "t1", default);

        Assert.Equal((true, null), await ReadItemAsync(A));
        Assert.Equal((false, null), await ReadItemAsync(B));
        AssertSameCarry(SampleCarry(A), Assert.Single(await store.ClaimAsync([A, B], "w2", "t2", T0, T0 + Lease, default)));
    }

    [SkippableFact]
    public async Task A_claim_by_the_call_that_released_reads_the_carry_as_that_call_had_claimed_it()
    {
        var store = await NewStoreAsync();
        var before = SampleCarry(A, events: 7);
        var after = SampleCarry(A, events: 12);
        await StoreAsync(store, before, T0 + TimeSpan.FromMinutes(10));
        var first = Assert.Single(await store.ClaimAsync([A], "shard-1", "shard-1:window-9", T0, T0 + Lease, default));
        await store.ReleaseAsync([new CarryWrite(A, after, T0 + TimeSpan.FromMinutes(12), Expires, first.Bytes)], "shard-1", "shard-1:window-9", default);

        // The call is retried (it failed after releasing): it must compute from what it read the first time.
        var retried = Assert.Single(await store.ClaimAsync([A], "shard-1", "shard-1:window-9", T0 + TimeSpan.FromMinutes(1), T0 + Lease, default));
        // Any other call reads the carry as released.
        var next = Assert.Single(await store.ClaimAsync([A], "shard-1", "shard-1:window-10", T0 + TimeSpan.FromMinutes(2), T0 + Lease, default));

        AssertSameCarry(before, retried);
        Assert.Equal(first.Bytes, retried.Bytes);
        AssertSameCarry(after, next);
    }

    [SkippableFact]
    public async Task A_claim_by_the_call_that_released_reads_nothing_when_that_call_had_claimed_nothing()
    {
        var store = await NewStoreAsync();
        Assert.Empty(await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default));
        await store.ReleaseAsync([new CarryWrite(A, SampleCarry(A), T0 + TimeSpan.FromMinutes(10), Expires, Claimed: null)], "w1", "t1", default);

        Assert.Empty(await store.ClaimAsync([A], "w1", "t1", T0 + TimeSpan.FromMinutes(1), T0 + Lease, default));
        AssertSameCarry(SampleCarry(A), Assert.Single(await store.ClaimAsync([A], "w1", "t9", T0 + TimeSpan.FromMinutes(1), T0 + Lease, default)));
    }

    [SkippableFact]
    public async Task A_release_after_another_owner_took_over_names_those_accounts_while_the_other_writes_land()
    {
        var store = await NewStoreAsync();
        await store.ClaimAsync([A, B, C], "w1", "t1", T0, T0 + TimeSpan.FromMinutes(1), default);
        // w1 stalls past its lease; w2 takes A and C.
        await store.ClaimAsync([A, C], "w2", "t2", T0 + TimeSpan.FromMinutes(2), T0 + TimeSpan.FromMinutes(2) + Lease, default);

        var conflict = await Assert.ThrowsAsync<CarryConflictException>(() => store.ReleaseAsync(
            [new CarryWrite(A, SampleCarry(A), T0 + TimeSpan.FromMinutes(10), Expires), new CarryWrite(B, SampleCarry(B), T0 + TimeSpan.FromMinutes(10), Expires), new CarryWrite(C, null, null, Expires)],
            "w1", "t1", default));

        Assert.Equal([A, C], conflict.Accounts);
        Assert.Contains(A, conflict.Message, StringComparison.Ordinal);
        Assert.Contains(C, conflict.Message, StringComparison.Ordinal);
        if (NamesTheHolder) Assert.Contains("w2", conflict.Message, StringComparison.Ordinal);
        Assert.Equal((true, "w2"), await ReadItemAsync(A));
        Assert.Equal((true, "w2"), await ReadItemAsync(C));
        Assert.Empty(await store.ClaimAsync([A, C], "w2", "t2-again", T0 + TimeSpan.FromMinutes(3), T0 + Lease, default));
        AssertSameCarry(SampleCarry(B), Assert.Single(await store.ClaimAsync([B], "w3", "t3", T0 + TimeSpan.FromMinutes(3), T0 + Lease, default)));
    }

    [SkippableFact]
    public async Task Due_carries_are_those_due_and_unowned_or_whose_lease_ran_out()
    {
        var store = await NewStoreAsync();
        var soon = T0 + TimeSpan.FromMinutes(1);
        await StoreAsync(store, SampleCarry(A), soon);
        await StoreAsync(store, SampleCarry(B), T0 + TimeSpan.FromMinutes(10));
        await StoreAsync(store, SampleCarry(C), soon);
        await StoreAsync(store, DedupeOnly(D), null);
        await StoreAsync(store, SampleCarry(E), soon);
        await store.ClaimAsync([C], "live", "t-live", T0, T0 + TimeSpan.FromMinutes(5), default);
        await store.ClaimAsync([E], "stalled", "t-stalled", T0, T0 + TimeSpan.FromMinutes(2), default);
        var now = T0 + TimeSpan.FromMinutes(3);

        Assert.Equal([A, E], (await store.DueAsync(now, 10, default)).Order(StringComparer.Ordinal));
        Assert.Equal([A], await store.DueAsync(soon, 10, default)); // due at exactly now counts; E's lease still holds
        Assert.Contains(Assert.Single(await store.DueAsync(now, 1, default)), new[] { A, E });
        Assert.Empty(await store.DueAsync(now, 0, default));
        Assert.Empty(await store.DueAsync(T0, 10, default));
        // A flush: every carry with an open burst, whatever its lease.
        Assert.Equal([A, B, C, E], (await store.DueAsync(DateTimeOffset.MaxValue, 10, default)).Order(StringComparer.Ordinal));
    }

    /// <summary>A closed digest with a share by an automated actor and one by a person, every optional field set.</summary>
    public static Digest SampleDigest(string id, string account, DateTimeOffset closedAt)
    {
        DigestPart Part(string? actor, int events, string call) =>
            Digests.Part(actor, closedAt - TimeSpan.FromMinutes(7), events) with
            {
                LastEventTime = closedAt - TimeSpan.FromMinutes(6),
                EventNames = [new(call, events)],
                Principals = [new(actor ?? "alice", events)],
                Regions = [new("eu-west-1", events)],
                Sources = [new("cloudformation.amazonaws.com", events)],
                DetailTypes = [new("AWS API Call via CloudTrail", events)],
            };
        var role = Part("role/stacksets-exec-abc123", 5, "CreateStack");
        var people = Part(null, 2, "ConsoleLogin");
        return DigestParts.Combine(Digests.Plain(id, account, closedAt - TimeSpan.FromMinutes(7), closedAt, 0), [role, people], new BurstWindowOptions()) with
        {
            AccountInfo = new AccountInfo(account, "payments-prod") { SlackChannel = "#payments", Owner = "team-a" },
            Parts = [role, people],
            AlertIds = ["alert-1"],
            Failures = [new FailedCall("CreateStack", "role/stacksets-exec-abc123", "AccessDenied", "not authorized", 1)],
            ErrorCount = 1,
        };
    }

    [SkippableFact]
    public async Task Held_digests_are_kept_once_by_id_listed_intact_and_deleted_by_id_beside_the_carries()
    {
        var store = await NewStoreAsync();
        await StoreAsync(store, SampleCarry(A), T0 + TimeSpan.FromMinutes(1));
        HeldDigest[] held =
        [
            new(SampleDigest("d-1", A, T0), TimeSpan.FromMinutes(1), Expires),
            new(SampleDigest("d-2", B, T0 + TimeSpan.FromSeconds(5)), TimeSpan.FromMinutes(15), Expires),
        ];

        await store.PutHeldAsync(held, default);
        await store.PutHeldAsync(held[..1], default); // a retried call writes the same item again

        var listed = (await store.ListHeldAsync(default)).OrderBy(h => h.DigestId, StringComparer.Ordinal).ToList();
        Assert.Equal(["d-1", "d-2"], listed.Select(h => h.DigestId));
        Assert.All(listed, h => Assert.Null(h.Problem));
        Assert.Equal(DigestCodec.Encode(held[0].Digest), DigestCodec.Encode(listed[0].Held!.Digest));
        Assert.Equal("#payments", listed[0].Held!.Digest.AccountInfo!.SlackChannel);
        Assert.Equal(2, listed[0].Held!.Digest.Parts.Count);
        Assert.Equal((TimeSpan.FromMinutes(15), Expires), (listed[1].Held!.Window, listed[1].Held!.ExpiresAt));

        // Held items are never carries: not due, not claimed, and the carry is untouched by them.
        Assert.Equal([A], await store.DueAsync(DateTimeOffset.MaxValue, 10, default));
        AssertSameCarry(SampleCarry(A), Assert.Single(await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default)));

        await store.DeleteHeldAsync(["d-1", "d-unknown"], default);
        await store.DeleteHeldAsync(["d-1"], default); // a retried delete
        Assert.Equal(["d-2"], (await store.ListHeldAsync(default)).Select(h => h.DigestId));
    }

    [SkippableFact]
    public async Task The_planners_lease_has_one_owner_at_a_time_until_it_ends_or_runs_out()
    {
        var store = await NewStoreAsync();

        Assert.True(await store.TryLeasePlannerAsync("sweep:1", T0, T0 + TimeSpan.FromMinutes(2), default));
        Assert.False(await store.TryLeasePlannerAsync("sweep:2", T0 + TimeSpan.FromMinutes(1), T0 + TimeSpan.FromMinutes(3), default));
        Assert.True(await store.TryLeasePlannerAsync("sweep:1", T0 + TimeSpan.FromMinutes(1), T0 + TimeSpan.FromMinutes(3), default)); // its own again

        // sweep:1 stalls past its lease: sweep:2 takes over, and sweep:1's late release leaves sweep:2's lease alone.
        Assert.True(await store.TryLeasePlannerAsync("sweep:2", T0 + TimeSpan.FromMinutes(4), T0 + TimeSpan.FromMinutes(6), default));
        await store.ReleasePlannerAsync("sweep:1", default);
        Assert.False(await store.TryLeasePlannerAsync("sweep:3", T0 + TimeSpan.FromMinutes(5), T0 + TimeSpan.FromMinutes(7), default));

        await store.ReleasePlannerAsync("sweep:2", default);
        Assert.True(await store.TryLeasePlannerAsync("sweep:3", T0 + TimeSpan.FromMinutes(5), T0 + TimeSpan.FromMinutes(7), default));
        // The lease is no carry.
        Assert.Empty(await store.DueAsync(DateTimeOffset.MaxValue, 10, default));
    }
}
