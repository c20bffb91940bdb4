using Pipeline.Enricher.Reading;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Fuzzing;

/// <summary>
/// Mutated files through <see cref="RecordReader"/> and the Enricher: nothing throws, nothing hangs, every
/// non-blank line is read, and every record read gets exactly one outcome, in order.
/// </summary>
public sealed class ReaderFuzzTests
{
    [Fact]
    public void Mutated_demo_files_give_every_record_exactly_one_outcome()
    {
        var seeds = FuzzSeeds.Demo;
        FuzzRunner.Run("reader-demo", 1000, rng => new Mutator(rng).File(seeds), input => FuzzTargets.ReadAndEnrich(input.Bytes));
    }

    [SkippableFact]
    public void Mutated_corpus_files_give_every_record_exactly_one_outcome()
    {
        var seeds = FuzzSeeds.Corpus;
        FuzzRunner.Run("reader-corpus", 1000, rng => new Mutator(rng).File(seeds), input => FuzzTargets.ReadAndEnrich(input.Bytes));
    }

    [Fact]
    public void Damaged_gzip_files_are_read_up_to_the_damage_and_the_damage_is_reported()
    {
        var seeds = FuzzSeeds.Demo;
        FuzzRunner.Run("reader-gzip", 300, rng =>
        {
            var mutator = new Mutator(rng);
            var file = mutator.File(seeds);
            return mutator.Gzip(file.Bytes, file.Description);
        }, input => FuzzTargets.Enrich([.. RecordReader.ReadGzip(new MemoryStream(input.Bytes), "fuzz.json.gz")], plainInput: null));
    }
}
