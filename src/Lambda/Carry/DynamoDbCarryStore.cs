using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Pipeline.Aggregator.Processing;

namespace Pipeline.Lambda.Carry;

/// <summary>
/// The carry store in DynamoDB: one item per account, partition key <c>account</c> (string), TTL attribute
/// <c>expiresAt</c> (epoch seconds). Needs dynamodb:UpdateItem, PutItem, DeleteItem and Scan on the table. The rules
/// are on <see cref="ICarryStore"/>; <see cref="CarryTable"/> holds the same conditions in memory, one for one.
/// </summary>
/// <remarks>
/// Every account is its own conditional write, run a few at a time: a window meets dozens of accounts, and one
/// transaction would cap that at 100 and fail all of them for one held elsewhere. So a call can land partly; the
/// conflict exception names the accounts that did not, and claims and releases are safe to repeat.
/// </remarks>
public sealed class DynamoDbCarryStore(IAmazonDynamoDB client, string table) : ICarryStore
{
    public const string KeyAttribute = "account";
    public const string TtlAttribute = "expiresAt";
    private const string StateAttribute = "state";
    private const string PrevAttribute = "prev";
    private const string WriterAttribute = "writer";
    private const string OwnerAttribute = "owner";
    private const string OwnedUntilAttribute = "ownedUntil";
    private const string DueAtAttribute = "dueAt";
    // Held digests (key held#DIGESTID): the digest's bytes and the window of the call that parked it.
    private const string DigestAttribute = "digest";
    private const string WindowAttribute = "windowMs";

    /// <summary>
    /// Writes in flight at once: enough to hide the round trips, few enough not to burst a table's throughput. A window
    /// opens with a claim per account and ends with a write per account and one per account-region seen: with 5 ms added
    /// to each round trip (`bench lambda --dynamodb-latency-ms 5`), 16 instead of 8 took the window end's median from 390
    /// to 304 ms and the batch's from 199 to 181 ms (2026-12-03).
    /// </summary>
    internal const int Concurrency = 16;

    // owner and state are DynamoDB reserved words; every name goes through a placeholder so none is missed.
    private const string ClaimCondition = "attribute_not_exists(#owner) OR #owner = :owner OR #until < :now";
    private const string ReleaseCondition = "attribute_not_exists(#account) OR #owner = :owner OR (#writer = :token AND attribute_not_exists(#owner))";

