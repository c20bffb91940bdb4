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
}
