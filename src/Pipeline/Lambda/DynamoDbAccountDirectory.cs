using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;

namespace Pipeline.Cli.Lambda;

/// <summary>
/// Account names from a DynamoDB table (partition key <c>accountId</c>, attributes <c>name</c> and optionally
/// <c>state</c>, <c>environment</c>, <c>owner</c>, <c>slackChannel</c>). Names are cached for the life of the
/// process (a warm Lambda); an outage leaves events with their ids and is counted, never thrown.
/// </summary>
internal sealed class DynamoDbAccountDirectory(IAmazonDynamoDB client, string table, Action<string>? warn = null) : IAccountDirectory
{
    private readonly Dictionary<string, AccountInfo?> _cache = new(StringComparer.Ordinal);
    private long _failures;

    public long Failures => Interlocked.Read(ref _failures);

    public async ValueTask<IReadOnlyDictionary<string, AccountInfo>> LookupAsync(IReadOnlyCollection<string> accountIds, CancellationToken cancellationToken)
    {
        var missing = accountIds.Where(id => !_cache.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var chunk in missing.Chunk(100))
        {
            try
            {
                var keys = chunk.Select(id => new Dictionary<string, AttributeValue> { ["accountId"] = new() { S = id } }).ToList();
                var request = new Dictionary<string, KeysAndAttributes> { [table] = new() { Keys = keys } };
                for (int attempt = 0; request.Count > 0 && attempt < 3; attempt++)
                {
                    var response = await client.BatchGetItemAsync(request, cancellationToken).ConfigureAwait(false);
                    if (response.Responses?.TryGetValue(table, out var items) == true)
                        foreach (var item in items) Remember(item);
                    request = response.UnprocessedKeys is { Count: > 0 } unprocessed ? unprocessed : [];
                }
                foreach (var id in chunk) _cache.TryAdd(id, null); // unknown accounts are not asked for again
            }
            catch (Exception e) when (e is AmazonDynamoDBException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException)
            {
                Interlocked.Increment(ref _failures);
                warn?.Invoke($"account names unavailable from '{table}': {e.Message}");
            }
        }
        var found = new Dictionary<string, AccountInfo>(StringComparer.Ordinal);
        foreach (var id in accountIds)
            if (_cache.TryGetValue(id, out var info) && info is not null) found[id] = info;
        return found;
    }

    private void Remember(Dictionary<string, AttributeValue> item)
    {
        string? Str(string name) => item.TryGetValue(name, out var v) ? v.S : null;
        if (Str("accountId") is not { } id) return;
        _cache[id] = Str("name") is { } name
            ? new AccountInfo(id, name) { State = Str("state"), Environment = Str("environment"), Owner = Str("owner"), SlackChannel = Str("slackChannel") }
            : null;
    }
}
