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
        bool first = true;
        foreach (var row in CsvRows(text))
        {
            var where = $"{name}:{row.Line}";
            if (row.Problem is { } unreadable) { errors.Add(new AccountRowError(where, unreadable)); continue; }
            var cells = row.Cells;
            bool header = first && cells[0].Trim().Equals("id", StringComparison.OrdinalIgnoreCase);
            first = false;
            if (header) continue;
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

    /// <summary>One CSV record: its cells and the line it starts on, or why it could not be read.</summary>
    private sealed record CsvRow(int Line, List<string> Cells, string? Problem = null);

    /// <summary>
    /// The records of an RFC 4180 file: cells separated by commas, records by CRLF or LF; a quoted cell may hold
    /// commas, line breaks and quotes written twice (<c>"Acme, ""EU"""</c>), so one record can span lines. Blank lines and lines starting with <c>#</c> between records are skipped.
    /// A quote left open at the end of the file makes its record unreadable (reported, not guessed at).
    /// </summary>
    private static IEnumerable<CsvRow> CsvRows(string text)
    {
        text = text.ReplaceLineEndings("\n"); // CRLF, LF and a lone CR (old Mac exports) all end a line
        int line = 1, i = 0;
        while (i < text.Length)
        {
            int start = line;
            int end = text.IndexOf('\n', i);
            var rest = text.AsSpan(i, (end < 0 ? text.Length : end) - i);
            if (rest.IsWhiteSpace() || rest.TrimStart().StartsWith("#"))
            {
                i = end < 0 ? text.Length : end + 1;
                line++;
                continue;
            }
            var cells = new List<string>();
            var cell = new StringBuilder();
            bool quoted = false, done = false, started = false;
            for (; i < text.Length && !done; i++)
            {
                char c = text[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                    else if (c == '"') quoted = false;
                    else { if (c == '\n') line++; cell.Append(c); }
                }
                // A quote opens a quoted cell only at the cell's start; inside an unquoted cell (Rack 12" B) it is text.
                else if (c == '"' && cell.Length == 0 && !started) quoted = started = true;
                else if (c == ',') { cells.Add(cell.ToString()); cell.Clear(); started = false; }
                else if (c == '\n') { line++; done = true; }
                else { cell.Append(c); started = true; }
            }
            cells.Add(cell.ToString());
            yield return quoted
                ? new CsvRow(start, cells, $"a quoted cell opened on line {start} is never closed (a missing \")")
                : new CsvRow(start, cells);
        }
    }

    private static string? Validate(string? id, string? name)
    {
        if (string.IsNullOrWhiteSpace(id)) return "missing account id";
        if (!EventParser.IsAccountId(id)) return $"account id '{EventParser.Truncate(id)}' is not 12 digits";
        if (string.IsNullOrWhiteSpace(name)) return $"account {id} has no name";
        return null;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

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
