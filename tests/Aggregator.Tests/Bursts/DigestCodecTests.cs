using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Bursts;

/// <summary>A digest parked in a store (the Lambda's held digests) comes back as the digest that closed.</summary>
public sealed class DigestCodecTests
{
    private sealed class Names : IAccountDirectory
    {
        public long Failures => 0;
        public ValueTask<IReadOnlyDictionary<string, AccountInfo>> LookupAsync(IReadOnlyCollection<string> accountIds, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyDictionary<string, AccountInfo>>(accountIds.ToDictionary(id => id,
                id => new AccountInfo(id, "payments-prod") { SlackChannel = "#payments", Environment = "prod", Owner = "team-a", State = "ACTIVE" }));
    }

    private static RawRecord Record(int i, System.Text.Json.Nodes.JsonObject envelope) =>
        new(envelope.Utf8(), new RecordOrigin("test", i)) { ArrivalTime = Events.T0.AddSeconds(i) };

    /// <summary>A real burst: a StackSet role's calls (one failing), a person's root calls (risky, alerting), a late event.</summary>
    private static async Task<Digest> ClosedDigestAsync()
    {
        const string account = "111122223333";
        var core = new DigestCore(new DigestCoreOptions(), new Names());
        var records = new List<RawRecord>();
        for (int i = 0; i < 4; i++)
            records.Add(Record(i, Events.ApiCall(account: account, time: Events.T0.AddSeconds(i), eventName: i == 3 ? "DeleteStack" : "CreateStack",
                eventSource: "cloudformation.amazonaws.com", roleName: "stacksets-exec-abc123", session: "s", errorCode: i == 3 ? "AccessDenied" : null)));
        records.Add(Record(5, Events.ApiCall(account: account, time: Events.T0.AddSeconds(5), eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com",
            identity: Events.Root(account))));
        records.Add(Record(6, Events.ApiCall(account: account, time: Events.T0.AddSeconds(-700), eventName: "CreateTags")));
        await core.ProcessAsync(records, default);
        return Assert.Single(core.Flush());
    }

    [Fact]
    public async Task A_digest_round_trips_with_every_field_parts_account_details_and_alerts_included()
    {
        var digest = await ClosedDigestAsync();
        Assert.True(digest.Parts.Count >= 2);
        Assert.NotEmpty(digest.AlertIds);
        Assert.NotEmpty(digest.Failures);
        Assert.NotEmpty(digest.Risky);
        digest = digest with { RollupId = "r-1", FoldedEventCount = 4, Parts = [digest.Parts[0] with { RollupId = "r-1" }, .. digest.Parts.Skip(1)] };

        var bytes = DigestCodec.Encode(digest);
        var back = DigestCodec.Decode(bytes);

        Assert.Equal(bytes, DigestCodec.Encode(back));
        Assert.Equal(Json(digest), Json(back)); // what readers see, field for field
        Assert.Equal(digest.AccountInfo, back.AccountInfo); // SlackChannel included
        Assert.Equal(digest.AlertIds, back.AlertIds);
        Assert.Equal((digest.RollupId, digest.FoldedEventCount, digest.Posted), (back.RollupId, back.FoldedEventCount, back.Posted));
        Assert.Equal(digest.Parts.Select(p => (p.ActorKey, p.RollupId, p.EventCount)), back.Parts.Select(p => (p.ActorKey, p.RollupId, p.EventCount)));
        Assert.Equal(digest.Parts.Select(Json), back.Parts.Select(Json));
        Assert.Equal((digest.LateCount, digest.LateMaxDelay, digest.ClosedAt, digest.ClosedBy), (back.LateCount, back.LateMaxDelay, back.ClosedAt, back.ClosedBy));
        Assert.Equal(digest.Risky, back.Risky);
        Assert.Equal(digest.Failures, back.Failures);
    }

    [Fact]
    public async Task Damaged_bytes_are_a_format_error_not_a_crash()
    {
        var bytes = DigestCodec.Encode(await ClosedDigestAsync());

        Assert.Throws<FormatException>(() => DigestCodec.Decode(bytes[..(bytes.Length / 2)]));
        Assert.Throws<FormatException>(() => DigestCodec.Decode([9, .. bytes[1..]]));
        Assert.Throws<FormatException>(() => DigestCodec.Decode([.. bytes, 0]));
        Assert.Throws<FormatException>(() => DigestCodec.Decode([]));
    }

    private static string Json(Digest digest)
    {
        using var buffer = new MemoryStream();
        DigestJson.WriteDigest(buffer, digest);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
