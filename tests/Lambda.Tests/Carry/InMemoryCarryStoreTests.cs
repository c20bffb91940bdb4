using Pipeline.Lambda.Carry;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>The tests' in-memory carry store keeps the contract, and shows what tests look at: items, owners, calls.</summary>
public sealed class InMemoryCarryStoreTests : CarryStoreContract
{
    private InMemoryCarryStore _store = new();

    protected override Task<ICarryStore> NewStoreAsync()
    {
        _store = new InMemoryCarryStore();
        return Task.FromResult<ICarryStore>(_store);
    }

    protected override Task<(bool Exists, string? Owner)> ReadItemAsync(string account) =>
        Task.FromResult((_store.Items.ContainsKey(account), _store.OwnerOf(account)));

    [Fact]
    public async Task The_view_shows_decoded_carries_bare_markers_owners_and_the_calls_made()
    {
        var store = new InMemoryCarryStore();
        await store.ClaimAsync([A, B], "w1", "t1", T0, T0 + Lease, default);
        await store.ReleaseAsync([new CarryWrite(A, SampleCarry(A), T0 + TimeSpan.FromMinutes(10), Expires)], "w1", "t1", default);
        await store.DueAsync(T0, 10, default);

        Assert.Equal(SampleCarry(A).Dedupe, store.Items[A]!.Dedupe);
        Assert.Null(store.Items[B]);
        Assert.Null(store.OwnerOf(A));
        Assert.Equal("w1", store.OwnerOf(B));
        Assert.Equal(T0 + TimeSpan.FromMinutes(10), store.DueAtOf(A));
        Assert.Equal((1, 1, 1), (store.Claims, store.Releases, store.DueQueries));
    }

    [Fact]
    public async Task Switched_unavailable_every_call_fails_as_an_outage_would()
    {
        var store = new InMemoryCarryStore { Unavailable = true };

        await Assert.ThrowsAsync<CarryStoreUnavailableException>(() => store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default));
        await Assert.ThrowsAsync<CarryStoreUnavailableException>(() => store.ReleaseAsync([new CarryWrite(A, null, null, Expires)], "w1", "t1", default));
        await Assert.ThrowsAsync<CarryStoreUnavailableException>(() => store.DueAsync(T0, 10, default));
        Assert.Empty(store.Items);
    }
}
