using System.Text.Json;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Tests.Commands;

/// <summary>`pipeline accounts import|list` and `--accounts-table`, against a real DynamoDB API (dynalite on loopback).</summary>
public sealed class AccountsCommandTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("accounts-cli-").FullName;
    private static readonly string DemoAccounts = Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "accounts.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string NewTable() => "accounts-" + Guid.NewGuid().ToString("N")[..8];

    [SkippableFact]
    public async Task Import_then_list_then_demo_takes_its_names_from_the_table()
    {
        var table = NewTable();
        var import = await PipelineProcess.RunAsync(["accounts", "import", DemoAccounts, "--table", table, "--endpoint", dynalite.Endpoint, "--create-table"]);
        Assert.True(import.ExitCode == 0, import.Stderr);
        Assert.Contains("imported 5 accounts", import.Stdout, StringComparison.Ordinal);

        var again = await PipelineProcess.RunAsync(["accounts", "import", DemoAccounts, "--table", table, "--endpoint", dynalite.Endpoint]);
        Assert.Equal(0, again.ExitCode);
        var list = await PipelineProcess.RunAsync(["accounts", "list", "--table", table, "--endpoint", dynalite.Endpoint]);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("5 accounts", list.Stdout, StringComparison.Ordinal); // re-import updated, did not duplicate
        Assert.Contains("sandbox-dev", list.Stdout, StringComparison.Ordinal);

        var demo = await PipelineProcess.RunAsync(["demo", "-f", "json", "--accounts-table", table, "--endpoint", dynalite.Endpoint]);
        Assert.True(demo.ExitCode == 0, demo.Stderr);
        var names = demo.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("type").GetString() == "digest").Select(l => l.GetProperty("accountName").GetString()).ToHashSet();
        Assert.Contains("sandbox-dev", names);
        Assert.DoesNotContain(null, names);
    }

    [SkippableFact]
    public async Task Csv_import_loads_good_rows_reports_bad_ones_by_line_and_exits_5()
    {
        var csv = Path.Combine(_dir, "accounts.csv");
        await File.WriteAllTextAsync(csv, "id,name,environment,owner,channel\n111122223333,payments,prod,pay,#pay\n1234,too-short\n444455556666,\n777788889999,data\n");
        var table = NewTable();
        var import = await PipelineProcess.RunAsync(["accounts", "import", csv, "--table", table, "--endpoint", dynalite.Endpoint, "--create-table"]);
        Assert.Equal(5, import.ExitCode);
        Assert.Contains("accounts.csv:3: account id '1234' is not 12 digits", import.Stderr, StringComparison.Ordinal);
        Assert.Contains("accounts.csv:4: account 444455556666 has no name", import.Stderr, StringComparison.Ordinal);
        var list = await PipelineProcess.RunAsync(["accounts", "list", "--table", table, "--endpoint", dynalite.Endpoint]);
        Assert.Contains("2 accounts", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("#pay", list.Stdout, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task List_and_import_show_the_text_a_member_account_chose_as_inert_text()
    {
        // A member account names itself, and whoever fills the table may be careless: every column reaches a terminal.
        const string hostile = "\u001b]0;PWNED\u0007\u001b[2J\u202e";
        var csv = Path.Combine(_dir, "accounts.csv");
        await File.WriteAllTextAsync(csv, $"id,name,environment,owner,channel\n111122223333,pay{hostile},env{hostile},own{hostile},#c{hostile}\n1234{hostile},bad\n");
        var table = NewTable();

        var import = await PipelineProcess.RunAsync(["accounts", "import", csv, "--table", table, "--endpoint", dynalite.Endpoint, "--create-table"]);
        Assert.True(import.ExitCode == 5, import.Stderr);
        Faults.DigestRunChecks.AssertInert(import.Stderr);
        Assert.Contains("account id '1234\\u001b]0;PWNED", import.Stderr, StringComparison.Ordinal);

        var list = await PipelineProcess.RunAsync(["accounts", "list", "--table", table, "--endpoint", dynalite.Endpoint]);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Faults.DigestRunChecks.AssertInert(list.Stdout);
        Assert.Contains("pay\\u001b]0;PWNED", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("#c\\u001b]0;PWNED\\u0007\\u001b[2J\\u202e", list.Stdout, StringComparison.Ordinal); // the last column is not cut
    }

    [SkippableFact]
    public async Task Importing_into_a_missing_table_says_how_to_create_it()
    {
        var result = await PipelineProcess.RunAsync(["accounts", "import", DemoAccounts, "--table", NewTable(), "--endpoint", dynalite.Endpoint]);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("--create-table", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_table_does_not_stop_digests_and_the_run_says_so()
    {
        // Nothing listens on port 9 of loopback: every lookup fails fast.
        var result = await PipelineProcess.RunAsync(["demo", "-f", "json", "--accounts-table", "accounts", "--endpoint", "http://127.0.0.1:9"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("account names unavailable", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("account-name lookups failed", result.Stderr, StringComparison.Ordinal);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        DigestCommandTests.AssertBalanced(lines);
        Assert.All(lines.Where(l => l.GetProperty("type").GetString() == "digest"), d => Assert.Equal(JsonValueKind.Null, d.GetProperty("accountName").ValueKind));
    }
}
