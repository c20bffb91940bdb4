using System.Text;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Enricher.Tests.Parsing;

/// <summary>The identity cache shares what repeats and never mixes identities up, whatever shares a slot.</summary>
public sealed class IdentityCacheTests
{
    private static OrgEvent Parse(string identity, string eventId)
    {
        var json = $$"""{"eventName":"PutObject","eventSource":"s3.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","eventID":"{{eventId}}","recipientAccountId":"111122223333","userIdentity":{{identity}}}""";
        Assert.True(EventParser.TryParse(Encoding.UTF8.GetBytes(json), out var parsed, out var reason), reason);
        using (parsed) return parsed!.Event;
    }

    [Fact]
    public void The_same_identity_bytes_in_two_events_give_one_shared_identity()
    {
        const string ci = """{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ci/run-1","sessionContext":{"sessionIssuer":{"userName":"ci"}}}""";
        var first = Parse(ci, "e1").CloudTrail!.Identity;
        var second = Parse(ci, "e2").CloudTrail!.Identity;
        Assert.Same(first, second);
        Assert.Equal("ci", first.SessionIssuerUserName);
    }

    [Fact]
    public void Identities_that_differ_by_one_byte_stay_apart()
    {
        var alice = Parse("""{"type":"IAMUser","userName":"alice"}""", "e1").CloudTrail!.Identity;
        var alicf = Parse("""{"type":"IAMUser","userName":"alicf"}""", "e2").CloudTrail!.Identity;
        Assert.Equal("alice", alice.UserName);
        Assert.Equal("alicf", alicf.UserName);
    }

    [Fact]
    public void A_cache_of_one_slot_evicts_but_always_answers_the_identity_of_the_bytes_asked()
    {
        var cache = new IdentityCache(slots: 1);
        var a = "{\"type\":\"Root\"}"u8.ToArray();
        var b = "{\"type\":\"IAMUser\"}"u8.ToArray();
        cache.Add(a, new UserIdentity { Type = "Root" });
        Assert.True(cache.TryGet(a, out var gotA));
        Assert.Equal("Root", gotA.Type);
        cache.Add(b, new UserIdentity { Type = "IAMUser" });
        Assert.False(cache.TryGet(a, out _));
        Assert.True(cache.TryGet(b, out var gotB));
        Assert.Equal("IAMUser", gotB.Type);
    }
}
