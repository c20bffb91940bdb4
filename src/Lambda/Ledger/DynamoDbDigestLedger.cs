using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Pipeline.Slack.Threads;

namespace Pipeline.Lambda.Ledger;

/// <summary>
/// The digest ledger in DynamoDB: one item per digest, partition key <c>digestId</c> (string), TTL attribute
/// <c>expiresAt</c> (epoch seconds). Needs dynamodb:GetItem, PutItem and UpdateItem on the table. The rules
/// and their guarantee are on <see cref="IDigestLedger"/>.
/// </summary>
/// <remarks>
/// It is also the function's <see cref="IAlertThreads"/>: an alert's item (keyed by its alert id, claimed just before
/// the alert is posted) keeps the alert's Slack messages in a map attribute <c>slackThreads</c>, channel → ts, so a
/// digest posted by a later invocation or the sweeper finds its alert's thread with one GetItem per channel.
/// </remarks>
/// <remarks>
/// TTL deletion is lazy (days late), so an expired item still present counts as absent: the claim's condition
/// checks <c>expiresAt</c> itself rather than trusting the item to be gone.
/// </remarks>
public sealed class DynamoDbDigestLedger(IAmazonDynamoDB client, string table, TimeProvider time, TimeSpan lease, TimeSpan ttl) : IDigestLedger, IAlertThreads
{
    public const string KeyAttribute = "digestId";
    public const string TtlAttribute = "expiresAt";
    public const string ThreadsAttribute = "slackThreads";
    private const string Pending = "pending";
    private const string PostedStatus = "posted";

    public async Task<LedgerClaim> TryClaimAsync(string digestId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var token = Guid.NewGuid().ToString("N");
        var request = new PutItemRequest
        {
            TableName = table,
            Item = new Dictionary<string, AttributeValue>
            {
                [KeyAttribute] = S(digestId),
                ["status"] = S(Pending),
                ["claimToken"] = S(token),
                ["claimedAt"] = N(now.ToUnixTimeMilliseconds()),
                [TtlAttribute] = N((now + ttl).ToUnixTimeSeconds()),
            },
            ConditionExpression = "attribute_not_exists(#k) OR #exp < :nowSec OR (#s = :pending AND #claimedAt < :leaseCutoff)",
            ExpressionAttributeNames = new Dictionary<string, string>
            {
                ["#k"] = KeyAttribute, ["#exp"] = TtlAttribute, ["#s"] = "status", ["#claimedAt"] = "claimedAt",
            },
            ExpressionAttributeValues = new Dictionary<string, AttributeValue>
            {
                [":nowSec"] = N(now.ToUnixTimeSeconds()),
                [":pending"] = S(Pending),
                [":leaseCutoff"] = N((now - lease).ToUnixTimeMilliseconds()),
            },
        };
        try
        {
            await client.PutItemAsync(request, cancellationToken).ConfigureAwait(false);
            return new LedgerClaim(digestId, ClaimStatus.Claimed, token);
        }
        catch (ConditionalCheckFailedException)
        {
            // Someone holds it: posted, or claimed within the lease. A consistent read says which.
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw new LedgerUnavailableException($"digest ledger table '{table}' unreachable: {e.Message}", e);
        }

        try
        {
            var item = await client.GetItemAsync(new GetItemRequest
            {
                TableName = table,
                Key = new Dictionary<string, AttributeValue> { [KeyAttribute] = S(digestId) },
                ConsistentRead = true,
            }, cancellationToken).ConfigureAwait(false);
            var status = item.Item is { } found && found.TryGetValue("status", out var s) ? s.S : null;
            var holder = item.Item is { } i && i.TryGetValue("claimToken", out var t) ? t.S ?? "" : "";
            return new LedgerClaim(digestId, status == PostedStatus ? ClaimStatus.AlreadyPosted : ClaimStatus.InProgress, holder);
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw new LedgerUnavailableException($"digest ledger table '{table}' unreachable: {e.Message}", e);
        }
    }

    public Task MarkPostedAsync(LedgerClaim claim, CancellationToken cancellationToken) =>
        UpdateOwnClaimAsync(claim, "SET #s = :posted, postedAt = :now", PostedStatus, cancellationToken);

    // Release keeps the item (the role may not delete) and ends its lease now.
    public Task ReleaseAsync(LedgerClaim claim, CancellationToken cancellationToken) =>
        UpdateOwnClaimAsync(claim, "SET claimedAt = :zero", null, cancellationToken);

