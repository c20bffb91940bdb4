using Pipeline.Lambda.Carry;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>A carry store that passes every call to <see cref="Inner"/>; a test changes the call it is about.</summary>
internal abstract class PassThroughCarryStore(ICarryStore inner) : ICarryStore
{
    protected ICarryStore Inner { get; } = inner;

    public virtual Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        Inner.ClaimAsync(accounts, owner, token, now, leaseUntil, cancellationToken);

    public virtual Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken) =>
        Inner.ReleaseAsync(writes, owner, token, cancellationToken);

    public Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) => Inner.DueAsync(now, limit, cancellationToken);

    public Task PutHeldAsync(IReadOnlyList<HeldDigest> digests, CancellationToken cancellationToken) => Inner.PutHeldAsync(digests, cancellationToken);

    public Task<IReadOnlyList<StoredHeld>> ListHeldAsync(CancellationToken cancellationToken) => Inner.ListHeldAsync(cancellationToken);

    public Task DeleteHeldAsync(IReadOnlyCollection<string> digestIds, CancellationToken cancellationToken) => Inner.DeleteHeldAsync(digestIds, cancellationToken);

    public Task<bool> TryLeasePlannerAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        Inner.TryLeasePlannerAsync(owner, now, leaseUntil, cancellationToken);

    public Task ReleasePlannerAsync(string owner, CancellationToken cancellationToken) => Inner.ReleasePlannerAsync(owner, cancellationToken);
}
