using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Accounts;

/// <summary>
/// Where account names come from: a file (the embedded default) or a DynamoDB table.
/// Lookups are batched because the table answers up to 100 keys per request.
/// </summary>
public interface IAccountDirectory
{
    /// <summary>
    /// Returns what is known about each of <paramref name="accountIds"/>; unknown ids are simply absent.
    /// Must not throw for an outage: a name never holds a digest up, so implementations degrade to
    /// "unknown" and count the failure in <see cref="Failures"/>.
    /// </summary>
    ValueTask<IReadOnlyDictionary<string, AccountInfo>> LookupAsync(IReadOnlyCollection<string> accountIds, CancellationToken cancellationToken);

    /// <summary>Lookups that failed (throttling, outage) and left events with their id alone.</summary>
    long Failures { get; }
}
