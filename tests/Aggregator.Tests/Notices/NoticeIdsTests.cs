using System.IO.Hashing;
using System.Text;
using Pipeline.Aggregator.Notices;

namespace Pipeline.Aggregator.Tests.Notices;

/// <summary>Notice ids are stored (ledger, outbox, Slack threads): however they are made, the same text gives the id it always gave.</summary>
public sealed class NoticeIdsTests
{
    // The definition: the lowercase hexadecimal of the XxHash128 of the text's UTF-8, as ids were first made.
    private static string Reference(string text) => Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text)));

    public static TheoryData<string, string, string?> Parts => new()
    {
        { "111122223333", "0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a", null },
        { "alert", "111122223333", "0c9f2c9e-4d4a-4b8e-9d3f-1f2e3d4c5b6a" },
        { "ünïcode ✓", "emoji 🛡️", "" },
        { "", "", null },
        { new string('a', 300), "long: over the stack's 256 characters", "and more" }, // the joined text is made
        { "x", new string('é', 600), null },                                            // its UTF-8 is rented
        { "lone \ud800 surrogate", "b", null },                                         // encoded with the replacement character, as before
    };

    [Theory]
    [MemberData(nameof(Parts))]
    public void An_id_is_the_hash_of_its_joined_text_however_it_is_made(string first, string second, string? third)
    {
        var joined = third is null ? $"{first}|{second}" : $"{first}|{second}|{third}";
        Assert.Equal(Reference(joined), NoticeIds.Of(first, second, third));
        Assert.Equal(Reference(joined), NoticeIds.Of(joined));
        Assert.Equal(32, NoticeIds.Of(joined).Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(400)] // a roll-up of hundreds of accounts: the text is longer than any stack buffer
    public void A_rollup_id_is_the_hash_of_its_actor_and_sorted_digest_ids_however_they_come(int members)
    {
        var random = new Random(members);
        var ids = Enumerable.Range(0, members).Select(_ => Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64()))).ToArray();
        if (members > 2) ids[1] = ids[0]; // the text's definition keeps a repeated id
        const string actor = "role/stacksets-exec-ünï";
        var definition = Reference("rollup|" + actor + "|" + string.Join(",", ids.Order(StringComparer.Ordinal)));

        var shuffled = ids.ToArray();
        random.Shuffle(shuffled);
        Assert.Equal(definition, Pipeline.Aggregator.Rollups.RollupPlanner.RollupIdFor(actor, shuffled.AsSpan()));
        Assert.Equal(definition, Pipeline.Aggregator.Rollups.RollupPlanner.RollupIdFor(actor, ids.Reverse().ToArray().AsSpan()));
    }
}
