using System.CommandLine;
using Pipeline.Enricher.Accounts;

namespace Pipeline.Cli.Commands;

/// <summary>
/// Where `digest` and `run` find account names: --accounts (a file) or --accounts-table (a DynamoDB table, reached
/// through the command's own AWS options); neither gives ids only.
/// </summary>
internal sealed class AccountNameOptions(AwsOptions aws) : IOptionGroup
{
    public Option<string?> File { get; } = CommonOptions.Accounts();
    public Option<string?> Table { get; } = CommonOptions.AccountsTable();

    public IEnumerable<Option> Options => [File, Table];

    public IAccountDirectory Directory(ParseResult parse) => CommonOptions.Directory(parse, File, Table, aws);
}
