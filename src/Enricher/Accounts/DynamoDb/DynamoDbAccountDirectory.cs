using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Pipeline.Enricher.Model;
using Polly;
using Polly.CircuitBreaker;

namespace Pipeline.Enricher.Accounts.DynamoDb;

/// <summary>Settings of the DynamoDB account directory.</summary>
public sealed record DynamoDbDirectoryOptions
{
    public required string TableName { get; init; }
    /// <summary>How long a found name is trusted before it is read again (renames and new channels show up after this).</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How long "not in the table" is trusted, so an unknown account costs one read per this period, not one per event.</summary>
    public TimeSpan NegativeCacheTtl { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>
    /// How long the circuit stays open once failed reads have opened it: names are not asked for (events go on with
    /// ids and cached names). Default 30 s; 0 = never stop asking; otherwise 0.5 s – 1 day, the range Polly's breaker takes.
    /// </summary>
    public TimeSpan FailureBackoff { get; init; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(TableName)) throw new ArgumentException("DynamoDbDirectoryOptions.TableName is empty.");
        if (CacheTtl <= TimeSpan.Zero || NegativeCacheTtl <= TimeSpan.Zero)
            throw new ArgumentException($"DynamoDbDirectoryOptions.CacheTtl and NegativeCacheTtl must be positive, got {CacheTtl} and {NegativeCacheTtl}.");
        if (FailureBackoff != TimeSpan.Zero && (FailureBackoff < TimeSpan.FromSeconds(0.5) || FailureBackoff > TimeSpan.FromDays(1)))
            throw new ArgumentException($"DynamoDbDirectoryOptions.FailureBackoff must be 0 or 0.5 s – 1 day, got {FailureBackoff}.");
    }
}

/// <summary>
/// Account names from a DynamoDB table, read in batches of up to 100 keys and cached with a TTL (found and
/// not-found alike), so a warm process makes almost no reads per event. A name never holds a digest up:
/// on throttling or an outage the lookup returns what the cache has (expired names included), counts the
/// failure and tells <c>onFailure</c>. Reads go through a Polly circuit breaker that then stops asking for
/// <see cref="DynamoDbDirectoryOptions.FailureBackoff"/>, serving cached names meanwhile.
/// </summary>
public sealed class DynamoDbAccountDirectory : IAccountDirectory
{
    private readonly AccountTable _table;
    private readonly DynamoDbDirectoryOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<string>? _onFailure;
    private readonly Dictionary<string, (AccountInfo? Info, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly ResiliencePipeline _breaker;
    private long _failures;

    public DynamoDbAccountDirectory(IAmazonDynamoDB client, DynamoDbDirectoryOptions options, TimeProvider? time = null, Action<string>? onFailure = null)
    {
        options.Validate();
        _options = options;
        _table = new AccountTable(client, options.TableName);
        _time = time ?? TimeProvider.System;
        _onFailure = onFailure;
        _breaker = BuildBreaker();
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

            foreach (var chunk in missing.Chunk(100))
            {
                try
                {
                    var fetched = await _breaker.ExecuteAsync(
                        async token => await _table.GetAsync(chunk, _time, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
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
                catch (BrokenCircuitException)
                {
                    break; // backing off after failures: not asking
                }
                catch (Exception e) when (IsOutage(e, cancellationToken))
                {
                    Interlocked.Increment(ref _failures);
                    var retrying = _circuit.CircuitState == CircuitState.Open
                        ? $"retrying in {_options.FailureBackoff.TotalSeconds:0}s"
                        : "asking again at the next lookup";
                    _onFailure?.Invoke($"account names unavailable from table {_options.TableName} ({e.GetType().Name}: {FirstLine(e.Message)}); events go on with account ids, {retrying}");
                    break; // one failed read per lookup is enough to wait for
                }
            }

            // What could not be read keeps what an expired cache entry knew: a stale name beats no name during an outage.
            foreach (var id in missing)
                if (!found.ContainsKey(id) && _cache.TryGetValue(id, out var stale) && stale.Info is not null) found[id] = stale.Info;
            return found;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Opens on failed reads and stays open for FailureBackoff; then one read probes, and a failed probe opens it again.
    /// Polly samples at least two reads before it opens (MinimumThroughput ≥ 2), and any failure among them is enough
    /// (a ratio above zero); the sample spans a day, Polly's longest, so after any earlier read the first failure opens
    /// the circuit. Only a failure with no other read in the sample (the first read of a process, or the first since
    /// the circuit last closed) is read once more before the break.
    /// </summary>
    private ResiliencePipeline BuildBreaker() => _options.FailureBackoff == TimeSpan.Zero
        ? ResiliencePipeline.Empty
        : new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsOutage(e, args.Context.CancellationToken)),
                MinimumThroughput = 2,
                FailureRatio = double.Epsilon,
                SamplingDuration = TimeSpan.FromDays(1),
                BreakDuration = _options.FailureBackoff,
                StateProvider = _circuit,
            })
            .Build();

    /// <summary>Failures that leave events with ids alone rather than failing them; a cancelled lookup is not one.</summary>
    private static bool IsOutage(Exception e, CancellationToken cancellationToken) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or TimeoutException or IOException
        && !cancellationToken.IsCancellationRequested;

    private static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }
}
