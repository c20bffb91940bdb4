using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Enricher.Accounts;

/// <summary>A row of an accounts file that could not be used, and why; the other rows still load.</summary>
public sealed record AccountRowError(string Where, string Reason)
{
    public override string ToString() => $"{Where}: {Reason}";
}

/// <summary>
/// Reads the two account-list formats people have at hand: the JSON that <c>aws organizations list-accounts</c>
/// prints (<c>{"Accounts":[{"Id","Name","State"}]}</c>) and a CSV <c>id,name[,environment,owner,channel]</c>
/// (a header row is recognised and skipped). Bad rows are reported with their place, never fatal.
/// </summary>
public static class AccountFile
{
    public sealed record Result(IReadOnlyList<AccountInfo> Accounts, IReadOnlyList<AccountRowError> Errors);

    public static Result Parse(ReadOnlySpan<byte> content, string name)
    {
        var text = Encoding.UTF8.GetString(content).TrimStart('\uFEFF');
        return text.TrimStart().StartsWith('{') ? ParseJson(text, name) : ParseCsv(text, name);
    }

    private static Result ParseJson(string text, string name)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new Reading.InputException($"accounts file '{name}' is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (!doc.RootElement.TryGetProperty("Accounts", out var list) || list.ValueKind != JsonValueKind.Array)
                throw new Reading.InputException($"accounts file '{name}' has no \"Accounts\" array (expected the output of `aws organizations list-accounts`, or a CSV id,name[,environment,owner,channel])");
            var accounts = new List<AccountInfo>();
            var errors = new List<AccountRowError>();
            int index = 0;
            foreach (var item in list.EnumerateArray())
            {
                var where = $"{name} Accounts[{index++}]";
                try
                {
                    var id = Str(item, "Id");
                    var accountName = Str(item, "Name");
                    if (Validate(id, accountName) is { } problem) { errors.Add(new AccountRowError(where, problem)); continue; }
                    accounts.Add(new AccountInfo(id!, accountName!.Trim())
                    {
                        // "Status" is the field AWS retired in 2026; older exports still carry it.
                        State = Str(item, "State") ?? Str(item, "Status"),
                        Environment = Str(item, "Environment"),
                        Owner = Str(item, "Owner"),
                        SlackChannel = Str(item, "SlackChannel"),
                    });
                }
                catch (InvalidOperationException e) // an unpaired surrogate escape ("\ud800") in one of the row's strings
                {
                    errors.Add(new AccountRowError(where, "unreadable text: " + e.Message));
                }
            }
            return new Result(accounts, errors);
        }
    }

    private static Result ParseCsv(string text, string name)
    {
        var accounts = new List<AccountInfo>();
        var errors = new List<AccountRowError>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#')) continue;
            var cells = SplitCsv(line);
            var where = $"{name}:{i + 1}";
            if (i == 0 && cells.Count > 0 && !char.IsAsciiDigit(cells[0].Trim().FirstOrDefault()) && cells[0].Trim().Equals("id", StringComparison.OrdinalIgnoreCase))
                continue; // header
            var id = cells.ElementAtOrDefault(0)?.Trim();
            var accountName = cells.ElementAtOrDefault(1)?.Trim();
            if (Validate(id, accountName) is { } problem) { errors.Add(new AccountRowError(where, problem)); continue; }
            accounts.Add(new AccountInfo(id!, accountName!)
            {
                State = "ACTIVE",
                Environment = Blank(cells.ElementAtOrDefault(2)),
                Owner = Blank(cells.ElementAtOrDefault(3)),
                SlackChannel = Blank(cells.ElementAtOrDefault(4)),
            });
        }
        return new Result(accounts, errors);
    }

    private static string? Validate(string? id, string? name)
    {
        if (string.IsNullOrWhiteSpace(id)) return "missing account id";
        if (!EventParser.IsAccountId(id)) return $"account id '{EventParser.Truncate(id)}' is not 12 digits";
        if (string.IsNullOrWhiteSpace(name)) return $"account {id} has no name";
        return null;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    /// <summary>Comma-separated cells with RFC 4180 quoting ("a, b" and "" for a quote).</summary>
    private static List<string> SplitCsv(string line)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else cell.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return cells;
    }

    /// <summary>A row's field as text: a string as itself, a number as written, a boolean as true/false; anything else null.</summary>
    private static string? Str(JsonElement row, string name) =>
        row.ValueKind == JsonValueKind.Object && row.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            }
            : null;
}
