using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Rollups;

/// <summary>The roll-up planner's rules, one at a time, on bursts built through the real aggregator.</summary>
public sealed class RollupPlannerTests
{
    private static readonly BurstWindowOptions Window = new();
    private static readonly RollupOptions Options = new();

    /// <summary>One closed burst of <paramref name="account"/>: <paramref name="calls"/> by a role (or a person), from <paramref name="minute"/>.</summary>
    private static Digest Burst(string account, double minute, string[] calls, string role = "stacksets-exec-1", bool person = false)
    {
        var burst = new BurstBuilder(account, Events.T0.AddMinutes(minute));
        for (int i = 0; i < calls.Length; i++)
        {
            var identity = person ? Events.Role(account, "AWSReservedSSO_Admin_0123456789abcdef", "alice@example.com") : Events.Role(account, role, "s");
            var evt = TestEvents.At(Events.T0.AddMinutes(minute).AddSeconds(i), account, calls[i], "iam.amazonaws.com", identity: identity);
            burst.Add(evt, null, Pipeline.Aggregator.Risk.RiskCatalog.Default, Window, evt.Time);
            burst.LastSeenAt = evt.Time;
        }
        return burst.ToDigest(BurstCloseReason.QuietGap, Window, Events.T0.AddMinutes(minute + 30));
    }

    private static readonly string[] Baseline = ["CreateRole", "PutRolePolicy", "TagRole"];

    [Fact]
    public void A_digest_of_people_only_is_posted_at_once()
    {
        var planner = new RollupPlanner(Options, Window);
        Assert.False(planner.Offer(Burst("111111111111", 0, Baseline, person: true)));
        Assert.Equal(0, planner.HeldCount);
    }

    [Fact]
    public void A_change_in_fewer_accounts_than_the_threshold_is_posted_as_its_digests_unchanged()
    {
        var planner = new RollupPlanner(Options, Window);
        var a = Burst("111111111111", 0, Baseline);
        var b = Burst("222222222222", 1, Baseline);
        Assert.True(planner.Offer(a));
        Assert.True(planner.Offer(b));

        var released = planner.Flush();
        Assert.Equal([a.DigestId, b.DigestId], released.Select(n => n.NoticeId));
        Assert.All(released.Cast<Digest>(), d => Assert.Null(d.RollupId));
        Assert.All(released, n => Assert.True(n.Posted));
    }

    [Fact]
    public void A_change_waits_until_a_share_that_could_still_join_would_have_closed()
    {
        var planner = new RollupPlanner(Options, Window);
        var digests = new[] { "111111111111", "222222222222", "333333333333" }.Select((acc, i) => Burst(acc, i, Baseline)).ToList();
        foreach (var d in digests) Assert.True(planner.Offer(d));
        var last = digests.Max(d => d.LastEventTime);
        var doneAt = last + Options.Window + Window.Gap + Window.Lateness;

        Assert.Empty(planner.Decide(doneAt - TimeSpan.FromSeconds(1)));
        var output = planner.Decide(doneAt);

        var rollup = Assert.IsType<Rollup>(output[0]);
        Assert.Equal(3, rollup.Accounts.Count);
        Assert.Equal(doneAt, rollup.ClosedAt);
        Assert.All(output.Skip(1).Cast<Digest>(), d => Assert.Equal((rollup.RollupId, false, doneAt), (d.RollupId, d.Posted, d.HeldUntil)));
    }

    [Fact]
    public void Shares_further_apart_than_the_window_on_their_own_times_are_different_changes()
    {
        var planner = new RollupPlanner(Options, Window);
        foreach (var (acc, minute) in new[] { ("111111111111", 0.0), ("222222222222", 1), ("333333333333", 2), ("444444444444", 30), ("555555555555", 31) })
            planner.Offer(Burst(acc, minute, Baseline));

        var output = planner.Flush();
        var rollup = Assert.Single(output.OfType<Rollup>());
        Assert.Equal(["111111111111", "222222222222", "333333333333"], rollup.Accounts.Select(a => a.Account).Order());
        Assert.Equal(2, output.OfType<Digest>().Count(d => d.RollupId is null));
    }

