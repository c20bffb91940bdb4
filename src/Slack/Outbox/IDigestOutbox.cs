namespace Pipeline.Slack.Outbox;

/// <summary>A digest that could not be delivered, kept as the exact payloads that were to be sent.</summary>
public sealed record OutboxEntry(
    string DigestId,
    string Channel,
    DateTimeOffset FailedAt,
    string Reason,
    ReadOnlyMemory<byte> Payload,
    ReadOnlyMemory<byte> PlainPayload);

/// <summary>An entry as stored, with where it is (a file path locally; a receipt handle for a queue).</summary>
public sealed record OutboxItem(string Location, OutboxEntry Entry);

/// <summary>
/// Where undeliverable digests wait to be resent, so that a Slack outage loses nothing. A folder locally
/// (<see cref="FolderOutbox"/>); the Lambda can implement it with an SQS queue (send / receive / delete).
/// </summary>
public interface IDigestOutbox
{
    /// <summary>Stores the entry durably and returns its location; throws if it cannot (the caller must not drop the digest silently).</summary>
    Task<string> SaveAsync(OutboxEntry entry, CancellationToken cancellationToken);

    /// <summary>Entries in the order they failed. Unreadable entries are reported through <paramref name="unreadable"/> and left in place.</summary>
    IAsyncEnumerable<OutboxItem> ReadAllAsync(Action<string, string>? unreadable, CancellationToken cancellationToken);

    Task DeleteAsync(string location, CancellationToken cancellationToken);
}
