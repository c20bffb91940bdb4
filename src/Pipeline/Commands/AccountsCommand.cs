using System.CommandLine;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Accounts.DynamoDb;
using Pipeline.Enricher.Reading;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline accounts import|list`: the DynamoDB table that names accounts in digests and routes them to Slack channels.</summary>
internal static class AccountsCommand
{
    public static Command Create() => new("accounts", "Manage the DynamoDB accounts table (names, environment, owner, Slack channel).")
    {
        Import(),
        List(),
    };

    private static Option<string> Table() => new("--table") { Description = "The DynamoDB table of accounts (key: accountId).", Required = true };

    private static Command Import()
    {
        var file = new Argument<string>("FILE") { Description = "The JSON `aws organizations list-accounts` prints, or a CSV id,name[,environment,owner,channel]." };
        var table = Table();
        var create = new Option<bool>("--create-table") { Description = "Create the table (on-demand billing) if it does not exist." };
        var aws = new AwsOptions();
        var command = new Command("import", "Load accounts into the table. Idempotent: re-importing updates, never duplicates; bad rows are reported and skipped.")
        {
            file, table, create, aws,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var path = parse.GetValue(file)!;
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"cannot read '{path}': {e.Message}", e);
            }
            var parsed = AccountFile.Parse(bytes, path);
            foreach (var error in parsed.Errors) await Console.Error.WriteLineAsync(Clean($"skipped {error}")).ConfigureAwait(false); // an error quotes the row

            using var client = aws.CreateDynamoDb(parse);
            var accountTable = new AccountTable(client, parse.GetValue(table)!);
            var time = TimeProvider.System; // the composition root: the one place the command reads the real clock
            try
            {
                if (parse.GetValue(create) && await accountTable.CreateIfMissingAsync(time, ct).ConfigureAwait(false))
                    Console.WriteLine($"created table {accountTable.TableName}");
                await accountTable.PutAsync(parsed.Accounts, time.GetUtcNow(), time, ct).ConfigureAwait(false);
            }
            catch (Amazon.DynamoDBv2.Model.ResourceNotFoundException)
            {
                throw new InputException($"table {accountTable.TableName} does not exist: create it with --create-table, or deploy the central stack (see docs/deploying.md).");
            }
            catch (Exception e) when (e is AmazonClientException or HttpRequestException)
            {
                throw AwsOptions.Unreachable("DynamoDB", parse, aws, e);
            }
            int inactive = parsed.Accounts.Count(a => a.State is not null and not "ACTIVE");
            Console.WriteLine($"imported {parsed.Accounts.Count} accounts into {accountTable.TableName}" +
                (inactive > 0 ? $" ({inactive} marked suspended or closed)" : "") +
                (parsed.Errors.Count > 0 ? $"; {parsed.Errors.Count} rows skipped (see above)" : ""));
            return parsed.Errors.Count > 0 ? ExitCode.RecordsRejected : ExitCode.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var table = Table();
        var aws = new AwsOptions();
        var command = new Command("list", "Print the accounts table.") { table, aws };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            using var client = aws.CreateDynamoDb(parse);
            var accountTable = new AccountTable(client, parse.GetValue(table)!);
            IReadOnlyList<Enricher.Model.AccountInfo> accounts;
            try
            {
                accounts = await accountTable.ScanAsync(ct).ConfigureAwait(false);
            }
            catch (Amazon.DynamoDBv2.Model.ResourceNotFoundException)
            {
                throw new InputException($"table {accountTable.TableName} does not exist.");
            }
            catch (Exception e) when (e is AmazonClientException or HttpRequestException)
            {
                throw AwsOptions.Unreachable("DynamoDB", parse, aws, e);
            }
            Console.WriteLine($"{"account",-12}  {"name",-28}  {"state",-16}  {"environment",-12}  {"owner",-16}  channel");
            foreach (var a in accounts)
                Console.WriteLine($"{Clean(a.Id),-12}  {Fit(Clean(a.Name), 28),-28}  {Clean(a.State ?? ""),-16}  {Fit(Clean(a.Environment ?? ""), 12),-12}  {Fit(Clean(a.Owner ?? ""), 16),-16}  {Clean(a.SlackChannel ?? "")}");
            Console.WriteLine($"{accounts.Count} accounts");
            return ExitCode.Ok;
        }));
        return command;
    }

    private static string Fit(string s, int width) => s.Length <= width ? s : s[..(width - 1)] + "…";

    /// <summary>A table's or a file's text as a terminal may show it: a member account names itself.</summary>
    private static string Clean(string s) => Aggregator.Rendering.TextDigestRenderer.Clean(s);

    /// <summary>The DynamoDB directory for `digest`/`demo --accounts-table`: failures are reported on stderr and never stop the run.</summary>
    public static DynamoDbAccountDirectory Directory(IAmazonDynamoDB client, string table) =>
        new(client, new DynamoDbDirectoryOptions { TableName = table }, onFailure: message => Console.Error.WriteLine("warning: " + message));
}
