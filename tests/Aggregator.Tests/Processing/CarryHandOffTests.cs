using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Processing;

/// <summary>What a core hands on at a window's end, and what it gives up to fit a store's item.</summary>
public sealed class CarryHandOffTests
{
    private static RawRecord Record(string account, DateTimeOffset time, string id, string eventName = "CreateTags") =>
        new(Events.ApiCall(account: account, time: time, eventId: id, eventName: eventName).Utf8(), new RecordOrigin("test", 1)) { ArrivalTime = time };

    private static DigestCore Core() => new(new DigestCoreOptions(), FileAccountDirectory.Empty);

    [Fact]
    public async Task Carrying_every_account_across_window_ends_gives_the_digests_of_one_core()
    {
        var org = OrgStream.Generate(accounts: 6, length: TimeSpan.FromHours(1), gap: TimeSpan.FromMinutes(2), seed: 3);
        var records = org.Select((e, i) => Record(e.Account, e.Time, $"{e.Account}-{i}")).ToList();
        var whole = Core();
        var expected = (await whole.ProcessAsync(records, default)).Digests.Concat(whole.Flush()).Select(d => d.DigestId + d.EventCount).ToList();

        var digests = new List<string>();
        IReadOnlyList<AccountCarry> carried = [];
        long received = 0, accounted = 0;
        foreach (var window in records.Chunk(37))
        {
            var core = Core();
            foreach (var carry in carried) digests.AddRange(core.Put(carry).Select(d => d.DigestId + d.EventCount));
            digests.AddRange((await core.ProcessAsync(window, default)).Digests.Select(d => d.DigestId + d.EventCount));
            carried = core.TakeAll();
            var summary = core.Summary();
            Assert.True(summary.Balanced, $"{summary}");
            received += summary.Received;
            accounted += summary.Digested + summary.CarriedOut - summary.CarriedIn;
        }
        var last = Core();
        foreach (var carry in carried) last.Put(carry);
        digests.AddRange(last.Flush().Select(d => d.DigestId + d.EventCount));

        Assert.Equal(expected, digests);
        // Every event received in some window is digested in some window or still carried at the end, once.
        Assert.Equal(received, accounted);
        Assert.Equal(last.Summary().CarriedIn, last.Summary().Digested);
    }

    [Fact]
    public async Task A_carry_over_the_item_size_forgets_its_oldest_dedupe_ids_first()
    {
        var core = Core();
        var t = Events.T0;
        await core.ProcessAsync([.. Enumerable.Range(0, 12_000).Select(i => Record("111111111111", t.AddMilliseconds(i * 10), $"id-{i}"))], default);

        var handOff = core.TakeAll(AccountCarryCodec.MaxStoredBytes);

        var carry = Assert.Single(handOff.Carries);
        Assert.True(AccountCarryCodec.Encode(carry).Length <= AccountCarryCodec.MaxStoredBytes);
        Assert.True(handOff.DedupeIdsDropped > 0);
        Assert.NotNull(carry.Open); // the burst itself is small: it is still carried
        Assert.Empty(handOff.ClosedEarly);
        Assert.Equal(t.AddMilliseconds(119_990).UtcTicks, carry.Dedupe.Max(e => e.TimeTicks)); // the newest ids are the ones kept
    }

    [Fact]
    public async Task A_burst_too_large_to_carry_closes_now_and_is_counted_as_digested()
    {
        var core = Core();
        // 30,000 distinct, random action names: a burst whose counters alone are larger than an item, even compressed.
        var random = new Random(5);
        await core.ProcessAsync([.. Enumerable.Range(0, 30_000).Select(i => Record("111111111111", Events.T0.AddMilliseconds(i), $"id-{i}", "Call" + Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()))))], default);

        var handOff = core.TakeAll(AccountCarryCodec.MaxStoredBytes);

        var digest = Assert.Single(handOff.ClosedEarly);
        Assert.Equal((30_000, BurstCloseReason.WindowEnd), (digest.EventCount, digest.ClosedBy));
        Assert.Null(Assert.Single(handOff.Carries).Open);
        var summary = core.Summary();
        Assert.True(summary.Balanced);
        Assert.Equal((30_000, 0), (summary.Digested, summary.CarriedOut));
    }

    [Fact]
    public async Task A_carried_burst_keeps_its_actors_shares_and_alert_ids_and_renders_the_same_digest()
    {
        const string account = "111122223333";
        var person = Events.Role(account, "AWSReservedSSO_Admin_0123456789abcdef", "alice@example.com");
        var root = Events.Root(account);
        RawRecord Call(int second, string name, System.Text.Json.Nodes.JsonObject? identity = null) =>
            new(Events.ApiCall(account: account, time: Events.T0.AddSeconds(second), eventName: name, eventId: $"e{second}", identity: identity).Utf8(),
                new RecordOrigin("test", second)) { ArrivalTime = Events.T0.AddSeconds(second) };
        RawRecord[] records = [Call(0, "CreateRole"), Call(5, "PutRolePolicy"), Call(8, "RunInstances", person), Call(9, "StopLogging", root)];

        var whole = Core();
        var batch = await whole.ProcessAsync(records, default);
        Assert.Single(batch.Alerts);
        var expected = Assert.Single(whole.Flush());

        var first = Core();
        await first.ProcessAsync(records, default);
        var carry = AccountCarryCodec.Decode(AccountCarryCodec.Encode(Assert.Single(first.TakeAll())));
        var next = Core();
        next.Put(carry);
        var actual = Assert.Single(next.Flush());

        Assert.Equal(2, expected.Parts.Count); // the people's share (alice, root) and the deployer role's
        Assert.Equal(expected.Parts.Select(p => (p.ActorKey, p.EventCount)), actual.Parts.Select(p => (p.ActorKey, p.EventCount)));
        Assert.Equal(expected.AlertIds, actual.AlertIds);
        Assert.Equal(Pipeline.Aggregator.Rendering.TextDigestRenderer.Render(expected), Pipeline.Aggregator.Rendering.TextDigestRenderer.Render(actual));
    }
}
