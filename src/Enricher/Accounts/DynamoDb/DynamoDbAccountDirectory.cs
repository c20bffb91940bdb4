using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Accounts.DynamoDb;

/// <summary>Settings of the DynamoDB account directory.</summary>
internal sealed record DynamoDbDirectoryOptions
{
    public required string TableName { get; init; }
    /// <summary>How long a found name is trusted before it is read again (renames and new channels show up after this).</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How long "not in the table" is trusted, so an unknown account costs one read per this period, not one per event.</summary>
    public TimeSpan NegativeCacheTtl { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>After a failed lookup, names are not asked for again for this long (events go on with ids alone).</summary>
    public TimeSpan FailureBackoff { get; init; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(TableName)) throw new ArgumentException("the accounts table name is empty.");
        if (CacheTtl <= TimeSpan.Zero || NegativeCacheTtl <= TimeSpan.Zero) throw new ArgumentException("cache TTLs must be positive.");
        if (FailureBackoff < TimeSpan.Zero) throw new ArgumentException("failure backoff must not be negative.");
    }
}

/// <summary>
/// Account names from a DynamoDB table, read in batches of up to 100 keys and cached with a TTL (found and
/// not-found alike), so a warm process makes almost no reads per event. A name never holds a digest up:
/// on throttling or an outage the lookup returns what the cache has, counts the failure, tells
/// <c>onFailure</c>, and stops asking for <see cref="DynamoDbDirectoryOptions.FailureBackoff"/>.
/// </summary>
internal sealed class DynamoDbAccountDirectory : IAccountDirectory
{
    private readonly AccountTable _table;
    private readonly DynamoDbDirectoryOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<string>? _onFailure;
    private readonly Dictionary<string, (AccountInfo? Info, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _quietUntil = DateTimeOffset.MinValue;
    private long _failures;

    public DynamoDbAccountDirectory(IAmazonDynamoDB client, DynamoDbDirectoryOptions options, TimeProvider? time = null, Action<string>? onFailure = null)
    {
        options.Validate();
        _options = options;
        _table = new AccountTable(client, options.TableName);
        _time = time ?? TimeProvider.System;
        _onFailure = onFailure;
    }

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Table reads made (BatchGetItem calls that succeeded): the figure that shows the cache works.</summary>
    public long Reads { get; private set; }

    public async ValueTask<IReadOnlyDictionary<string, AccountInfo>> LookupAsync(IReadOnlyCollection<string> accountIds, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var found = new Dictionary<string, AccountInfo>(accountIds.Count, StringComparer.Ordinal);
            var missing = new List<string>();
            foreach (var id in accountIds)
            {
                if (_cache.TryGetValue(id, out var entry) && entry.Expires > now)
                {
                    if (entry.Info is not null) found[id] = entry.Info;
                }
                else missing.Add(id);
            }
            if (missing.Count == 0) return found;
            if (now < _quietUntil)
            {
                // Backing off after a failure: a stale name beats no name.
                foreach (var id in missing)
                    if (_cache.TryGetValue(id, out var stale) && stale.Info is not null) found[id] = stale.Info;
                return found;
            }

            foreach (var chunk in missing.Chunk(100))
            {
                try
                {
                    var fetched = await _table.GetAsync(chunk, _time, cancellationToken).ConfigureAwait(false);
                    Reads++;
                    foreach (var id in chunk)
                    {
                        if (fetched.TryGetValue(id, out var info))
                        {
                            found[id] = info;
                            _cache[id] = (info, now + _options.CacheTtl);
                        }
                        else _cache[id] = (null, now + _options.NegativeCacheTtl);
                    }
                }
                catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or TimeoutException or IOException
                                          && !cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failures);
                    _quietUntil = now + _options.FailureBackoff;
                    // Keep what an expired cache entry knew: a stale name beats no name during an outage.
                    foreach (var id in chunk)
                        if (_cache.TryGetValue(id, out var stale) && stale.Info is not null) found[id] = stale.Info;
                    _onFailure?.Invoke($"account names unavailable from table {_options.TableName} ({e.GetType().Name}: {FirstLine(e.Message)}); events go on with account ids, retrying in {_options.FailureBackoff.TotalSeconds:0}s");
                    break;
                }
            }
            return found;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }
}
