using Pipeline.Aggregator.Bursts;

namespace Pipeline.Aggregator.Tests.Bursts;

/// <summary>The one table a burst's counters keep their counts by name in: counts, first-come order and ranking, scanned or indexed.</summary>
public sealed class CountTableTests
{
    private static readonly Counter[] Counters = Enum.GetValues<Counter>();

    [Theory]
    [InlineData(2)]   // a lane's few names: scanned
    [InlineData(40)]  // indexed past CountTable.IndexFrom
    public void Counts_add_up_by_counter_and_name_whether_the_table_is_scanned_or_indexed(int names)
    {
        var table = new CountTable();
        var expected = new Dictionary<(Counter, string), int>();
        var random = new Random(names);
        for (int i = 0; i < 2_000; i++)
        {
            // A new string instance each time: the table compares by value, not only by reference. The same name
            // in two counters is two counts.
            var key = (Counters[random.Next(Counters.Length)], "name-" + random.Next(names));
            table.Add(key.Item1, key.Item2);
            expected[key] = expected.GetValueOrDefault(key) + 1;
        }

        foreach (var ((counter, name), count) in expected)
        {
            Assert.True(table.TryGetValue(counter, name, out var found));
            Assert.Equal(count, found);
        }
        foreach (var counter in Counters)
            Assert.Equal(expected.Keys.Count(k => k.Item1 == counter), table.NamesIn(counter));
        Assert.False(table.TryGetValue(Counter.Regions, "absent", out _));
    }

    [Fact]
    public void A_table_given_back_starts_empty_and_tables_that_reuse_its_storage_count_only_their_own_names()
    {
        // Tables of every size, indexed or not, recycled in turn: each next table may get the arrays the last gave back.
        for (int round = 0; round < 6; round++)
        {
            int names = round % 2 == 0 ? 5 : CountTable.IndexFrom * 3;
            var table = new CountTable();
            for (int i = 0; i < names * 3; i++) table.Add(Counters[i % names % Counters.Length], $"r{round}-{i % names}");
            foreach (var counter in Counters)
                foreach (var (name, _) in table.Ranked(counter))
                    Assert.StartsWith($"r{round}-", name, StringComparison.Ordinal);
            Assert.Equal(names, Counters.Sum(table.NamesIn));
            Assert.True(table.TryGetValue(Counters[0], $"r{round}-0", out int first));
            Assert.Equal(3, first);

            table.Recycle();
            Assert.All(Counters, c => Assert.Empty(table.Ranked(c)));
            Assert.False(table.TryGetValue(Counters[0], $"r{round}-0", out _));
            // Used again after it gave its storage back (nothing does today, but it must not read what others write).
            table.Add(Counter.Regions, "eu-west-1");
            Assert.Equal([new("eu-west-1", 1)], table.Ranked(Counter.Regions));
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(CountTable.IndexFrom)]
    [InlineData(30)]
    public void Each_counter_enumerates_its_names_in_the_order_they_first_came_as_the_carry_format_writes_them(int names)
    {
        var table = new CountTable();
        var order = Enumerable.Range(0, names).Select(i => $"n{i * 7919 % 1000}").ToList();
        // Two counters interleaved, as events fill them.
        foreach (var name in order)
        {
            table.Add(Counter.EventNames, name);
            table.Add(Counter.SourceIps, "ip-" + name);
        }
        foreach (var name in Enumerable.Reverse(order)) table.Add(Counter.EventNames, name, 2);
        table.Set(Counter.EventNames, order[0], 10); // setting an existing name keeps its place

        var eventNames = new List<KeyValuePair<string, int>>();
        foreach (var kv in table.Of(Counter.EventNames)) eventNames.Add(kv);
        Assert.Equal(order, eventNames.Select(kv => kv.Key));
        Assert.Equal([10, .. Enumerable.Repeat(3, names - 1)], eventNames.Select(kv => kv.Value));
        var ips = new List<string>();
        foreach (var (name, _) in table.Of(Counter.SourceIps)) ips.Add(name);
        Assert.Equal(order.Select(n => "ip-" + n), ips);
    }

    [Fact]
    public void Ranked_is_highest_count_first_then_ordinal_name_like_the_dictionaries_it_replaced()
    {
        var table = new CountTable();
        string[] names = ["b", "a", "B", "c", "é", "a", "c", "c"];
        foreach (var name in names) table.Add(Counter.Principals, name);
        table.Add(Counter.Regions, "a", 100); // another counter's counts stay out of the ranking

        var expected = names.GroupBy(n => n, StringComparer.Ordinal)
            .Select(g => new KeyValuePair<string, int>(g.Key, g.Count()))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal);
        Assert.Equal(expected, table.Ranked(Counter.Principals));
        Assert.Empty(table.Ranked(Counter.ErrorCodes));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(23)]   // scanned
    [InlineData(400)]  // indexed
    public void Ranking_every_counter_at_once_gives_each_counters_ranked_list(int adds)
    {
        var random = new Random(adds);
        var table = new CountTable();
        var counts = new Dictionary<(Counter, string), int>();
        for (int i = 0; i < adds; i++)
        {
            var counter = (Counter)random.Next(RankedLists.Counters);
            var name = "n" + random.Next(adds / 3 + 1);
            int n = random.Next(1, 4);
            table.Add(counter, name, n);
            counts[(counter, name)] = counts.GetValueOrDefault((counter, name)) + n;
        }

        var all = table.RankAll();
        for (int c = 0; c < RankedLists.Counters; c++)
        {
            var counter = (Counter)c;
            var expected = counts.Where(kv => kv.Key.Item1 == counter)
                .Select(kv => new KeyValuePair<string, int>(kv.Key.Item2, kv.Value))
                .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            Assert.Equal(expected, all.Of(counter));
            Assert.Equal(expected, table.Ranked(counter));
        }
    }

