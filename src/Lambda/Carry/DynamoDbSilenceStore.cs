using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Pipeline.Aggregator.Silence;

namespace Pipeline.Lambda.Carry;

/// <summary>
/// The silence store in the carry table: one item per account-region under the reserved key
/// <c>seen#ACCOUNT#REGION</c> (<see cref="HeldKeys.IsReserved"/>: never claimed as a carry; no <c>dueAt</c>, so the
/// sweeper's scan for due carries never returns it). Attributes: <c>acct</c>, <c>region</c>, <c>first</c> (epoch ms,
/// the first window's earliest event), <c>last</c> (epoch ms, only moves forward), <c>n</c> (events), <c>writer</c> (the token of the last window that added to it),
/// <c>resumed</c> (epoch ms: the first event time written since the silence was marked), <c>silentSince</c> (epoch ms)
/// and <c>posted</c> when a silence is marked, <c>expiresAt</c> (TTL: 30 days after the last event).
/// </summary>
public sealed class DynamoDbSilenceStore(IAmazonDynamoDB client, string table) : ISilenceStore
{
    public const string KeyPrefix = "seen#";
    /// <summary>An account-region silent this long is forgotten (TTL); if it comes back later, it starts afresh, with no "back" notice.</summary>
    public static readonly TimeSpan Forget = TimeSpan.FromDays(30);

    public static string KeyOf(string account, string region) => $"{KeyPrefix}{account}#{region}";

