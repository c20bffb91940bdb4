using System.Reactive.Linq;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Enrichment;

public sealed class EnricherTests
{
    private static RawRecord Record(string json, int line) => new(System.Text.Encoding.UTF8.GetBytes(json), new RecordOrigin("t", line));

    private sealed class MuteCreateTags : IMuteRules
    {
        public string? FirstMatch(System.Text.Json.JsonElement envelope) =>
            envelope.GetProperty("detail").GetProperty("eventName").GetString() == "CreateTags" ? "no-tags" : null;
    }

    [Fact]
    public async Task Every_record_gets_exactly_one_outcome_in_input_order()
    {
        var a = Events.ApiCall(account: "111122223333", eventName: "RunInstances", eventId: "a");
        var records = new[]
        {
            Record(a.Line(), 1),
            Record("garbage", 2),
            Record(a.Line(), 3),                                                   // redelivery
            Record(Events.ApiCall(account: "111122223333", eventName: "CreateTags").Line(), 4), // muted
            Record(Events.ApiCall(account: "444455556666", eventName: "RunInstances").Line(), 5),
        };
        var directory = new FileAccountDirectory([new AccountInfo("111122223333", "prod")]);
        var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions { NamingBatchSize = 2 }, directory, new MuteCreateTags());

        var outcomes = await enricher.EnrichAsync(records, default);

        Assert.Equal([1L, 2, 3, 4, 5], outcomes.Select(o => o.Origin.Line));
        Assert.Equal("prod", Assert.IsType<EnrichmentOutcome.Accepted>(outcomes[0]).AccountInfo!.Name);
        Assert.IsType<EnrichmentOutcome.Rejected>(outcomes[1]);
        Assert.IsType<EnrichmentOutcome.Duplicate>(outcomes[2]);
        Assert.Equal("no-tags", Assert.IsType<EnrichmentOutcome.Muted>(outcomes[3]).Rule);
        Assert.Null(Assert.IsType<EnrichmentOutcome.Accepted>(outcomes[4]).AccountInfo);
    }

    [Fact]
    public async Task A_cloudtrail_event_redelivered_under_a_new_envelope_id_is_still_a_duplicate()
    {
        var first = Events.ApiCall(eventId: "same-cloudtrail-event");
        var again = Events.ApiCall(eventId: "same-cloudtrail-event");
        var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions(), FileAccountDirectory.Empty);
        var outcomes = await enricher.EnrichAsync([Record(first.Line(), 1), Record(again.Line(), 2)], default);
        Assert.IsType<EnrichmentOutcome.Duplicate>(outcomes[1]);
    }

    [Fact]
    public void A_record_the_reader_could_not_decode_is_rejected_with_the_readers_reason()
    {
        var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions(), FileAccountDirectory.Empty);
        var outcome = enricher.Classify(new RawRecord(ReadOnlyMemory<byte>.Empty, new RecordOrigin("k", 0, SequenceNumber: "42"), "Kinesis record data is not base64"));
        Assert.Equal("Kinesis record data is not base64", Assert.IsType<EnrichmentOutcome.Rejected>(outcome).Reason);
    }

    [Fact]
    public void A_parsed_record_that_did_not_come_from_Parse_is_refused_with_a_clear_error()
    {
        var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions(), FileAccountDirectory.Empty);
        var e = Assert.Throws<ArgumentException>(() => enricher.Classify(default(ParsedRecord)));
        Assert.Contains("comes from Parse", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, enricher.Deduplicator.Count);
    }

    /// <summary>A directory behind a network call: records every request.</summary>
    private sealed class CountingDirectory : IAccountDirectory
    {
        public List<string[]> Requests { get; } = [];
        public long Failures => 0;

        public ValueTask<IReadOnlyDictionary<string, AccountInfo>> LookupAsync(IReadOnlyCollection<string> accountIds, CancellationToken cancellationToken)
        {
            Requests.Add([.. accountIds.Order(StringComparer.Ordinal)]);
            return ValueTask.FromResult<IReadOnlyDictionary<string, AccountInfo>>(
                accountIds.Where(id => id != "444455556666").ToDictionary(id => id, id => new AccountInfo(id, "name-" + id)));
        }
    }

    [Fact]
    public async Task A_directory_that_is_not_in_memory_is_asked_once_per_batch_for_its_accepted_accounts_only()
    {
        var records = new[]
        {
            Record(Events.ApiCall(account: "111122223333", eventId: "a").Line(), 1),
            Record(Events.ApiCall(account: "111122223333", eventId: "b").Line(), 2),
            Record(Events.ApiCall(account: "222233334444", eventId: "c").Line(), 3), // muted: not looked up
            Record("garbage", 4),
            Record("garbage", 5),                                                     // a batch with nothing to name
            Record(Events.ApiCall(account: "444455556666", eventId: "d").Line(), 6), // unknown to the directory
        };
        var directory = new CountingDirectory();
        var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions { NamingBatchSize = 3 }, directory, new MuteAccount("222233334444"));

        var outcomes = await enricher.EnrichAsync(records, default);

        Assert.Equal([["111122223333"], ["444455556666"]], directory.Requests);
        Assert.Equal("name-111122223333", Assert.IsType<EnrichmentOutcome.Accepted>(outcomes[1]).AccountInfo!.Name);
        Assert.IsType<EnrichmentOutcome.Muted>(outcomes[2]);
        Assert.Null(Assert.IsType<EnrichmentOutcome.Accepted>(outcomes[5]).AccountInfo);
        Assert.Equal([1L, 2, 3, 4, 5, 6], outcomes.Select(o => o.Origin.Line));
    }

    private sealed class MuteAccount(string account) : IMuteRules
    {
        public string? FirstMatch(System.Text.Json.JsonElement envelope) => envelope.GetProperty("account").GetString() == account ? "that-account" : null;
    }
}