    [Fact]
    public void A_counters_view_reads_and_writes_its_own_counts_only()
    {
        var counts = new ChangeCounts();
        counts.EventNames["ConsoleLogin"] = 4;
        counts.EventNames.Add("ConsoleLogin");
        counts.Principals.Add("alice");

        Assert.Equal(5, counts.EventNames["ConsoleLogin"]);
        Assert.Equal([new KeyValuePair<string, int>("ConsoleLogin", 5)], counts.EventNames);
        Assert.Single(counts.Principals);
        Assert.Empty(counts.Regions);
        Assert.Throws<KeyNotFoundException>(() => counts.Principals["ConsoleLogin"]);
    }

    [Fact]
    public void A_table_keeps_one_string_of_a_name_whatever_instance_it_was_given()
    {
        // Display names are built per event: two events of one session bring two strings of the same name.
        var table = new CountTable();
        var kept = table.Add(Counter.Principals, string.Concat("role/deployer/", "ci-run-7"));

        Assert.Same(kept, table.Add(Counter.Principals, string.Concat("role/deployer/", "ci-run-7")));
        Assert.Equal(2, table.Ranked(Counter.Principals).Single().Value);
    }

    [Fact]
    public void The_pool_hands_out_the_first_string_of_a_name_and_any_name_intact()
    {
        var pool = new SharedNames(slots: 2); // so small that names must share slots
        var first = string.Concat("role/", "deployer");

        Assert.Same(first, pool.Share(first));
        Assert.Same(first, pool.Share(string.Concat("role/", "deployer")));
        var others = Enumerable.Range(0, 10).Select(i => "name-" + i).ToList();
        foreach (var other in others) Assert.Equal(other, pool.Share(other)); // evicting, never mixing up
    }

    [Fact]
    public void Ranking_all_counters_gives_each_its_ranked_list_and_a_list_of_one_name_is_shared_by_tables_that_count_it_alike()
    {
        // Two lanes of one role in one region: each counts the region three times, and one also counts a second source.
        var region = new CountTable().Add(Counter.Regions, "eu-west-1"); // the shared string the tables keep
        var a = new CountTable();
        var b = new CountTable();
        foreach (var table in new[] { a, b })
            for (int i = 0; i < 3; i++)
            {
                table.Add(Counter.Regions, region);
                table.Add(Counter.Sources, "iam.amazonaws.com");
            }
        b.Add(Counter.Sources, "sts.amazonaws.com");
        b.Add(Counter.Sources, "sts.amazonaws.com");
        b.Add(Counter.Regions, region);

        var ra = a.RankAll();
        var rb = b.RankAll();
        foreach (var counter in Counters)
        {
            Assert.Equal(a.Ranked(counter), ra.Of(counter));
            Assert.Equal(b.Ranked(counter), rb.Of(counter));
        }
        Assert.Same(ra.Of(Counter.Sources), OneNameCounts.Default.Of(ra.Of(Counter.Sources)[0].Key, 3));
        Assert.Equal([new KeyValuePair<string, int>("eu-west-1", 4)], rb.Of(Counter.Regions)); // counted once more: a list of its own
        Assert.NotSame(ra.Of(Counter.Regions), rb.Of(Counter.Regions));
        Assert.Equal(2, rb.Of(Counter.Sources).Length);
        var c = new CountTable();
        c.Add(Counter.Regions, region, 3);
        Assert.Same(ra.Of(Counter.Regions), c.RankAll().Of(Counter.Regions)); // a third lane, alike: the same list
    }

    [Fact]
    public void A_shared_list_of_one_name_is_always_that_name_counted_that_many_times_whatever_shares_its_slot()
    {
        var pool = new OneNameCounts(slots: 2); // so small that lists must share slots
        var names = Enumerable.Range(0, 6).Select(i => "name-" + i).ToList();
        // Names one after another at each count, then counts one after another for each name: a slot is asked for
        // another name with the same count, and for the same name with another count.
        for (int count = 1; count <= 4; count++)
            foreach (var name in names)
                Assert.Equal([new KeyValuePair<string, int>(name, count)], pool.Of(name, count)); // evicting, never mixing up
        foreach (var name in names)
            for (int count = 1; count <= 4; count++)
                Assert.Equal([new KeyValuePair<string, int>(name, count)], pool.Of(name, count));

        // Compared by reference: an equal name in another string gets a list of its own, with the same entry.
        var kept = pool.Of(names[0], 1);
        Assert.Same(kept, pool.Of(names[0], 1));
        var copy = string.Concat("name-", "0");
        Assert.Equal(kept, pool.Of(copy, 1));
        Assert.Same(copy, pool.Of(copy, 1)[0].Key);
    }

    [Fact]
    public void A_sum_of_one_name_is_the_shared_list_of_it()
    {
        var counts = new Dictionary<string, int> { ["us-east-1"] = 7 };
        Assert.Same(OneNameCounts.Default.Of("us-east-1", 7), ChangeCounts.Ranked(counts));
        counts["eu-west-1"] = 7;
        Assert.Equal([new("eu-west-1", 7), new KeyValuePair<string, int>("us-east-1", 7)], ChangeCounts.Ranked(counts));
    }
}