    public async Task RecordAsync(IReadOnlyList<Sighting> sightings, string token, CancellationToken cancellationToken)
    {
        try
        {
            await Parallel.ForEachAsync(sightings, new ParallelOptions { MaxDegreeOfParallelism = DynamoDbCarryStore.Concurrency, CancellationToken = cancellationToken },
                async (s, ct) => await RecordOneAsync(s, token, ct).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw Unavailable(e);
        }
    }

    private async Task RecordOneAsync(Sighting s, string token, CancellationToken ct)
    {
        var names = new Dictionary<string, string>
        {
            ["#acct"] = "acct", ["#region"] = "region", ["#last"] = "last", ["#writer"] = "writer", ["#res"] = "resumed", ["#exp"] = DynamoDbCarryStore.TtlAttribute, ["#n"] = "n",
            ["#first"] = "first",
        };
        try
        {
            // The usual case in one write: the last event time moves forward, the count goes up, once per call.
            await client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table,
                Key = Key(s.Account, s.Region),
                UpdateExpression = "SET #acct = :acct, #region = :region, #last = :last, #writer = :token, #first = if_not_exists(#first, :first), #res = if_not_exists(#res, :first), #exp = :exp ADD #n :n",
                ConditionExpression = "(attribute_not_exists(#last) OR #last < :last) AND (attribute_not_exists(#writer) OR #writer <> :token)",
                ExpressionAttributeNames = names,
                ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                {
                    [":acct"] = S(s.Account), [":region"] = S(s.Region), [":last"] = N(s.Last.ToUnixTimeMilliseconds()), [":token"] = S(token),
                    [":first"] = N(s.First.ToUnixTimeMilliseconds()), [":exp"] = N((s.Last + Forget).ToUnixTimeSeconds()), [":n"] = N(s.Count),
                },
                ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
            }, ct).ConfigureAwait(false);
        }
        catch (ConditionalCheckFailedException e)
        {
            if (e.Item is { } old && old.TryGetValue("writer", out var w) && w.S == token) return; // a retried call: already counted
            // Older events (late ones) than the item's last: only the count goes up.
            try
            {
                await client.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = table,
                    Key = Key(s.Account, s.Region),
                    UpdateExpression = "SET #writer = :token, #res = if_not_exists(#res, :first) ADD #n :n",
                    ConditionExpression = "attribute_exists(#last) AND #writer <> :token",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#writer"] = "writer", ["#res"] = "resumed", ["#n"] = "n", ["#last"] = "last" },
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                    {
                        [":token"] = S(token), [":first"] = N(s.First.ToUnixTimeMilliseconds()), [":n"] = N(s.Count),
                    },
                }, ct).ConfigureAwait(false);
            }
            catch (ConditionalCheckFailedException)
            {
                // This call's write is there already.
            }
        }
    }

    public async Task<IReadOnlyList<SeenItem>> ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<SeenItem>();
        Dictionary<string, AttributeValue>? start = null;
        try
        {
            do
            {
                var page = await client.ScanAsync(new ScanRequest
                {
                    TableName = table,
                    FilterExpression = "begins_with(#account, :prefix)",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#account"] = DynamoDbCarryStore.KeyAttribute },
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":prefix"] = S(KeyPrefix) },
                    ConsistentRead = true,
                    ExclusiveStartKey = start,
                }, cancellationToken).ConfigureAwait(false);
                foreach (var item in page.Items ?? [])
                {
                    if (Text(item, "acct") is not { } account || Text(item, "region") is not { } region || Ms(item, "last") is not { } last) continue;
                    items.Add(new SeenItem(account, region, Ms(item, "first") ?? last, last, Long(item, "n") ?? 0, Ms(item, "resumed"), Ms(item, "silentSince"),
                        item.TryGetValue("posted", out var posted) && posted.BOOL == true));
                }
                start = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
            } while (start is not null);
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw Unavailable(e);
        }
        return [.. items.OrderBy(i => i.Account, StringComparer.Ordinal).ThenBy(i => i.Region, StringComparer.Ordinal)];
    }

    public Task<bool> MarkSilentAsync(string account, string region, DateTimeOffset last, CancellationToken cancellationToken) =>
        ConditionalAsync(account, region, "SET #since = :last, #posted = :false REMOVE #res", "#last = :last AND attribute_not_exists(#since)",
            new() { ["#since"] = "silentSince", ["#posted"] = "posted", ["#res"] = "resumed", ["#last"] = "last" },
            new() { [":last"] = N(last.ToUnixTimeMilliseconds()), [":false"] = new AttributeValue { BOOL = false } }, cancellationToken);

    public Task MarkPostedAsync(string account, string region, DateTimeOffset silentSince, CancellationToken cancellationToken) =>
        ConditionalAsync(account, region, "SET #posted = :true", "#since = :since",
            new() { ["#since"] = "silentSince", ["#posted"] = "posted" },
            new() { [":since"] = N(silentSince.ToUnixTimeMilliseconds()), [":true"] = new AttributeValue { BOOL = true } }, cancellationToken);

    public Task ClearSilentAsync(string account, string region, DateTimeOffset silentSince, CancellationToken cancellationToken) =>
        ConditionalAsync(account, region, "REMOVE #since, #posted", "#since = :since",
            new() { ["#since"] = "silentSince", ["#posted"] = "posted" },
            new() { [":since"] = N(silentSince.ToUnixTimeMilliseconds()) }, cancellationToken);

    /// <summary>One conditional update: true when it applied, false when its condition did not hold.</summary>
    private async Task<bool> ConditionalAsync(string account, string region, string update, string condition,
        Dictionary<string, string> names, Dictionary<string, AttributeValue> values, CancellationToken cancellationToken)
    {
        try
        {
            await client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table,
                Key = Key(account, region),
                UpdateExpression = update,
                ConditionExpression = condition,
                ExpressionAttributeNames = names,
                ExpressionAttributeValues = values,
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw Unavailable(e);
        }
    }

    private CarryStoreUnavailableException Unavailable(Exception e) => new($"carry table '{table}' unreachable (silence check): {e.Message}", e);

    private static bool IsOutage(Exception e) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
        || (e is TaskCanceledException && e.InnerException is TimeoutException);

    private static Dictionary<string, AttributeValue> Key(string account, string region) => new() { [DynamoDbCarryStore.KeyAttribute] = S(KeyOf(account, region)) };

    private static string? Text(Dictionary<string, AttributeValue> item, string name) => item.TryGetValue(name, out var value) ? value.S : null;

    private static long? Long(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && long.TryParse(value.N, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static DateTimeOffset? Ms(Dictionary<string, AttributeValue> item, string name) =>
        Long(item, name) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
}