    [Fact]
    public void The_same_role_making_unlike_calls_is_not_one_change_but_an_account_that_stopped_early_is()
    {
        var planner = new RollupPlanner(Options, Window);
        planner.Offer(Burst("111111111111", 0, ["CreateRole", "PutRolePolicy", "AttachRolePolicy", "TagRole"]));
        planner.Offer(Burst("222222222222", 0.5, ["CreateRole", "PutRolePolicy", "DeleteRole"])); // refused, rolled back
        planner.Offer(Burst("333333333333", 1, ["CreateRole", "PutRolePolicy", "AttachRolePolicy", "TagRole"]));
        planner.Offer(Burst("444444444444", 1, ["CreateBucket", "PutBucketEncryption"])); // the same role, another change

        var output = planner.Flush();
        var rollup = Assert.Single(output.OfType<Rollup>());
        Assert.Equal(3, rollup.Accounts.Count);
        Assert.DoesNotContain(rollup.Accounts, a => a.Account == "444444444444");
    }

    [Fact]
    public void Roll_ups_off_holds_nothing()
    {
        var planner = new RollupPlanner(Options with { MinAccounts = 0 }, Window);
        Assert.False(planner.Offer(Burst("111111111111", 0, Baseline)));
    }

    [Fact]
    public void The_same_members_give_the_same_roll_up_id_in_any_order()
    {
        var digests = new[] { "111111111111", "222222222222", "333333333333" }.Select((acc, i) => Burst(acc, i, Baseline)).ToList();
        string IdOf(IEnumerable<Digest> order)
        {
            var planner = new RollupPlanner(Options, Window);
            foreach (var d in order) planner.Offer(d);
            return planner.Flush().OfType<Rollup>().Single().RollupId;
        }
        Assert.Equal(IdOf(digests), IdOf(Enumerable.Reverse(digests)));
    }

    /// <summary>One closed burst with calls by two roles: <paramref name="first"/> at <paramref name="minute"/>, <paramref name="second"/> at <paramref name="secondMinute"/>.</summary>
    private static Digest TwoActors(string account, double minute, string first, double secondMinute, string second)
    {
        var burst = new BurstBuilder(account, Events.T0.AddMinutes(minute));
        foreach (var (at, role) in new[] { (minute, first), (secondMinute, second) })
            for (int i = 0; i < Baseline.Length; i++)
            {
                var evt = TestEvents.At(Events.T0.AddMinutes(at).AddSeconds(i), account, Baseline[i], "iam.amazonaws.com", identity: Events.Role(account, role, "s"));
                burst.Add(evt, null, Pipeline.Aggregator.Risk.RiskCatalog.Default, Window, evt.Time);
                burst.LastSeenAt = evt.Time;
            }
        return burst.ToDigest(BurstCloseReason.QuietGap, Window, Events.T0.AddMinutes(secondMinute + 30));
    }

    private static DateTimeOffset DoneAt(IEnumerable<Digest> members, RollupOptions options)
    {
        var first = members.Min(d => d.FirstEventTime);
        var last = members.Max(d => d.LastEventTime);
        var lastStart = last + options.Window < first + options.MaxSpan ? last + options.Window : first + options.MaxSpan;
        return lastStart + Window.Gap + Window.Lateness + options.Settle;
    }

