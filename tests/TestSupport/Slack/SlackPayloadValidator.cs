using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.TestSupport.Slack;

/// <summary>
/// Checks a Slack message payload the way Slack does (<see cref="LimitProblems"/>: Block Kit limits, <c>text</c>
/// present) and the way our escaping promise demands (<see cref="InjectionProblems"/>: no caller text can form a
/// mention or a link). An empty list means the payload passes.
/// </summary>
public static partial class SlackPayloadValidator
{
    public const int MaxBlocks = 50;
    public const int MaxSectionText = 3_000;
    public const int MaxFields = 10;
    public const int MaxFieldText = 2_000;
    public const int MaxHeaderText = 150;
    public const int MaxContextElements = 10;
    public const int MaxTextObject = 3_000;
    public const int MaxMessageText = 40_000;

    /// <summary>What Slack would refuse with <c>invalid_blocks</c>/<c>invalid_payload</c>, or what it would drop (a missing <c>text</c>).</summary>
    public static List<string> LimitProblems(ReadOnlySpan<byte> json)
    {
        var problems = new List<string>();
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.ToArray()); }
        catch (JsonException e) { problems.Add("not JSON: " + e.Message); return problems; }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { problems.Add("payload is not an object"); return problems; }
            if (!root.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String || text.GetString()!.Trim().Length == 0)
                problems.Add("text missing or empty (the notification fallback)");
            else if (text.GetString()!.Length > MaxMessageText)
                problems.Add($"text has {text.GetString()!.Length} chars > {MaxMessageText}");
            if (!root.TryGetProperty("blocks", out var blocks)) return problems;
            if (blocks.ValueKind != JsonValueKind.Array) { problems.Add("blocks is not an array"); return problems; }
            if (blocks.GetArrayLength() > MaxBlocks) problems.Add($"{blocks.GetArrayLength()} blocks > {MaxBlocks}");
            int i = 0;
            foreach (var block in blocks.EnumerateArray()) CheckBlock(block, i++, problems);
        }
        return problems;
    }

    private static void CheckBlock(JsonElement block, int index, List<string> problems)
    {
        string where = $"blocks[{index}]";
        string? type = block.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (block.TryGetProperty("block_id", out var id) && (id.GetString()?.Length ?? 0) > 255) problems.Add(where + " block_id > 255");
        switch (type)
        {
            case "header":
                if (!TryText(block, "text", out var htype, out var htext)) { problems.Add(where + " header without text"); break; }
                if (htype != "plain_text") problems.Add(where + " header text must be plain_text");
                if (htext.Length > MaxHeaderText) problems.Add($"{where} header has {htext.Length} chars > {MaxHeaderText}");
                if (htext.Length == 0) problems.Add(where + " header text empty");
                break;
            case "section":
                bool hasText = TryText(block, "text", out _, out var stext);
                if (hasText && stext.Length > MaxSectionText) problems.Add($"{where} section text has {stext.Length} chars > {MaxSectionText}");
                if (hasText && stext.Length == 0) problems.Add(where + " section text empty");
                bool hasFields = block.TryGetProperty("fields", out var fields) && fields.ValueKind == JsonValueKind.Array;
                if (hasFields)
                {
                    if (fields.GetArrayLength() > MaxFields) problems.Add($"{where} {fields.GetArrayLength()} fields > {MaxFields}");
                    int f = 0;
                    foreach (var field in fields.EnumerateArray())
                    {
                        string ftext = field.TryGetProperty("text", out var ft) ? ft.GetString() ?? "" : "";
                        if (ftext.Length > MaxFieldText) problems.Add($"{where}.fields[{f}] has {ftext.Length} chars > {MaxFieldText}");
                        if (ftext.Length == 0) problems.Add($"{where}.fields[{f}] empty");
                        f++;
                    }
                }
                if (!hasText && !hasFields) problems.Add(where + " section needs text or fields");
                break;
            case "context":
                if (!block.TryGetProperty("elements", out var elements) || elements.ValueKind != JsonValueKind.Array || elements.GetArrayLength() == 0)
                {
                    problems.Add(where + " context without elements");
                    break;
                }
                if (elements.GetArrayLength() > MaxContextElements) problems.Add($"{where} {elements.GetArrayLength()} context elements > {MaxContextElements}");
                foreach (var e in elements.EnumerateArray())
                {
                    string etext = e.TryGetProperty("text", out var et) ? et.GetString() ?? "" : "";
                    if (etext.Length > MaxTextObject) problems.Add($"{where} context element has {etext.Length} chars > {MaxTextObject}");
                    if (etext.Length == 0) problems.Add(where + " context element empty");
                }
                break;
            case "divider":
                break;
            default:
                problems.Add($"{where} unknown block type '{type}'");
                break;
        }
    }

    private static bool TryText(JsonElement block, string name, out string type, out string text)
    {
        type = ""; text = "";
        if (!block.TryGetProperty(name, out var obj) || obj.ValueKind != JsonValueKind.Object) return false;
        type = obj.TryGetProperty("type", out var ty) ? ty.GetString() ?? "" : "";
        text = obj.TryGetProperty("text", out var tx) ? tx.GetString() ?? "" : "";
        return true;
    }

    /// <summary>
    /// Every mrkdwn text (and the top-level <c>text</c>) may contain raw <c>&lt;</c> only as a link to the AWS
    /// console or a date token of our own formats with a UTC fallback, and raw <c>&amp;</c> only as one of Slack's three entities or inside such a link; plain text may contain
    /// no angle bracket at all. Anything else means some caller text reached Slack unescaped.
    /// </summary>
    public static List<string> InjectionProblems(ReadOnlySpan<byte> json)
    {
        var problems = new List<string>();
        using var doc = JsonDocument.Parse(json.ToArray());
        foreach (var (path, type, text) in Texts(doc.RootElement, "$"))
        {
            if (type == "plain_text")
            {
                if (text.AsSpan().IndexOfAny('<', '>') >= 0) problems.Add($"{path}: angle bracket in plain_text: {Show(text)}");
                continue;
            }
            var withoutLinks = AllowedDate().Replace(AllowedLink().Replace(text, ""), "");
            if (withoutLinks.Contains('<', StringComparison.Ordinal) || withoutLinks.Contains('>', StringComparison.Ordinal))
                problems.Add($"{path}: unescaped angle bracket: {Show(text)}");
            if (BareAmpersand().IsMatch(withoutLinks))
                problems.Add($"{path}: unescaped ampersand: {Show(text)}");
        }
        return problems;
    }

    /// <summary>
    /// Caller text that Slack would format, link or turn into a mention, found by the markers hostile test text
    /// carries (<see cref="LiveMarkup"/>): outside code spans, no <c>*evil*</c>, <c>_evil_</c>, <c>~evil~</c>,
    /// <c>:evil:</c>, <c>@here</c>, <c>evil.example</c> or <c>://</c> may stay as they were, and in a header no
    /// <c>:evil:</c>. Every <c>mrkdwn</c> text object must also say <c>verbatim: true</c>, so Slack links nothing itself.
    /// </summary>
    public static List<string> MarkupProblems(ReadOnlySpan<byte> json)
    {
        var problems = new List<string>();
        using var doc = JsonDocument.Parse(json.ToArray());
        foreach (var (path, type, text) in Texts(doc.RootElement, "$"))
        {
            var outsideCode = type == "plain_text" ? text : CodeSpan().Replace(AllowedLink().Replace(text, ""), "");
            foreach (var marker in type == "plain_text" ? [":evil:"] : LiveMarkup)
                if (LiveAt(outsideCode, marker) is var at and >= 0)
                    problems.Add($"{path}: live {marker}: …{outsideCode[Math.Max(0, at - 120)..Math.Min(outsideCode.Length, at + 60)]}…");
        }
        foreach (var (path, textObject) in MrkdwnObjects(doc.RootElement, "$"))
            if (!textObject.TryGetProperty("verbatim", out var v) || v.ValueKind != JsonValueKind.True)
                problems.Add($"{path}: mrkdwn text without verbatim: true");
        return problems;
    }

    /// <summary>What hostile test text holds and what must never reach Slack live (see <see cref="MarkupProblems"/>).</summary>
    public static readonly string[] LiveMarkup = ["*evil*", "_evil_", "~evil~", ":evil:", "@here", "@channel", "evil.example", "://"];

    /// <summary>Where <paramref name="marker"/> would act; an underscore pair inside a word (a_evil_b) is not italics to Slack.</summary>
    private static int LiveAt(string text, string marker)
    {
        for (int at = text.IndexOf(marker, StringComparison.Ordinal); at >= 0; at = text.IndexOf(marker, at + 1, StringComparison.Ordinal))
        {
            bool inWord = marker[0] == '_' && ((at > 0 && char.IsLetterOrDigit(text[at - 1])) || (at + marker.Length < text.Length && char.IsLetterOrDigit(text[at + marker.Length])));
            if (!inWord) return at;
        }
        return -1;
    }

    private static IEnumerable<(string Path, JsonElement TextObject)> MrkdwnObjects(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (element.TryGetProperty("type", out var ty) && ty.ValueKind == JsonValueKind.String && ty.GetString() == "mrkdwn")
                yield return (path, element);
            foreach (var p in element.EnumerateObject())
                foreach (var x in MrkdwnObjects(p.Value, path + "." + p.Name)) yield return x;
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray())
                foreach (var x in MrkdwnObjects(item, $"{path}[{i++}]")) yield return x;
        }
    }

    /// <summary>Every text in the payload with its JSON path and text-object type ("mrkdwn" for the top-level text).</summary>
    public static IEnumerable<(string Path, string Type, string Text)> Texts(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            if (element.TryGetProperty("type", out var ty) && ty.ValueKind == JsonValueKind.String
                && element.TryGetProperty("text", out var tx) && tx.ValueKind == JsonValueKind.String
                && ty.GetString() is "plain_text" or "mrkdwn")
            {
                yield return (path, ty.GetString()!, tx.GetString()!);
                yield break;
            }
            foreach (var p in element.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.String && p.Name == "text" && path == "$")
                    yield return ("$.text", "mrkdwn", p.Value.GetString()!);
                else
                    foreach (var x in Texts(p.Value, path + "." + p.Name)) yield return x;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray())
                foreach (var x in Texts(item, $"{path}[{i++}]")) yield return x;
        }
    }

    private static string Show(string text) => text.Length > 300 ? text[..300] + "…" : text;

    /// <summary>A link to the AWS console (any partition) with a label free of markup.</summary>
    [GeneratedRegex(@"<https://([a-z0-9-]+\.)?console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/[^<>|\s]*\|[^<>|]*>")]
    private static partial Regex AllowedLink();

    /// <summary>A date token: Slack's format placeholders and a fallback of digits, dashes, colons and "UTC", nothing else.</summary>
    [GeneratedRegex(@"<!date\^\d+\^\{[a-z_]+\}( \{[a-z_]+\})*\|[0-9: -]+ UTC>")]
    private static partial Regex AllowedDate();

    [GeneratedRegex("`[^`]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex("&(?!(amp|lt|gt);)")]
    private static partial Regex BareAmpersand();
}
