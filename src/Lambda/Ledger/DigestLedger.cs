namespace Pipeline.Lambda.Ledger;

/// <summary>What the ledger said about a digest the handler is about to post.</summary>
public enum ClaimStatus
{
    /// <summary>This attempt owns the digest now: post it, then <see cref="IDigestLedger.MarkPostedAsync"/>.</summary>
    Claimed,
    /// <summary>An earlier attempt posted it and recorded so: do not post again.</summary>
    AlreadyPosted,
    /// <summary>Another attempt claimed it within the lease and has not confirmed: retry the batch later.</summary>
    InProgress,
}

public sealed record LedgerClaim(string DigestId, ClaimStatus Status, string Token);

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
public interface IDigestLedger
{
    Task<LedgerClaim> TryClaimAsync(string digestId, CancellationToken cancellationToken);

    Task MarkPostedAsync(LedgerClaim claim, CancellationToken cancellationToken);

    /// <summary>Gives a claim up after a failed post, so the retry need not wait for the lease.</summary>
    Task ReleaseAsync(LedgerClaim claim, CancellationToken cancellationToken);
}

/// <summary>The ledger could not be reached or answered with an error: a retry may cure it.</summary>
public sealed class LedgerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