    private async Task UpdateOwnClaimAsync(LedgerClaim claim, string update, string? posted, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, AttributeValue> { [":token"] = S(claim.Token), [":pending"] = S(Pending) };
        if (posted is not null)
        {
            values[":posted"] = S(posted);
            values[":now"] = N(time.GetUtcNow().ToUnixTimeMilliseconds());
        }
        else
        {
            values[":zero"] = N(0);
        }
        try
        {
            await client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table,
                Key = new Dictionary<string, AttributeValue> { [KeyAttribute] = S(claim.DigestId) },
                UpdateExpression = update,
                // Only our own claim: after our lease ran out another attempt may own the digest.
                ConditionExpression = "claimToken = :token AND #s = :pending",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#s"] = "status" },
                ExpressionAttributeValues = values,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ConditionalCheckFailedException)
        {
            // The claim is no longer ours; whoever holds it now decides.
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw new LedgerUnavailableException($"digest ledger table '{table}' unreachable: {e.Message}", e);
        }
    }

    /// <summary>
    /// Sets <c>slackThreads[channel] = ts</c> on the alert's item. Never creates an item: one without a claim would read
    /// as an attempt in progress and block the id for good. A nested SET needs the map to exist, so the first channel
    /// creates it; if another writer created it in between, the nested SET is tried once more.
    /// </summary>
    public async Task RememberAsync(string alertId, string channel, string ts, CancellationToken cancellationToken)
    {
        if (await TrySetThreadAsync(alertId, channel, ts, cancellationToken).ConfigureAwait(false)) return;
        if (await TryCreateThreadsAsync(alertId, channel, ts, cancellationToken).ConfigureAwait(false)) return;
        if (await TrySetThreadAsync(alertId, channel, ts, cancellationToken).ConfigureAwait(false)) return;
        throw new InvalidOperationException($"alert {alertId} has no item in the digest ledger '{table}' (it was not posted through the ledger), so its thread is not remembered");
    }

    private Task<bool> TrySetThreadAsync(string alertId, string channel, string ts, CancellationToken cancellationToken) =>
        TryUpdateAsync(alertId, "SET #t.#c = :ts", "attribute_exists(#t)",
            new() { ["#t"] = ThreadsAttribute, ["#c"] = channel },
            new() { [":ts"] = S(ts) }, cancellationToken);

    private Task<bool> TryCreateThreadsAsync(string alertId, string channel, string ts, CancellationToken cancellationToken) =>
        TryUpdateAsync(alertId, "SET #t = :map", "attribute_exists(#k) AND attribute_not_exists(#t)",
            new() { ["#t"] = ThreadsAttribute, ["#k"] = KeyAttribute },
            new() { [":map"] = new AttributeValue { M = new Dictionary<string, AttributeValue> { [channel] = S(ts) } } }, cancellationToken);

    /// <summary>False when the condition does not hold.</summary>
    private async Task<bool> TryUpdateAsync(string key, string update, string condition, Dictionary<string, string> names, Dictionary<string, AttributeValue> values, CancellationToken cancellationToken)
    {
        try
        {
            await client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table,
                Key = new Dictionary<string, AttributeValue> { [KeyAttribute] = S(key) },
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
            throw new LedgerUnavailableException($"digest ledger table '{table}' unreachable: {e.Message}", e);
        }
    }

    /// <summary>A consistent read: the alert may have been posted a moment ago, by another invocation.</summary>
    public async Task<string?> FindAsync(string alertId, string channel, CancellationToken cancellationToken)
    {
        try
        {
            var response = await client.GetItemAsync(new GetItemRequest
            {
                TableName = table,
                Key = new Dictionary<string, AttributeValue> { [KeyAttribute] = S(alertId) },
                ProjectionExpression = "#t.#c",
                ExpressionAttributeNames = new Dictionary<string, string> { ["#t"] = ThreadsAttribute, ["#c"] = channel },
                ConsistentRead = true,
            }, cancellationToken).ConfigureAwait(false);
            return response.Item is { } item
                && item.TryGetValue(ThreadsAttribute, out var threads) && threads.M is { } map
                && map.TryGetValue(channel, out var ts) ? ts.S : null;
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw new LedgerUnavailableException($"digest ledger table '{table}' unreachable: {e.Message}", e);
        }
    }

    private static bool IsOutage(Exception e) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
        || (e is TaskCanceledException && e.InnerException is TimeoutException);

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };
}
