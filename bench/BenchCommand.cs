using System.CommandLine;
using Pipeline.Bench.Throughput;

namespace Pipeline.Bench;

/// <summary>
/// `dotnet run -c Release --project bench -- [options]`: throughput and memory of the processing core, each figure next to a baseline measured
/// in the same run (JsonDocument.Parse over the same bytes), so results compare across machines.
/// </summary>
internal static class BenchCommand
{
    public static RootCommand Create()
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
        var format = new Option<string>("--format", "-f")
        {
            Description = "text: a table. json: one JSON object with the machine, the command and every figure.",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new RootCommand("Measure the pipeline's throughput and memory against a JSON-parsing baseline measured in the same run (use -c Release).")
        {
            events, only, repeat, corpus, format, LambdaBench.CreateCommand(),
        };
        command.SetAction((parse, ct) => Guard(() =>
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
                throw new BenchUsageException(e.Message);
            }

            var started = TimeProvider.System.GetUtcNow();
            var loaded = BenchCorpus.Load(options.CorpusFolder);
            Console.Error.WriteLine($"corpus: {loaded.Description}, {loaded.Lines.Count:N0} lines");
            var results = new Benchmarks(options, loaded, Console.Error).Run(ct);
            var report = new BenchReport(BenchEnvironment.Capture(started), loaded.Description, loaded.Lines.Count,
                "dotnet run -c Release --project bench -- " + string.Join(' ', parse.Tokens.Select(t => t.Value)), results);
            Console.Out.Write(parse.GetValue(format) == "json" ? BenchReportWriter.Json(report) + "\n" : BenchReportWriter.Text(report));
            return Task.FromResult(0);
        }));
        return command;
    }

    /// <summary>A bad option is a one-line message and exit 2, not a stack trace.</summary>
    private static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (BenchUsageException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}\nRun 'dotnet run -c Release --project bench -- --help' for the options.").ConfigureAwait(false);
            return 2;
        }
    }
}

/// <summary>An option the benchmark cannot run with.</summary>
internal sealed class BenchUsageException(string message) : Exception(message);
