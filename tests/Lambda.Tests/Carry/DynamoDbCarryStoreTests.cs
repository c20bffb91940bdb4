using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Pipeline.Aggregator.Processing;
using Pipeline.Lambda.Carry;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>The DynamoDB carry store against dynalite on loopback: the contract, the items' shape, outages.</summary>
public sealed class DynamoDbCarryStoreTests(DynaliteFixture dynalite) : CarryStoreContract, IClassFixture<DynaliteFixture>, IDisposable
{
    private AmazonDynamoDBClient? _client;
    private string _table = "";

    // dynalite ignores ReturnValuesOnConditionCheckFailure (DynamoDB honours it), so here a conflict names no owner.
    protected override bool NamesTheHolder => false;

    /// <summary>The carry table as the CDK stack creates it (partition key account).</summary>
    internal static Task<string> CreateTableAsync(IAmazonDynamoDB client) =>
        DynamoDbDigestLedgerTests.CreateKeyedTableAsync(client, "carry", DynamoDbCarryStore.KeyAttribute);

    protected override async Task<ICarryStore> NewStoreAsync()
    {
        _client?.Dispose();
        _client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        _table = await CreateTableAsync(_client);
        return new DynamoDbCarryStore(_client, _table);
    }

    protected override async Task<(bool Exists, string? Owner)> ReadItemAsync(string account)
    {
        var item = await GetAsync(account);
        return (item is not null, item is not null && item.TryGetValue("owner", out var owner) ? owner.S : null);
    }

    private async Task<Dictionary<string, AttributeValue>?> GetAsync(string account)
    {
        var response = await _client!.GetItemAsync(new GetItemRequest
        {
            TableName = _table,
            Key = new Dictionary<string, AttributeValue> { ["account"] = new() { S = account } },
            ConsistentRead = true,
        });
        return response.Item is { Count: > 0 } item ? item : null;
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    [SkippableFact]
    public async Task Items_hold_the_attributes_the_table_and_its_ttl_expect()
    {
        var store = await NewStoreAsync();
        await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default);

        var marker = (await GetAsync(A))!;
        Assert.Equal("w1", marker["owner"].S);
        Assert.Equal(N((T0 + Lease).ToUnixTimeMilliseconds()), marker["ownedUntil"].N);
        Assert.Equal(N((T0 + Lease + TimeSpan.FromDays(1)).ToUnixTimeSeconds()), marker["expiresAt"].N);
        Assert.False(marker.ContainsKey("state"));

        var claimed = AccountCarryCodec.Encode(SampleCarry(A, events: 3));
        await store.ReleaseAsync([new CarryWrite(A, SampleCarry(A), T0 + TimeSpan.FromMinutes(10), Expires, claimed)], "w1", "t1", default);

        var item = (await GetAsync(A))!;
        Assert.Equal(AccountCarryCodec.Encode(SampleCarry(A)), item["state"].B.ToArray());
        Assert.Equal(claimed, item["prev"].B.ToArray());
        Assert.Equal("t1", item["writer"].S);
        Assert.Equal(N((T0 + TimeSpan.FromMinutes(10)).ToUnixTimeMilliseconds()), item["dueAt"].N);
        Assert.Equal(N(Expires.ToUnixTimeSeconds()), item["expiresAt"].N);
        Assert.False(item.ContainsKey("owner"));
        Assert.False(item.ContainsKey("ownedUntil"));

        // A carry keeps the TTL its release gave it when claimed again.
        await store.ClaimAsync([A], "w2", "t2", T0, T0 + Lease, default);
        Assert.Equal(N(Expires.ToUnixTimeSeconds()), (await GetAsync(A))!["expiresAt"].N);
    }

    [SkippableFact]
    public async Task Many_accounts_are_claimed_and_released_each_in_one_call()
    {
        var store = await NewStoreAsync();
        var accounts = Enumerable.Range(0, 30).Select(i => (100_000_000_000L + i).ToString(CultureInfo.InvariantCulture)).ToArray();
        await store.ClaimAsync(accounts, "w1", "t1", T0, T0 + Lease, default);
        await store.ReleaseAsync([.. accounts.Select((a, i) => new CarryWrite(a, i % 3 == 0 ? null : SampleCarry(a), T0, Expires))], "w1", "t1", default);

        var claimed = await store.ClaimAsync(accounts, "w2", "t2", T0, T0 + Lease, default);

        Assert.Equal(accounts.Where((_, i) => i % 3 != 0), claimed.Select(c => c.Carry.Account));
        Assert.Empty(await store.DueAsync(T0, 100, default)); // all claimed again, within the lease
        Assert.Equal(20, (await store.DueAsync(DateTimeOffset.MaxValue, 100, default)).Count);
        foreach (var account in accounts) Assert.Equal("w2", (await ReadItemAsync(account)).Owner);
    }

    [SkippableFact]
    public async Task An_unreadable_carry_comes_back_empty_with_its_problem_naming_the_account()
    {
        var store = await NewStoreAsync();
        await _client!.PutItemAsync(_table, new Dictionary<string, AttributeValue>
        {
            ["account"] = new() { S = A },
            ["state"] = new() { B = new MemoryStream([1, 2, 3]) },
            ["expiresAt"] = new() { N = N(Expires.ToUnixTimeSeconds()) },
        });

        var claimed = Assert.Single(await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default));

        Assert.True(claimed.Carry.IsEmpty);
        Assert.Contains(A, claimed.Problem, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], claimed.Bytes); // kept for a retry of the call, as any claimed carry is
    }

    [SkippableFact]
    public async Task An_unreachable_table_is_reported_as_a_retryable_outage()
    {
        using var own = new DynaliteFixture();
        using var client = DynamoDbDigestLedgerTests.Client(own.Endpoint);
        var store = new DynamoDbCarryStore(client, await CreateTableAsync(client));

        own.Stop();

        await Assert.ThrowsAsync<CarryStoreUnavailableException>(() => store.ClaimAsync([A, B], "w1", "t1", T0, T0 + Lease, default));
        await Assert.ThrowsAsync<CarryStoreUnavailableException>(() => store.ReleaseAsync([new CarryWrite(A, SampleCarry(A), T0, Expires)], "w1", "t1", default));
        await Assert.ThrowsAsync<CarryStoreUnavailableException>(() => store.DueAsync(T0, 10, default));
    }

    public void Dispose() => _client?.Dispose();
}
