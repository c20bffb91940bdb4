using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Enricher.Accounts.DynamoDb;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Enricher.Tests.Accounts;

/// <summary>The DynamoDB account directory against a real DynamoDB API (dynalite on loopback).</summary>
public sealed class DynamoDbAccountDirectoryTests : IDisposable
{
    private readonly DynaliteFixture _dynalite = DynaliteFixture.Durable();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));
    private readonly List<string> _failures = [];

    public void Dispose() => _dynalite.Dispose();

    private AmazonDynamoDBClient Client() => new(new BasicAWSCredentials("x", "x"), new AmazonDynamoDBConfig
    {
        ServiceURL = _dynalite.Endpoint,
        AuthenticationRegion = "us-east-1",
        MaxErrorRetry = 0,
        Timeout = TimeSpan.FromSeconds(5),
    });

    private async Task<AccountTable> TableWith(IAmazonDynamoDB client, params AccountInfo[] accounts)
    {
        var table = new AccountTable(client, "accounts");
        await table.CreateIfMissingAsync(TimeProvider.System, default);
        await table.PutAsync(accounts, _time.GetUtcNow(), TimeProvider.System, default);
        return table;
    }

    private DynamoDbAccountDirectory Directory(IAmazonDynamoDB client) =>
        new(client, new DynamoDbDirectoryOptions { TableName = "accounts", CacheTtl = TimeSpan.FromMinutes(10), NegativeCacheTtl = TimeSpan.FromMinutes(5), FailureBackoff = TimeSpan.FromSeconds(30) },
            _time, _failures.Add);

    [SkippableFact]
    public async Task Imported_names_are_found_and_a_warm_cache_makes_no_more_reads()
    {
        using var client = Client();
        await TableWith(client, new AccountInfo("111122223333", "prod") { SlackChannel = "#prod" }, new AccountInfo("444455556666", "dev"));
        var directory = Directory(client);

        var first = await directory.LookupAsync(["111122223333", "444455556666", "999999999999"], default);
        Assert.Equal("prod", first["111122223333"].Name);
        Assert.Equal("#prod", first["111122223333"].SlackChannel);
        Assert.False(first.ContainsKey("999999999999"));
        Assert.Equal(1, directory.Reads);

        for (int i = 0; i < 100; i++) await directory.LookupAsync(["111122223333", "999999999999"], default); // the unknown one too: negative cache
        Assert.Equal(1, directory.Reads);
    }

    [SkippableFact]
    public async Task Reimporting_updates_instead_of_duplicating()
    {
        using var client = Client();
        var table = await TableWith(client, new AccountInfo("111122223333", "prod"));
        await table.PutAsync([new AccountInfo("111122223333", "prod-renamed") { State = "SUSPENDED" }], _time.GetUtcNow(), TimeProvider.System, default);
        var all = await table.ScanAsync(default);
        var only = Assert.Single(all);
        Assert.Equal(("prod-renamed", "SUSPENDED"), (only.Name, only.State));
    }

    [SkippableFact]
    public async Task An_account_added_later_appears_once_the_negative_cache_expires()
    {
        using var client = Client();
        var table = await TableWith(client, new AccountInfo("111122223333", "prod"));
        var directory = Directory(client);
        Assert.Empty(await directory.LookupAsync(["777788889999"], default));

        await table.PutAsync([new AccountInfo("777788889999", "new-account")], _time.GetUtcNow(), TimeProvider.System, default);
        Assert.Empty(await directory.LookupAsync(["777788889999"], default)); // still cached as unknown

        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal("new-account", (await directory.LookupAsync(["777788889999"], default))["777788889999"].Name);
    }

    [SkippableFact]
    public async Task More_than_100_accounts_are_read_in_batches_of_100()
    {
        using var client = Client();
        var accounts = Enumerable.Range(0, 250).Select(i => new AccountInfo($"{100000000000 + i}", $"acct-{i}")).ToArray();
        await TableWith(client, accounts);
        var directory = Directory(client);
        var found = await directory.LookupAsync([.. accounts.Select(a => a.Id)], default);
        Assert.Equal(250, found.Count);
        Assert.Equal(3, directory.Reads);
    }

    [SkippableFact]
    public async Task An_outage_leaves_events_with_ids_counts_the_failure_and_recovers()
    {
        using var client = Client();
        await TableWith(client, new AccountInfo("111122223333", "prod"), new AccountInfo("444455556666", "dev"));
        var directory = Directory(client);
        Assert.Single(await directory.LookupAsync(["111122223333"], default));

        _dynalite.Stop();
        var during = await directory.LookupAsync(["111122223333", "444455556666"], default);
        Assert.Equal(["111122223333"], during.Keys); // the cached name survives; the other event goes on with its id alone
        Assert.Equal(1, directory.Failures);
        Assert.Contains("account names unavailable", Assert.Single(_failures), StringComparison.Ordinal);

        _dynalite.Start();
        Assert.False((await directory.LookupAsync(["444455556666"], default)).ContainsKey("444455556666")); // still backing off
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("dev", (await directory.LookupAsync(["444455556666"], default))["444455556666"].Name);
    }
}
