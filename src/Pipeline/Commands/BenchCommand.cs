using System.CommandLine;
using Pipeline.Cli.Bench;
using Pipeline.Cli.Hosting;
using Pipeline.Cli.Terminal;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline bench`: throughput and memory of the processing core, each figure next to a baseline measured
/// in the same run (JsonDocument.Parse over the same bytes), so results compare across machines.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var events = new Option<long>("--events", "-n")
        {
            Description = "Events generated for the end-to-end run; the memory run compares a tenth of this with all of it (try 10000000).",
            DefaultValueFactory = _ => new BenchOptions().Events,
        };
        var only = new Option<string[]>("--only")
        {
            Description = $"Run only these benchmarks: {string.Join(", ", BenchOptions.Names)} (repeat or comma-separate).",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = true,
        };
        var repeat = new Option<int>("--repeat")
        {
            Description = "Timed runs of each throughput measurement; the best one is reported.",
            DefaultValueFactory = _ => new BenchOptions().Repeat,
        };
        var corpus = new Option<string?>("--corpus")
        {
            Description = "Folder of *.jsonl events to replicate (default: ../shared/corpus, else the embedded demo sample).",
        };
        var format = new Option<OutputFormat>("--format", "-f")
        {
            Description = "text: a table. json: one JSON object with the machine, the command and every figure.",
            DefaultValueFactory = _ => OutputFormat.Text,
        };
        var command = new Command("bench", "Measure the pipeline's throughput and memory against a JSON-parsing baseline measured in the same run (use -c Release).")
        {
            events, only, repeat, corpus, format,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, () =>
        {
            var options = new BenchOptions
            {
                Events = parse.GetValue(events),
                Repeat = parse.GetValue(repeat),
                CorpusFolder = parse.GetValue(corpus),
            };
            if (parse.GetValue(only) is { Length: > 0 } names)
                options = options with { Only = names.SelectMany(n => n.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal) };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }

            var started = DateTimeOffset.UtcNow;
            var loaded = BenchCorpus.Load(options.CorpusFolder);
            Console.Error.WriteLine($"corpus: {loaded.Description}, {loaded.Lines.Count:N0} lines");
            var results = new Benchmarks(options, loaded, Console.Error).Run(ct);
            var report = new BenchReport(BenchEnvironment.Capture(started), loaded.Description, loaded.Lines.Count,
                "pipeline bench " + string.Join(' ', parse.Tokens.Select(t => t.Value).SkipWhile(t => t == "bench")), results);
            Console.Out.Write(parse.GetValue(format) == OutputFormat.Json ? BenchReportWriter.Json(report) + "\n" : BenchReportWriter.Text(report));
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }
}