    [Fact]
    public void A_digest_with_shares_of_two_changes_joins_them_and_they_are_decided_together_once_both_are_done()
    {
        var planner = new RollupPlanner(Options, Window);
        // Ten accounts: the early change's group is the larger when the groups join, the other one (the later end) moves into it.
        var early = Enumerable.Range(1, 10).Select(i => Burst($"1{i:D2}000000000", i * 0.2, Baseline, role: "stacksets-exec-1")).ToList();
        var alone = new[] { "777777777777", "888888888888", "999999999999" }.Select((acc, i) => Burst(acc, i, Baseline, role: "terraform-ci")).ToList();
        var late = new[] { "444444444444", "555555555555", "666666666666" }.Select((acc, i) => Burst(acc, 20 + i, Baseline, role: "deployer")).ToList();
        var last = new[] { "131313131313", "141414141414", "151515151515" }.Select((acc, i) => Burst(acc, 38 + i, Baseline, role: "auditor")).ToList();
        // The late change is linked to the last one first, then to the early one: three changes, one group, decided when
        // the last is done (a group formed from two knows the later of their ends).
        var lastLink = TwoActors("161616161616", 23, "deployer", 36, "auditor");
        // Its first role's calls are in time with the early change, its second role's with the late one.
        var link = TwoActors("121212121212", 4, "stacksets-exec-1", 17, "deployer");
        foreach (var d in early.Concat(alone).Concat(late).Concat(last).Append(lastLink).Append(link)) Assert.True(planner.Offer(d));

        // When the early change is done gathering, only the change that shares no digest with another is decided.
        var earlyDone = DoneAt(early.Append(link), Options);
        var first = planner.Decide(earlyDone);
        Assert.Equal(DoneAt(alone, Options), Assert.IsType<Rollup>(first[0]).ClosedAt);
        Assert.Equal(alone.Select(d => d.DigestId), first.Skip(1).Select(n => n.NoticeId));
        Assert.Equal(18, planner.HeldCount);

        var lateDone = DoneAt(late.Append(link).Append(lastLink), Options);
        var lastDone = DoneAt(last.Append(lastLink), Options);
        Assert.True(earlyDone < lateDone && lateDone < lastDone);
        Assert.Empty(planner.Decide(lateDone));
        Assert.Empty(planner.Decide(lastDone - TimeSpan.FromSeconds(1)));
        var all = planner.Decide(lastDone);

        // The roll-ups first, in the order a walk from the group's first digest meets them, dated when the last is done;
        // then every digest of the group in the order offered, the link among them with both shares folded.
        var rollups = all.OfType<Rollup>().ToList();
        Assert.Equal(["stacksets-exec-1", "deployer", "auditor"], rollups.Select(r => r.ActorKey.Split('/')[^1]));
        Assert.All(rollups, r => Assert.Equal(lastDone, r.ClosedAt));
        Assert.Equal(early.Concat(late).Concat(last).Append(lastLink).Append(link).Select(d => d.DigestId), all.Skip(3).Select(n => n.NoticeId));
        var folded = Assert.IsType<Digest>(all[^1]);
        Assert.Equal((false, 6), (folded.Posted, folded.FoldedEventCount));
        Assert.Equal(0, planner.HeldCount);
    }

    [Fact]
    public void A_member_that_starts_earlier_brings_the_decision_forward_when_the_max_span_binds()
    {
        var options = new RollupOptions { MaxSpan = TimeSpan.FromMinutes(4) };
        var planner = new RollupPlanner(options, Window);
        var later = new[] { "111111111111", "222222222222" }.Select(acc => Burst(acc, 10, Baseline)).ToList();
        var earlier = Burst("333333333333", 8, Baseline);
        foreach (var d in later) planner.Offer(d);
        var before = DoneAt(later, options);
        planner.Offer(earlier);
        var after = DoneAt(later.Append(earlier), options);
        Assert.True(after < before); // the change's max span now counts from minute 8

        var output = planner.Decide(after);

        var rollup = Assert.IsType<Rollup>(output[0]);
        Assert.Equal((3, after), (rollup.Accounts.Count, rollup.ClosedAt));
        Assert.Equal(0, planner.HeldCount);
    }

    [Fact]
    public void A_chain_of_linked_changes_is_cut_at_the_max_span_so_its_digests_are_decided_while_it_goes_on()
    {
        // Nineteen changes ten minutes apart, each by its own role in three accounts, each linked to the next by a digest
        // with a share of both: three hours of changes, every one in time with its neighbours.
        var planner = new RollupPlanner(Options, Window);
        var offered = new List<Digest>();
        for (int i = 0; i <= 18; i++)
        {
            offered.AddRange(Enumerable.Range(0, 3).Select(j => Burst($"{i + 10:D2}{j}000000000", 10 * i + j * 0.5, Baseline, role: $"deployer-{i}")));
            if (i < 18) offered.Add(TwoActors($"{i + 10:D2}9000000000", 10 * i + 1, $"deployer-{i}", 10 * i + 9, $"deployer-{i + 1}"));
        }
        foreach (var d in offered) Assert.True(planner.Offer(d));

        // Two and a half hours in: the changes of the first hour are decided, not held until the chain ends.
        var clock = Events.T0.AddMinutes(150);
        var decided = planner.Decide(clock);
        var rollups = decided.OfType<Rollup>().ToList();
        Assert.NotEmpty(rollups);
        Assert.All(rollups, r => Assert.True(r.ClosedAt <= clock && r.LastEventTime - r.FirstEventTime <= Options.MaxSpan, $"{r.ActorKey}: {r.FirstEventTime}–{r.LastEventTime}, decided {r.ClosedAt}"));
        Assert.True(decided.OfType<Digest>().Count() >= 20, $"{decided.OfType<Digest>().Count()} digests released");

        // Everything is released once in the end.
        var rest = planner.Flush();
        Assert.Equal(offered.Select(d => d.DigestId).Order(), decided.Concat(rest).OfType<Digest>().Select(d => d.DigestId).Order());
        Assert.Equal(0, planner.HeldCount);
    }
}
