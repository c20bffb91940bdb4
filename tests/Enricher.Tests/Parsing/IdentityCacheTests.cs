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
    public void The_same_identity_bytes_in_events_after_the_first_give_one_shared_identity()
    {
        const string ci = """{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ci/run-1","sessionContext":{"sessionIssuer":{"userName":"ci"}}}""";
        // Kept at its second sighting, and shared from then on. The parser's cache is shared by every test running
        // meanwhile: one of theirs landing in the same slot before the second sighting delays the keeping by one event, so
        // the last of six events are compared, not the second and third.
        var identities = Enumerable.Range(1, 6).Select(i => Parse(ci, $"e{i}").CloudTrail!.Identity).ToList();
        Assert.Same(identities[4], identities[5]);
        Assert.Equal("ci", identities[5].SessionIssuerUserName);
    }

    [Fact]
    public void An_identity_is_kept_at_its_second_sighting_and_one_seen_once_evicts_nothing()
    {
        var cache = new IdentityCache(slots: 1);
        var ci = "{\"type\":\"AssumedRole\"}"u8.ToArray();
        var once = "{\"type\":\"IAMUser\"}"u8.ToArray();
        Add(cache, ci, new UserIdentity { Type = "AssumedRole" });
        Assert.False(cache.TryGet(ci, out _, out _));
        Add(cache, ci, new UserIdentity { Type = "AssumedRole" });
        Assert.True(cache.TryGet(ci, out var kept, out _));
        Assert.Equal("AssumedRole", kept.Type);
        // A one-off in the same slot is only noted: the repeating identity stays.
        Add(cache, once, new UserIdentity { Type = "IAMUser" });
        Assert.False(cache.TryGet(once, out _, out _));
        Assert.True(cache.TryGet(ci, out var still, out _));
        Assert.Same(kept, still);
    }

    /// <summary>What the parser does on a miss: look up (which gives the hash), then offer what it read.</summary>
    private static void Add(IdentityCache cache, byte[] utf8, UserIdentity identity)
    {
        _ = cache.TryGet(utf8, out _, out var hash);
        cache.Add(utf8, hash, identity);
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
        Add(cache, a, new UserIdentity { Type = "Root" });
        Add(cache, a, new UserIdentity { Type = "Root" });
        Assert.True(cache.TryGet(a, out var gotA, out _));
        Assert.Equal("Root", gotA.Type);
        Add(cache, b, new UserIdentity { Type = "IAMUser" });
        Add(cache, b, new UserIdentity { Type = "IAMUser" });
        Assert.False(cache.TryGet(a, out _, out _));
        Assert.True(cache.TryGet(b, out var gotB, out _));
        Assert.Equal("IAMUser", gotB.Type);
    }
}
