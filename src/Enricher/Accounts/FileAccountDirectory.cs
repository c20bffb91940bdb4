using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Accounts;

/// <summary>
/// Account names from a file: the JSON that <c>aws organizations list-accounts</c> prints
/// (<c>{"Accounts":[{"Id","Name","State"|"Status"}]}</c>). The embedded default; DynamoDB is the other directory.
/// </summary>
public sealed class FileAccountDirectory : IAccountDirectory
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

    /// <summary>
    /// Loads a list-accounts JSON or an accounts CSV. A file that cannot be read is an error; bad rows are
    /// handed to <paramref name="onBadRow"/> and the good rows still load.
    /// </summary>
    public static FileAccountDirectory Load(string path, Action<AccountRowError>? onBadRow = null)
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
        return Parse(bytes, path, onBadRow);
    }

    public static FileAccountDirectory Parse(ReadOnlySpan<byte> content, string name, Action<AccountRowError>? onBadRow = null)
    {
        var result = AccountFile.Parse(content, name);
        // A file the user named for its names that gives none is the wrong file (empty, gzipped, another format): every
        // digest would show bare ids. Said once, with its first problem, not as a warning per line of something else.
        if (result.Accounts.Count == 0)
            throw new Reading.InputException($"accounts file '{name}' has no account in it" +
                (result.Errors.Count > 0 ? $" ({result.Errors.Count} rows could not be read; the first, {Shorten(result.Errors[0].ToString())})" : "") +
                ": give the JSON `aws organizations list-accounts` prints, or a CSV id,name[,environment,owner,channel].");
        foreach (var error in result.Errors) onBadRow?.Invoke(error);
        return new FileAccountDirectory(result.Accounts);
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..199] + "…";
}
