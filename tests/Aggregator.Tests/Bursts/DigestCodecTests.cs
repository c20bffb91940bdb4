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
        Assert.Equal(digest.Parts.Select(PartJson), back.Parts.Select(PartJson));
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

    /// <summary>Every field of a part, as the framework's serializer writes a record.</summary>
    private static string PartJson(DigestPart part) => System.Text.Json.JsonSerializer.Serialize(part);

    /// <summary>
    /// A burst like <see cref="ClosedDigestAsync"/>'s, its first part marked as in the round trip above, as the codec wrote
    /// it when a part was a whole digest (17bc614): carries parked then are read now, and written back byte for byte.
    /// </summary>
    private const string WrittenWhenPartsWereDigests =
        "ASAwYmE2Zjk3MTE1Mjk1NDNiZDhmZDM4ZTNlMGM2ZDM4ZQwxMTExMjIyMjMzMzMBDDExMTEyMjIyMzMzMw1wYXltZW50cy1wcm9kAQZBQ1RJVkUBBHByb2QBBnRlYW0tYQEJI3BheW1lbnRzAGK4sAdK3wiA2O5UCUrfCAYBAAQLQ3JlYXRlU3RhY2sDCkNyZWF0ZVRhZ3MBC0RlbGV0ZVN0YWNrAQtTdG9wTG9nZ2luZwEDIFN0YWNrU2V0czogc3RhY2tzZXRzLWV4ZWMtYWJjMTIzBBByb2xlL2RlcGxveWVyL2NpAQRyb290AQEJdXMtZWFzdC0xBgMcY2xvdWRmb3JtYXRpb24uYW1hem9uYXdzLmNvbQQYY2xvdWR0cmFpbC5hbWF6b25hd3MuY29tARFlYzIuYW1hem9uYXdzLmNvbQEBG0FXUyBBUEkgQ2FsbCB2aWEgQ2xvdWRUcmFpbAYBDEFjY2Vzc0RlbmllZAEBCjE5Mi4wLjIuMTAGAAELU3RvcExvZ2dpbmcBBHJvb3SA2O5UCUrfCCVDbG91ZFRyYWlsIGxvZ2dpbmcgc3RvcHBlZCBvciByZW1vdmVkAwABCjE5Mi4wLjIuMTAACXVzLWVhc3QtMQEBC0RlbGV0ZVN0YWNrASBTdGFja1NldHM6IHN0YWNrc2V0cy1leGVjLWFiYzEyMwxBY2Nlc3NEZW5pZWQBDm5vdCBhdXRob3JpemVkAQACAAABAA3PpAEAAAAAWd5PCkrfCAABIDE2NDJkYjkzYjk2NzkzMmIxMzdkNzE4MjdjYmQyZDE5AQNyLTEEAyAwYmE2Zjk3MTE1Mjk1NDNiZDhmZDM4ZTNlMGM2ZDM4ZQwxMTExMjIyMjMzMzMBDDExMTEyMjIyMzMzMw1wYXltZW50cy1wcm9kAQZBQ1RJVkUBBHByb2QBBnRlYW0tYQEJI3BheW1lbnRzgNjuVAlK3wiA2O5UCUrfCAEAAAELU3RvcExvZ2dpbmcBAQRyb290AQEJdXMtZWFzdC0xAQEYY2xvdWR0cmFpbC5hbWF6b25hd3MuY29tAQEbQVdTIEFQSSBDYWxsIHZpYSBDbG91ZFRyYWlsAQABCjE5Mi4wLjIuMTABAAELU3RvcExvZ2dpbmcBBHJvb3SA2O5UCUrfCCVDbG91ZFRyYWlsIGxvZ2dpbmcgc3RvcHBlZCBvciByZW1vdmVkAwABCjE5Mi4wLjIuMTAACXVzLWVhc3QtMQEAAAIAAAEADc+kAQAAAABZ3k8KSt8IAAEgMTY0MmRiOTNiOTY3OTMyYjEzN2Q3MTgyN2NiZDJkMTkBA3ItMQAAIDBiYTZmOTcxMTUyOTU0M2JkOGZkMzhlM2UwYzZkMzhlDDExMTEyMjIyMzMzMwEMMTExMTIyMjIzMzMzDXBheW1lbnRzLXByb2QBBkFDVElWRQEEcHJvZAEGdGVhbS1hAQkjcGF5bWVudHMAYriwB0rfCABiuLAHSt8IAQAAAQpDcmVhdGVUYWdzAQEQcm9sZS9kZXBsb3llci9jaQEBCXVzLWVhc3QtMQEBEWVjMi5hbWF6b25hd3MuY29tAQEbQVdTIEFQSSBDYWxsIHZpYSBDbG91ZFRyYWlsAQABCjE5Mi4wLjIuMTABAAAAAAACAAABAA3PpAEAAAAAWd5PCkrfCAENcm9sZS9kZXBsb3llcgEgMTY0MmRiOTNiOTY3OTMyYjEzN2Q3MTgyN2NiZDJkMTkAAAAgMGJhNmY5NzExNTI5NTQzYmQ4ZmQzOGUzZTBjNmQzOGUMMTExMTIyMjIzMzMzAQwxMTExMjIyMjMzMzMNcGF5bWVudHMtcHJvZAEGQUNUSVZFAQRwcm9kAQZ0ZWFtLWEBCSNwYXltZW50cwDo81EJSt8IgKu9UwlK3wgEAQACC0NyZWF0ZVN0YWNrAwtEZWxldGVTdGFjawEBIFN0YWNrU2V0czogc3RhY2tzZXRzLWV4ZWMtYWJjMTIzBAEJdXMtZWFzdC0xBAEcY2xvdWRmb3JtYXRpb24uYW1hem9uYXdzLmNvbQQBG0FXUyBBUEkgQ2FsbCB2aWEgQ2xvdWRUcmFpbAQBDEFjY2Vzc0RlbmllZAEBCjE5Mi4wLjIuMTAEAAAAAQtEZWxldGVTdGFjawEgU3RhY2tTZXRzOiBzdGFja3NldHMtZXhlYy1hYmMxMjMMQWNjZXNzRGVuaWVkAQ5ub3QgYXV0aG9yaXplZAEAAgAAAQANz6QBAAAAAFneTwpK3wgBGnJvbGUvc3RhY2tzZXRzLWV4ZWMtYWJjMTIzASAxNjQyZGI5M2I5Njc5MzJiMTM3ZDcxODI3Y2JkMmQxOQAAAA==";

    [Fact]
    public void The_format_is_the_one_written_when_parts_were_digests_so_parked_carries_still_read()
    {
        var written = Convert.FromBase64String(WrittenWhenPartsWereDigests);

        var back = DigestCodec.Decode(written);

        Assert.Equal(written, DigestCodec.Encode(back));
        Assert.Equal(("r-1", 4, 6), (back.RollupId, back.FoldedEventCount, back.EventCount));
        Assert.Equal([(null, "r-1", 1), ("role/deployer", null, 1), ("role/stacksets-exec-abc123", null, 4)], back.Parts.Select(p => (p.ActorKey, p.RollupId, p.EventCount)));
        Assert.Equal(back.EventCount, back.Parts.Sum(p => p.EventCount));
        Assert.Equal("StopLogging", Assert.Single(back.Parts[0].Risky).EventName);
        Assert.Equal([new KeyValuePair<string, int>("CreateStack", 3), new("DeleteStack", 1)], back.Parts[2].EventNames);
        Assert.Equal("AccessDenied", Assert.Single(back.Parts[2].Failures).ErrorCode);
    }

    private static string Json(Digest digest)
    {
        using var buffer = new MemoryStream();
        DigestJson.WriteDigest(buffer, digest);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
