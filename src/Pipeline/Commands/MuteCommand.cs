using System.CommandLine;
using System.Text.Json;
using Pipeline.Cli.Hosting;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Reading;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline mute test`: which rules match which events, before the rules silence anything. The same check
/// EventBridge's TestEventPattern offers, for a whole file of real events at once.
/// </summary>
internal static class MuteCommand
{
    public static Command Create()
    {
        var test = new Command("test", "Show, for every event of the input, the mute rules that match it, and warn about rules that match nothing.");
        var mute = new Option<string>("--mute") { Description = "The mute-rule file to test.", Required = true };
        var input = CommonOptions.Input();
        var format = CommonOptions.TableFormat("a table of each event and the rules it matches, then the counts per rule.", "one line per record (its file, line, id and matches), then a summary line.");
        test.Options.Add(mute);
        test.Options.Add(input);
        test.Options.Add(format);
        test.SetAction((parse, ct) => Cli.Guard(parse, () =>
        {
            var rules = CommonOptions.LoadMutes(parse.GetValue(mute))!;
            var files = InputFiles.Resolve(parse.GetValue(input)!, Console.Error).Files;
            var report = Run(rules, RecordReader.ReadFiles(files), parse.GetValue(format), Console.Out, ct);
            return Task.FromResult(report);
        }));

        return new Command("mute", "Work with mute rules (EventBridge event patterns that silence known activity).") { test };
    }

    internal static ExitCode Run(MuteRuleSet rules, IEnumerable<Enricher.Model.RawRecord> records, OutputFormat format, TextWriter output, CancellationToken cancellationToken)
    {
        var matched = rules.RuleNames.ToDictionary(n => n, _ => 0L, StringComparer.Ordinal);
        long events = 0, unreadable = 0;
        var json = format == OutputFormat.Json;
        using var buffer = new MemoryStream();
        var table = new List<(string Where, string What, string Matches)>();

        foreach (var record in records)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? error = record.ReadError;
            IReadOnlyList<string> matches = [];
            string? id = null;
            if (error is null)
            {
                if (EventParser.TryParse(record.Data, out var parsed, out var reason))
                {
                    using (parsed)
                    {
                        id = parsed!.Event.Id;
                        matches = rules.Matches(parsed.Envelope);
                        foreach (var rule in matches) matched[rule]++;
                        table.Add((record.Origin.ToString(), $"{parsed.Event.ActionName} ({parsed.Event.Account})", matches.Count == 0 ? "-" : string.Join(", ", matches)));
                    }
                    events++;
                }
                else error = reason;
            }
            if (error is not null)
            {
                unreadable++;
                table.Add((record.Origin.ToString(), "unreadable: " + error, ""));
            }

            if (!json) continue;
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("file", record.Origin.Source); // a folder or several --input: the line alone finds nothing
                w.WriteNumber("line", record.Origin.Line);
                if (record.Origin.Index is int index) w.WriteNumber("record", index);
                if (error is not null)
                {
                    w.WriteString("error", error);
                }
                else
                {
                    w.WriteString("id", id);
                    w.WriteStartArray("matches");
                    foreach (var m in matches) w.WriteStringValue(m);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            buffer.WriteByte((byte)'\n');
            if (buffer.Length > 64 * 1024) Drain(buffer, output);
        }

        var unmatched = rules.RuleNames.Where(n => matched[n] == 0).ToList();
        if (json)
        {
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("type", "summary");
                w.WriteNumber("events", events);
                w.WriteNumber("unreadable", unreadable);
                w.WriteStartObject("matched");
                foreach (var name in rules.RuleNames) w.WriteNumber(name, matched[name]);
                w.WriteEndObject();
                w.WriteStartArray("unmatchedRules");
                foreach (var name in unmatched) w.WriteStringValue(name);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            buffer.WriteByte((byte)'\n');
            Drain(buffer, output);
        }
        else
        {
            // Cleaned before measured: an escape shown by its number is wider than the character, and must not be cut off.
            var rows = table.Select(t => (Where: TextClean(t.Where), What: TextClean(t.What), Matches: TextClean(t.Matches))).ToList();
            int whereWidth = Math.Min(60, rows.Select(t => t.Where.Length).DefaultIfEmpty(5).Max());
            int whatWidth = Math.Min(60, rows.Select(t => t.What.Length).DefaultIfEmpty(5).Max());
            output.WriteLine($"{"where".PadRight(whereWidth)}  {"event".PadRight(whatWidth)}  matching rules");
            foreach (var (where, what, rulesText) in rows)
                output.WriteLine($"{Fit(where, whereWidth)}  {Fit(what, whatWidth)}  {rulesText}");
            output.WriteLine();
            output.WriteLine($"{events} events, {unreadable} unreadable; matches per rule:");
            foreach (var name in rules.RuleNames) output.WriteLine($"  {TextClean(name)}: {matched[name]}");
            foreach (var name in unmatched)
                Console.Error.WriteLine($"warning: rule \"{TextClean(name)}\" matched no event of the input: check its pattern against a real event.");
        }
        return ExitCode.Ok;
    }

    private static string Fit(string s, int width) => s.Length <= width ? s.PadRight(width) : s[..(width - 1)] + "…";

    private static string TextClean(string s) => Aggregator.Rendering.TextDigestRenderer.Clean(s);

    private static void Drain(MemoryStream buffer, TextWriter output)
    {
        output.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        output.Flush();
        buffer.SetLength(0);
    }
}
