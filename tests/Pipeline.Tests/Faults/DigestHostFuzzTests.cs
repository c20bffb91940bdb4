using Pipeline.Cli.Hosting;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Tests.Faults;

/// <summary>
/// Mutated files through the whole file host in-process (read, parse, dedupe, mute, name, burst, render), in
/// every output format: every run balances, digests add up, Slack payloads pass the validator, and no control
/// character reaches a terminal.
/// </summary>
public sealed class DigestHostFuzzTests
{
    private static readonly OutputFormat[] Formats = [OutputFormat.Json, OutputFormat.Slack, OutputFormat.Text];

    [Fact]
    public void Mutated_demo_files_balance_in_every_format()
    {
        var seeds = FuzzSeeds.Demo;
        FuzzRunner.Run("host-demo", 120, rng => new Mutator(rng).File(seeds, maxEvents: 30), input =>
        {
            foreach (var format in Formats) DigestRunChecks.RunHost(input.Bytes, format);
        });
    }

    [SkippableFact]
    public void Mutated_corpus_files_balance_in_every_format()
    {
        var seeds = FuzzSeeds.Corpus;
        FuzzRunner.Run("host-corpus", 120, rng => new Mutator(rng).File(seeds, maxEvents: 30), input =>
        {
            foreach (var format in Formats) DigestRunChecks.RunHost(input.Bytes, format);
        });
    }
}
