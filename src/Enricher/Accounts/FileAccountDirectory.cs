using System.Text.Json;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Enricher.Accounts;

/// <summary>
/// Account names from a file: the JSON that <c>aws organizations list-accounts</c> prints
/// (<c>{"Accounts":[{"Id","Name","State"|"Status"}]}</c>). The embedded default; DynamoDB is the other directory.
/// </summary>
internal sealed class FileAccountDirectory : IAccountDirectory
{
    private readonly Dictionary<string, AccountInfo> _accounts;

    public FileAccountDirectory(IEnumerable<AccountInfo> accounts)
    {
        _accounts = [];
        foreach (var account in accounts) _accounts[account.Id] = account;
    }

    public static FileAccountDirectory Empty { get; } = new([]);

    public int Count => _accounts.Count;

    public long Failures => 0;

    public ValueTask<IReadOnlyDictionary<string, AccountInfo>> LookupAsync(IReadOnlyCollection<string> accountIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, AccountInfo>(accountIds.Count);
        foreach (var id in accountIds)
            if (_accounts.TryGetValue(id, out var info)) found[id] = info;
        return ValueTask.FromResult<IReadOnlyDictionary<string, AccountInfo>>(found);
    }

    public AccountInfo? Find(string accountId) => _accounts.GetValueOrDefault(accountId);

    /// <summary>Loads a list-accounts file; a file that is not one fails with a message naming the file and the problem.</summary>
    public static FileAccountDirectory Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Reading.InputException($"cannot read accounts file '{path}': {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    public static FileAccountDirectory Parse(ReadOnlyMemory<byte> json, string name)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("Accounts", out var list) || list.ValueKind != JsonValueKind.Array)
                throw new Reading.InputException($"accounts file '{name}' has no \"Accounts\" array (expected the output of `aws organizations list-accounts`)");
            var accounts = new List<AccountInfo>();
            int index = 0;
            foreach (var item in list.EnumerateArray())
            {
                var id = item.Str("Id");
                var accountName = item.Str("Name");
                if (id is null || !EventParser.IsAccountId(id) || string.IsNullOrWhiteSpace(accountName))
                    throw new Reading.InputException($"accounts file '{name}': Accounts[{index}] needs a 12-digit \"Id\" and a \"Name\"");
                accounts.Add(new AccountInfo(id, accountName)
                {
                    // "Status" is the field AWS retired in 2026; older exports still carry it.
                    State = item.Str("State") ?? item.Str("Status"),
                    Environment = item.Str("Environment"),
                    Owner = item.Str("Owner"),
                    SlackChannel = item.Str("SlackChannel"),
                });
                index++;
            }
            return new FileAccountDirectory(accounts);
        }
        catch (JsonException e)
        {
            throw new Reading.InputException($"accounts file '{name}' is not valid JSON: {e.Message}", e);
        }
    }
}
