using Pipeline.Aggregator.Rollups;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Storms;

namespace Pipeline.Aggregator.Tests.Rollups;

/// <summary>
/// The per-event actor of a burst's lanes (<see cref="ChangeActor"/>, no allocation) keeps to the one documented rule,
/// <c>UserIdentity.ActorKey</c>: on every real event of the shared corpus and on a generated storm day.
/// </summary>
public sealed class ChangeActorTests
{
    [SkippableFact]
    public void The_lanes_actor_is_the_identitys_actor_key_on_every_corpus_event()
    {
        var corpus = SharedCorpus.RequireDirectory();
        var records = Directory.GetFiles(corpus, "*.jsonl").Order(StringComparer.Ordinal).SelectMany(f => RecordReader.ReadFile(f))
            .Select(r => r.Data)
            .Concat(StormDay.Generate().Events.Select(e => (ReadOnlyMemory<byte>)e.Utf8()));
        int compared = 0, people = 0;
        foreach (var data in records)
        {
            if (!EventParser.TryParse(data, out var parsed, out _)) continue;
            using (parsed)
            {
                var evt = parsed!.Event;
                var expected = evt.Finding is { } f ? ChangeActor.FindingPrefix + (f.Type ?? f.Title) : evt.CloudTrail?.Identity.ActorKey;
                Assert.Equal(expected, ChangeActor.KeyOf(evt));
                compared++;
                if (evt.CloudTrail?.Identity.IsPerson == true) people++;
            }
        }
        Assert.True(compared > 1000, $"only {compared} events compared");
        Assert.True(people > 0, "people have no actor: some must be among the events");
    }
}