    public async Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        var distinct = CarryTable.DistinctAccounts(accounts);
        var claimed = new KeyValuePair<string, byte[]?>?[distinct.Count];
        var conflicts = new CarryHolder?[distinct.Count];
        await ForEachAsync(distinct.Count, async (i, ct) =>
        {
            var account = distinct[i];
            try
            {
                var response = await client.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = table,
                    Key = Key(account),
                    // A carry keeps the TTL its release gave it; only a new marker gets one of its own.
                    UpdateExpression = "SET #owner = :owner, #until = :until, #exp = if_not_exists(#exp, :exp)",
                    ConditionExpression = ClaimCondition,
                    ExpressionAttributeNames = new Dictionary<string, string>
                    {
                        ["#owner"] = OwnerAttribute, ["#until"] = OwnedUntilAttribute, ["#exp"] = TtlAttribute,
                    },
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue>
                    {
                        [":owner"] = S(owner),
                        [":until"] = N(CarryTable.EpochMs(leaseUntil)),
                        [":now"] = N(CarryTable.EpochMs(now)),
                        [":exp"] = N(CarryTable.MarkerExpiresAt(leaseUntil)),
                    },
                    ReturnValues = ReturnValue.ALL_NEW,
                    ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                }, ct).ConfigureAwait(false);
                claimed[i] = new(account, CarryTable.ClaimedBytes(ToItem(account, response.Attributes), token));
            }
            catch (ConditionalCheckFailedException e)
            {
                conflicts[i] = new CarryHolder(account, HolderOf(e));
            }
        }, cancellationToken).ConfigureAwait(false);
        return new CarryClaimResult([.. claimed.OfType<KeyValuePair<string, byte[]?>>()], [.. conflicts.OfType<CarryHolder>()]).Conclude();
    }

    public async Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken)
    {
        CarryTable.CheckWrites(writes);
        var conflicts = new CarryHolder?[writes.Count];
        await ForEachAsync(writes.Count, async (i, ct) =>
        {
            var write = writes[i];
            try
            {
                if (CarryTable.IsDelete(write))
                {
                    // A delete of an item already gone passes the condition: a retried delete succeeds.
                    await client.DeleteItemAsync(new DeleteItemRequest
                    {
                        TableName = table,
                        Key = Key(write.Account),
                        ConditionExpression = ReleaseCondition,
                        ExpressionAttributeNames = ReleaseNames(),
                        ExpressionAttributeValues = ReleaseValues(owner, token),
                        ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                    }, ct).ConfigureAwait(false);
                }
                else
                {
                    await client.PutItemAsync(new PutItemRequest
                    {
                        TableName = table,
                        Item = ToAttributes(write, token),
                        ConditionExpression = ReleaseCondition,
                        ExpressionAttributeNames = ReleaseNames(),
                        ExpressionAttributeValues = ReleaseValues(owner, token),
                        ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                    }, ct).ConfigureAwait(false);
                }
            }
            catch (ConditionalCheckFailedException e)
            {
                conflicts[i] = new CarryHolder(write.Account, HolderOf(e));
            }
        }, cancellationToken).ConfigureAwait(false);
        new CarryReleaseResult(writes.Count - conflicts.Count(c => c is not null), [.. conflicts.OfType<CarryHolder>()]).ThrowIfConflicts();
    }

    public async Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var due = new List<string>();
        if (limit <= 0) return due;
        Dictionary<string, AttributeValue>? start = null;
        try
        {
            do
            {
                // The filter applies after the read: a page may hold none, so the scan goes on until enough or the end.
                var page = await client.ScanAsync(new ScanRequest
                {
                    TableName = table,
                    FilterExpression = "#due <= :now AND (attribute_not_exists(#owner) OR #until < :now)",
                    ProjectionExpression = "#account",
                    ExpressionAttributeNames = new Dictionary<string, string>
                    {
                        ["#account"] = KeyAttribute, ["#due"] = DueAtAttribute, ["#owner"] = OwnerAttribute, ["#until"] = OwnedUntilAttribute,
                    },
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":now"] = N(CarryTable.EpochMs(now)) },
                    ExclusiveStartKey = start,
                }, cancellationToken).ConfigureAwait(false);
                foreach (var item in page.Items ?? [])
                {
                    if (item.TryGetValue(KeyAttribute, out var account) && account.S is { } name) due.Add(name);
                    if (due.Count == limit) return due;
                }
                start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
            } while (start is not null);
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw Unavailable(e);
        }
        return due;
    }

    public async Task PutHeldAsync(IReadOnlyList<HeldDigest> digests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digests);
        // Unconditional: a digest id always names the same digest, so a retried call writes the same item.
        await ForEachAsync(digests.Count, async (i, ct) =>
        {
            var held = digests[i];
            await client.PutItemAsync(new PutItemRequest
            {
                TableName = table,
                Item = new Dictionary<string, AttributeValue>
                {
                    [KeyAttribute] = S(HeldKeys.Held(held.Digest.DigestId)),
                    [DigestAttribute] = B(held.Encode()),
                    [WindowAttribute] = N((long)held.Window.TotalMilliseconds),
                    [TtlAttribute] = N(held.ExpiresAt.ToUnixTimeSeconds()),
                },
            }, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredHeld>> ListHeldAsync(CancellationToken cancellationToken)
    {
        var held = new List<StoredHeld>();
        Dictionary<string, AttributeValue>? start = null;
        try
        {
            do
            {
                // Consistent: a sweep must see every digest parked before it started, or it would decide a group without it.
                var page = await client.ScanAsync(new ScanRequest
                {
                    TableName = table,
                    FilterExpression = "begins_with(#account, :prefix)",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#account"] = KeyAttribute },
                    ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":prefix"] = S(HeldKeys.HeldPrefix) },
                    ConsistentRead = true,
                    ExclusiveStartKey = start,
                }, cancellationToken).ConfigureAwait(false);
                foreach (var item in page.Items ?? [])
                {
                    if (Text(item, KeyAttribute) is not { } key) continue;
                    var id = key[HeldKeys.HeldPrefix.Length..];
                    held.Add(StoredHeld.From(id, Bytes(item, DigestAttribute), Number(item, WindowAttribute), Number(item, TtlAttribute)));
                }
                start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
            } while (start is not null);
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw Unavailable(e);
        }
        // Scan order is the hash's; the planner's input order is the caller's to set, but a stable listing helps logs.
        return [.. held.OrderBy(h => h.DigestId, StringComparer.Ordinal)];
    }

    public async Task DeleteHeldAsync(IReadOnlyCollection<string> digestIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digestIds);
        var ids = digestIds.Distinct(StringComparer.Ordinal).ToList();
        await ForEachAsync(ids.Count, async (i, ct) =>
        {
            // A delete of an item already gone succeeds: a retried delete is harmless.
            await client.DeleteItemAsync(new DeleteItemRequest { TableName = table, Key = Key(HeldKeys.Held(ids[i])) }, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> TryLeasePlannerAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        // The planner's lease is a claim on its reserved key: the same condition, so it is free, ours, or run out.
        try
        {
            await ClaimAsync([HeldKeys.PlannerLease], owner, owner, now, leaseUntil, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (CarryConflictException)
        {
            return false;
        }
    }

    public async Task ReleasePlannerAsync(string owner, CancellationToken cancellationToken)
    {
        try
        {
            await ReleaseAsync([new CarryWrite(HeldKeys.PlannerLease, null, null, DateTimeOffset.UnixEpoch)], owner, owner, cancellationToken).ConfigureAwait(false);
        }
        catch (CarryConflictException)
        {
            // Our lease ran out and another sweep holds it now: it is that sweep's to end.
        }
    }

    private async Task ForEachAsync(int count, Func<int, CancellationToken, ValueTask> body, CancellationToken cancellationToken)
    {
        try
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, count),
                new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken },
                body).ConfigureAwait(false);
        }
        catch (Exception e) when (IsOutage(e))
        {
            throw Unavailable(e);
        }
    }

    // Fresh dictionaries per request: requests run concurrently, and the SDK owns a request while it is sent.
    private static Dictionary<string, string> ReleaseNames() => new()
    {
        ["#account"] = KeyAttribute, ["#owner"] = OwnerAttribute, ["#writer"] = WriterAttribute,
    };

    private static Dictionary<string, AttributeValue> ReleaseValues(string owner, string token) => new() { [":owner"] = S(owner), [":token"] = S(token) };

    private static Dictionary<string, AttributeValue> ToAttributes(CarryWrite write, string token)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            [KeyAttribute] = S(write.Account),
            [WriterAttribute] = S(token),
            [TtlAttribute] = N(write.ExpiresAt.ToUnixTimeSeconds()),
        };
        if (write.Carry is { IsEmpty: false } carry) item[StateAttribute] = B(AccountCarryCodec.Encode(carry));
        if (write.Claimed is { } claimed) item[PrevAttribute] = B(claimed);
        if (write.DueAt is { } due) item[DueAtAttribute] = N(CarryTable.EpochMs(due));
        return item;
    }

    // Only what a claim reads: the rules live in CarryTable, so both stores read an item the same way.
    private static CarryItem ToItem(string account, Dictionary<string, AttributeValue>? attributes)
    {
        attributes ??= [];
        return new CarryItem(account, Bytes(attributes, StateAttribute), Bytes(attributes, PrevAttribute), Text(attributes, WriterAttribute),
            Text(attributes, OwnerAttribute), 0, null, 0);
    }

    // DynamoDB hands back the item that failed the condition (ALL_OLD), so the message can say who holds it.
    private static string? HolderOf(ConditionalCheckFailedException e) => e.Item is { } old ? Text(old, OwnerAttribute) : null;

    private CarryStoreUnavailableException Unavailable(Exception e) => new($"carry table '{table}' unreachable: {e.Message}", e);

    private static bool IsOutage(Exception e) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
        || (e is TaskCanceledException && e.InnerException is TimeoutException);

    private static Dictionary<string, AttributeValue> Key(string account) => new() { [KeyAttribute] = S(account) };

    private static string? Text(Dictionary<string, AttributeValue> item, string name) => item.TryGetValue(name, out var value) ? value.S : null;

    private static byte[]? Bytes(Dictionary<string, AttributeValue> item, string name) => item.TryGetValue(name, out var value) ? value.B?.ToArray() : null;

    private static long Number(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && long.TryParse(value.N, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    private static AttributeValue B(byte[] value) => new() { B = new MemoryStream(value) };
}
