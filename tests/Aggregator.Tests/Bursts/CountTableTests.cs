using Pipeline.Aggregator.Bursts;

namespace Pipeline.Aggregator.Tests.Bursts;

/// <summary>The small counting table a burst keeps per counter: counts, first-come order and ranking, short or indexed.</summary>
public sealed class CountTableTests
{
    [Theory]
    [InlineData(3)]   // scanned
    [InlineData(40)]  // indexed past CountTable.IndexFrom
    public void Counts_add_up_by_name_whether_the_table_is_scanned_or_indexed(int names)
    {
        var table = new CountTable();
        var expected = new Dictionary<string, int>(StringComparer.Ordinal);
        var random = new Random(1);
        for (int i = 0; i < 1_000; i++)
        {
            // A new string instance each time: the table compares by value, not only by reference.
            var name = "name-" + random.Next(names);
            table.Add(name);
            expected[name] = expected.GetValueOrDefault(name) + 1;
        }

        Assert.Equal(expected.Count, table.Count);
        foreach (var (name, count) in expected)
        {
            Assert.Equal(count, table[name]);
            Assert.True(table.TryGetValue(name, out var found));
            Assert.Equal(count, found);
        }
        Assert.False(table.TryGetValue("absent", out _));
        Assert.Throws<KeyNotFoundException>(() => table["absent"]);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(CountTable.IndexFrom)]
    [InlineData(30)]
    public void Names_enumerate_in_the_order_they_first_came_as_the_carry_format_writes_them(int names)
    {
        var table = new CountTable();
        var order = Enumerable.Range(0, names).Select(i => $"n{(i * 7919) % 1000}").ToList();
        foreach (var name in order) table.Add(name);
        foreach (var name in Enumerable.Reverse(order)) table.Add(name, 2);
        table[order[0]] = 10; // setting an existing name keeps its place

        Assert.Equal(order, table.Select(kv => kv.Key));
        Assert.Equal(10, table.First().Value);
        Assert.All(table.Skip(1), kv => Assert.Equal(3, kv.Value));
    }

    [Fact]
    public void Ranked_is_highest_count_first_then_ordinal_name_like_the_dictionary_it_replaced()
    {
        var table = new CountTable();
        string[] names = ["b", "a", "B", "c", "é", "a", "c", "c"];
        foreach (var name in names) table.Add(name);

        var expected = names.GroupBy(n => n, StringComparer.Ordinal)
            .Select(g => new KeyValuePair<string, int>(g.Key, g.Count()))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal);
        Assert.Equal(expected, table.Ranked());
        Assert.Empty(new CountTable().Ranked());
    }
}
