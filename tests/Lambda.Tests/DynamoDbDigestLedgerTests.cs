using Amazon.DynamoDBv2.Model;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Lambda.Ledger;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Lambda.Tests;

/// <summary>The DynamoDB ledger against dynalite on loopback: the conditional writes behave as the guarantee says.</summary>
public sealed class DynamoDbDigestLedgerTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Ttl = TimeSpan.FromDays(7);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));

    internal static AmazonDynamoDBClient Client(string endpoint) =>
        new(new BasicAWSCredentials("x", "x"), new AmazonDynamoDBConfig
        {
            ServiceURL = endpoint,
            AuthenticationRegion = "us-east-1",
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromSeconds(5),
        });

    /// <summary>The ledger table as the CDK stack creates it (partition key digestId).</summary>
    internal static Task<string> CreateTableAsync(IAmazonDynamoDB client) => CreateKeyedTableAsync(client, "ledger", DynamoDbDigestLedger.KeyAttribute);

    /// <summary>A fresh on-demand table with a string partition key, ACTIVE when returned (every table the function uses).</summary>
    internal static async Task<string> CreateKeyedTableAsync(IAmazonDynamoDB client, string prefix, string key)
    {
        var name = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement(key, KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition(key, ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });
        for (int i = 0; i < 100; i++)
        {
            var table = await client.DescribeTableAsync(name);
            if (table.Table.TableStatus == TableStatus.ACTIVE) return name;
            await Task.Delay(20); // dynalite activates tables after --createTableMs 50
        }
        throw new InvalidOperationException($"table {name} never became ACTIVE");
    }

    private async Task<(DynamoDbDigestLedger Ledger, AmazonDynamoDBClient Client, string Table)> NewLedgerAsync()
    {
        var client = Client(dynalite.Endpoint);
        var table = await CreateTableAsync(client);
        return (new DynamoDbDigestLedger(client, table, _time, Lease, Ttl), client, table);
    }

    [SkippableFact]
    public async Task Of_many_attempts_claiming_one_digest_at_once_exactly_one_wins()
    {
        var (ledger, client, table) = await NewLedgerAsync();
        using var _ = client;
        // Separate clients, as separate invocations have: the conditional write, not one client's ordering, decides.
        var clients = Enumerable.Range(0, 8).Select(_ => Client(dynalite.Endpoint)).ToList();
        try
        {
            var claims = await Task.WhenAll(clients.Select(c => Task.Run(() => new DynamoDbDigestLedger(c, table, _time, Lease, Ttl).TryClaimAsync("digest-race", default))));

            var winner = Assert.Single(claims, c => c.Status == ClaimStatus.Claimed);
            Assert.All(claims.Where(c => !ReferenceEquals(c, winner)), c => Assert.Equal(ClaimStatus.InProgress, c.Status));
            await ledger.MarkPostedAsync(winner, default);
            Assert.Equal(ClaimStatus.AlreadyPosted, (await ledger.TryClaimAsync("digest-race", default)).Status);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [SkippableFact]
    public async Task A_posted_digest_cannot_be_claimed_again()
    {
        var (ledger, client, _) = await NewLedgerAsync();
        using var _ = client;

        var claim = await ledger.TryClaimAsync("d1", default);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        await ledger.MarkPostedAsync(claim, default);

        _time.Advance(TimeSpan.FromDays(1)); // long after any lease
        Assert.Equal(ClaimStatus.AlreadyPosted, (await ledger.TryClaimAsync("d1", default)).Status);
        Assert.Equal(ClaimStatus.Claimed, (await ledger.TryClaimAsync("d2", default)).Status);
    }

    [SkippableFact]
    public async Task An_unconfirmed_claim_blocks_others_until_its_lease_runs_out()
    {
        var (ledger, client, _) = await NewLedgerAsync();
        using var _ = client;

        var crashed = await ledger.TryClaimAsync("d1", default); // the attempt dies before confirming
        Assert.Equal(ClaimStatus.Claimed, crashed.Status);

        _time.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.Equal(ClaimStatus.InProgress, (await ledger.TryClaimAsync("d1", default)).Status);

        _time.Advance(TimeSpan.FromSeconds(2));
        var retry = await ledger.TryClaimAsync("d1", default);
        Assert.Equal(ClaimStatus.Claimed, retry.Status);

        // The crashed attempt's late confirmation no longer counts: the claim is the retry's.
        await ledger.MarkPostedAsync(crashed, default);
        await ledger.ReleaseAsync(retry, default);
        Assert.Equal(ClaimStatus.Claimed, (await ledger.TryClaimAsync("d1", default)).Status);
    }

    [SkippableFact]
    public async Task A_released_claim_can_be_claimed_at_once()
    {
        var (ledger, client, _) = await NewLedgerAsync();
        using var _ = client;

        var failedPost = await ledger.TryClaimAsync("d1", default);
        await ledger.ReleaseAsync(failedPost, default);

        Assert.Equal(ClaimStatus.Claimed, (await ledger.TryClaimAsync("d1", default)).Status);
    }

    [SkippableFact]
    public async Task Entries_carry_a_ttl_in_epoch_seconds_and_count_as_absent_once_expired()
    {
        var (ledger, client, table) = await NewLedgerAsync();
        using var _ = client;

        await ledger.MarkPostedAsync(await ledger.TryClaimAsync("d1", default), default);
        var item = await client.GetItemAsync(table, new Dictionary<string, AttributeValue> { ["digestId"] = new() { S = "d1" } });
        Assert.Equal((_time.GetUtcNow() + Ttl).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), item.Item["expiresAt"].N);
        Assert.Equal("posted", item.Item["status"].S);

        // DynamoDB deletes expired items days late; the ledger must not trust that they are gone.
        _time.Advance(Ttl + TimeSpan.FromMinutes(1));
        Assert.Equal(ClaimStatus.Claimed, (await ledger.TryClaimAsync("d1", default)).Status);
    }

    [SkippableFact]
    public async Task An_unreachable_table_is_reported_as_a_retryable_outage()
    {
        using var own = new DynaliteFixture();
        using var client = Client(own.Endpoint);
        var table = await CreateTableAsync(client);
        var ledger = new DynamoDbDigestLedger(client, table, _time, Lease, Ttl);

        own.Stop();

        await Assert.ThrowsAsync<LedgerUnavailableException>(() => ledger.TryClaimAsync("d1", default));
    }

    [SkippableFact]
    public async Task An_alerts_slack_messages_are_remembered_per_channel_on_its_ledger_item_and_found_again()
    {
        var (ledger, client, table) = await NewLedgerAsync();
        using var _ = client;
        var claim = await ledger.TryClaimAsync("alert-1", default); // the alert is claimed, then posted, then remembered

        Assert.Null(await ledger.FindAsync("alert-1", "#team-a", default));
        await ledger.RememberAsync("alert-1", "#team-a", "1795615331.000001", default);    // creates the map
        await ledger.RememberAsync("alert-1", "#security-alerts", "1795615331.000002", default); // adds to it
        await ledger.MarkPostedAsync(claim, default);

        // A later invocation (another ledger over the same table) finds them.
        var later = new DynamoDbDigestLedger(client, table, _time, Lease, Ttl);
        Assert.Equal("1795615331.000001", await later.FindAsync("alert-1", "#team-a", default));
        Assert.Equal("1795615331.000002", await later.FindAsync("alert-1", "#security-alerts", default));
        Assert.Null(await later.FindAsync("alert-1", "#elsewhere", default));
        Assert.Null(await later.FindAsync("alert-unknown", "#team-a", default));

        // On the alert's own item, which stays posted.
        var item = await client.GetItemAsync(table, new Dictionary<string, AttributeValue> { ["digestId"] = new() { S = "alert-1" } });
        Assert.Equal("posted", item.Item["status"].S);
        Assert.Equal(2, item.Item[DynamoDbDigestLedger.ThreadsAttribute].M.Count);
        Assert.Equal(ClaimStatus.AlreadyPosted, (await later.TryClaimAsync("alert-1", default)).Status);
    }

    [SkippableFact]
    public async Task Remembering_an_alert_the_ledger_never_claimed_creates_no_item()
    {
        var (ledger, client, _) = await NewLedgerAsync();
        using var _ = client;

        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.RememberAsync("alert-stray", "#team-a", "1.1", default));

        // An item without a claim would read as an attempt in progress and block the id: there is none.
        Assert.Equal(ClaimStatus.Claimed, (await ledger.TryClaimAsync("alert-stray", default)).Status);
    }
}
