using System.Numerics;

namespace Pipeline.Kinesis.Tests;

public sealed class SequenceNumberAndOrderTests
{
    [Theory]
    [InlineData("9", "10", -1)]
    [InlineData("49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692538361571095921575989136588899", -1)]
    [InlineData("0049", "49", 0)]
    [InlineData("100000000000000000000000000000000000000000000000000000000", "99999999999999999999999999999999999999999999999999999999", 1)]
    public void Sequence_numbers_compare_as_integers_not_as_strings(string a, string b, int sign)
    {
        Assert.Equal(sign, Math.Sign(SequenceNumber.Compare(a, b)));
        Assert.Equal(-sign, Math.Sign(SequenceNumber.Compare(b, a)));
    }

    [Fact]
    public void Sequence_number_comparison_agrees_with_BigInteger_on_random_129_digit_values()
    {
        var random = new Random(20131202);
        for (var i = 0; i < 2000; i++)
        {
            var a = RandomDigits(random);
            var b = random.Next(4) == 0 ? a : RandomDigits(random);
            Assert.Equal(BigInteger.Parse(a).CompareTo(BigInteger.Parse(b)), Math.Sign(SequenceNumber.Compare(a, b)));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("12a")]
    [InlineData("-1")]
    public void Malformed_sequence_numbers_are_rejected(string value) =>
        Assert.Throws<ArgumentException>(() => SequenceNumber.Compare(value, "1"));

    [Fact]
    public void Parents_come_before_children_and_expired_parents_do_not_block()
    {
        var shards = new[]
        {
            Shard("shardId-000000000004", "shardId-000000000002", "shardId-000000000003"), // merge child
            Shard("shardId-000000000003", "shardId-000000000000"),
            Shard("shardId-000000000002", "shardId-000000000000"),
            Shard("shardId-000000000000", "shardId-000000000099"), // its parent is past retention
        };

        var order = ShardOrder.ParentsFirst(shards).Select(s => s.ShardId[^1..]);
        var readyFirst = ShardOrder.ReadyToRead(shards, new HashSet<string>()).Select(s => s.ShardId[^1..]);
        var readyAfterSplit = ShardOrder.ReadyToRead(shards, new HashSet<string> { "shardId-000000000000", "shardId-000000000002" }).Select(s => s.ShardId[^1..]);

        Assert.Equal(["0", "2", "3", "4"], order);
        Assert.Equal(["0"], readyFirst);
        Assert.Equal(["3"], readyAfterSplit); // 4 waits for its second parent
    }

    private static Shard Shard(string id, string? parent = null, string? adjacent = null) =>
        new(id, parent, adjacent, new HashKeyRange("0", "1"), new SequenceNumberRange("1", null));

    private static string RandomDigits(Random random)
    {
        var length = random.Next(1, 130);
        return string.Concat(Enumerable.Range(0, length).Select(_ => (char)('0' + random.Next(10))));
    }
}
