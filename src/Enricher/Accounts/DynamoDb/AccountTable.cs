using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Pipeline.Enricher.Model;
using Polly;
using Polly.Retry;

namespace Pipeline.Enricher.Accounts.DynamoDb;

/// <summary>
/// The accounts table: one item per account, keyed by <c>accountId</c> (S). Attribute names are the schema
/// documented in docs/accounts.md; this class is the only place that knows them. Its waits (for a new table, for
/// unprocessed items) are Polly retries timed by the TimeProvider each call is given.
/// </summary>
public sealed class AccountTable(IAmazonDynamoDB client, string tableName)
{
    public const string KeyAttribute = "accountId";
    private const string NameAttribute = "name";
    private const string StateAttribute = "state";
    private const string EnvironmentAttribute = "environment";
    private const string OwnerAttribute = "owner";
    private const string ChannelAttribute = "slackChannel";
    private const string UpdatedAttribute = "updatedAt";

    /// <summary>How often, and how many times, a new table is asked whether it is ACTIVE yet (30 s in all).</summary>
    private static readonly TimeSpan TablePollInterval = TimeSpan.FromMilliseconds(250);
    private const int TablePolls = 120;

    /// <summary>Further requests for what a batch call left unprocessed, before giving up.</summary>
    private const int UnprocessedRetries = 8;

    public string TableName { get; } = tableName;

    /// <summary>Creates the table (on-demand billing) if it does not exist and waits until it is active.</summary>
    public async Task<bool> CreateIfMissingAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await client.CreateTableAsync(new CreateTableRequest
            {
                TableName = TableName,
                BillingMode = BillingMode.PAY_PER_REQUEST,
                AttributeDefinitions = [new AttributeDefinition(KeyAttribute, ScalarAttributeType.S)],
                KeySchema = [new KeySchemaElement(KeyAttribute, KeyType.HASH)],
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ResourceInUseException)
        {
            return false; // already there
        }
        var poll = new ResiliencePipelineBuilder<TableStatus> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<TableStatus>
            {
                // Polling, not failure: errors from DescribeTable are thrown as they come.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { } status && status != TableStatus.ACTIVE),
                MaxRetryAttempts = TablePolls - 1,
                BackoffType = DelayBackoffType.Constant,
                Delay = TablePollInterval,
            })
            .Build();
        var status = await poll.ExecuteAsync(
            async token => (await client.DescribeTableAsync(TableName, token).ConfigureAwait(false)).Table.TableStatus,
            cancellationToken).ConfigureAwait(false);
        if (status != TableStatus.ACTIVE) throw new TimeoutException($"table {TableName} did not become ACTIVE");
        return true;
    }

    /// <summary>Writes accounts (25 per BatchWriteItem, unprocessed items retried): a put replaces, so re-importing never duplicates.</summary>
    public async Task PutAsync(IReadOnlyList<AccountInfo> accounts, DateTimeOffset now, TimeProvider time, CancellationToken cancellationToken)
    {
        var retry = UnprocessedRetry(time);
        foreach (var chunk in accounts.DistinctBy(a => a.Id).Chunk(25))
        {
            var pending = new Dictionary<string, List<WriteRequest>>
            {
                [TableName] = [.. chunk.Select(a => new WriteRequest(new PutRequest(ToItem(a, now))))],
            };
            var left = await retry.ExecuteAsync(async token =>
            {
                var response = await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = pending }, token).ConfigureAwait(false);
                pending = response.UnprocessedItems ?? [];
                return pending.Values.Sum(v => v.Count);
            }, cancellationToken).ConfigureAwait(false);
            if (left > 0) throw new AmazonDynamoDBException($"{left} accounts stayed unprocessed after {UnprocessedRetries} retries");
        }
    }

    /// <summary>Reads up to 100 accounts by id (one BatchGetItem, unprocessed keys retried with backoff).</summary>
    public async Task<IReadOnlyDictionary<string, AccountInfo>> GetAsync(IReadOnlyCollection<string> ids, TimeProvider time, CancellationToken cancellationToken)
    {
        if (ids.Count > 100) throw new ArgumentException("BatchGetItem takes at most 100 keys", nameof(ids));
        var found = new Dictionary<string, AccountInfo>(ids.Count);
        var pending = new Dictionary<string, KeysAndAttributes>
        {
            [TableName] = new KeysAndAttributes { Keys = [.. ids.Select(id => new Dictionary<string, AttributeValue> { [KeyAttribute] = new AttributeValue { S = id } })] },
        };
        var left = await UnprocessedRetry(time).ExecuteAsync(async token =>
        {
            var response = await client.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = pending }, token).ConfigureAwait(false);
            if (response.Responses is { } responses && responses.TryGetValue(TableName, out var items))
                foreach (var item in items)
                    if (FromItem(item) is { } info) found[info.Id] = info;
            pending = response.UnprocessedKeys is { Count: > 0 } unprocessed ? unprocessed : [];
            return pending.Count;
        }, cancellationToken).ConfigureAwait(false);
        if (left > 0) throw new AmazonDynamoDBException($"account keys stayed unprocessed after {UnprocessedRetries} retries");
        return found;
    }

    /// <summary>Every account in the table (a paged Scan; the table holds one item per account, so it is small).</summary>
    public async Task<IReadOnlyList<AccountInfo>> ScanAsync(CancellationToken cancellationToken)
    {
        var all = new List<AccountInfo>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await client.ScanAsync(new ScanRequest { TableName = TableName, ExclusiveStartKey = start }, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items ?? []) if (FromItem(item) is { } info) all.Add(info);
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        } while (start is not null);
        return [.. all.OrderBy(a => a.Name, StringComparer.OrdinalIgnoreCase).ThenBy(a => a.Id, StringComparer.Ordinal)];
    }

    private static Dictionary<string, AttributeValue> ToItem(AccountInfo a, DateTimeOffset now)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            [KeyAttribute] = new() { S = a.Id },
            [NameAttribute] = new() { S = a.Name },
            [StateAttribute] = new() { S = a.State ?? "ACTIVE" },
            [UpdatedAttribute] = new() { S = now.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
        };
        if (a.Environment is { } env) item[EnvironmentAttribute] = new() { S = env };
        if (a.Owner is { } owner) item[OwnerAttribute] = new() { S = owner };
        if (a.SlackChannel is { } channel) item[ChannelAttribute] = new() { S = channel };
        return item;
    }

    private static AccountInfo? FromItem(Dictionary<string, AttributeValue> item)
    {
        string? S(string name) => item.TryGetValue(name, out var v) ? v.S : null;
        var id = S(KeyAttribute);
        var name = S(NameAttribute);
        if (id is null || name is null) return null;
        return new AccountInfo(id, name)
        {
            State = S(StateAttribute),
            Environment = S(EnvironmentAttribute),
            Owner = S(OwnerAttribute),
            SlackChannel = S(ChannelAttribute),
        };
    }

    /// <summary>
    /// Asks again for what a batch call left unprocessed (its result: how much is left), after 100 ms, doubling to at
    /// most 2 s, as DynamoDB advises; errors are not retried here (the SDK client has its own retries). Built per call
    /// because the callers hand the clock to each call.
    /// </summary>
    private static ResiliencePipeline<int> UnprocessedRetry(TimeProvider time) =>
        new ResiliencePipelineBuilder<int> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<int>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result > 0),
                MaxRetryAttempts = UnprocessedRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(2),
            })
            .Build();
}
