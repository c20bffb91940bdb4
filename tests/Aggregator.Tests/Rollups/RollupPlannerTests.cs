using System.Runtime.CompilerServices;
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
    public void A_digest_held_with_a_roll_up_that_took_none_of_it_is_released_when_its_group_is_decided()
    {
        // Account 1's burst has two roles' shares: the StackSet role's, rolled up with accounts 2 and 3, and a deployer's,
        // which only account 4 shares. Account 4's digest waits in the same group, and no roll-up takes any of it.
        var planner = new RollupPlanner(Options, Window);
        var linking = new BurstBuilder("111111111111", Events.T0);
        for (int i = 0; i < Baseline.Length; i++)
            foreach (var (role, call) in new[] { ("stacksets-exec-1", Baseline[i]), ("deployer", "UpdateFunctionCode") })
            {
                var evt = TestEvents.At(Events.T0.AddSeconds(i), "111111111111", call, "iam.amazonaws.com", identity: Events.Role("111111111111", role, "s"));
                linking.Add(evt, null, Pipeline.Aggregator.Risk.RiskCatalog.Default, Window, evt.Time);
                linking.LastSeenAt = evt.Time;
            }
        planner.Offer(linking.ToDigest(BurstCloseReason.QuietGap, Window, Events.T0.AddMinutes(30)));
        planner.Offer(Burst("222222222222", 1, Baseline));
        planner.Offer(Burst("333333333333", 2, Baseline));
        var alone = Burst("444444444444", 1, ["UpdateFunctionCode"], role: "deployer");
        Assert.True(planner.Offer(alone));

        var output = planner.Flush();

        var rollup = Assert.Single(output.OfType<Rollup>());
        Assert.Equal(3, rollup.Accounts.Count);
        var released = Assert.Single(output.OfType<Digest>(), d => d.Account == "444444444444");
        Assert.Equal((null, true), (released.RollupId, released.Posted));
        Assert.Equal(alone.ClosedAt > rollup.ClosedAt ? alone.ClosedAt : rollup.ClosedAt, released.HeldUntil);
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

    /// <summary>
    /// A random day of three roles' changes in forty accounts (refused calls, risky calls of one name for two reasons, accounts
    /// named on some digests only) against the roll-up as its members' shares add up, written the plain LINQ way the planner
    /// once built it: the accounts, failures and risky calls, their order and caps, and which shares are marked.
    /// </summary>
    [Fact]
    public void Every_roll_up_is_its_marked_shares_added_up_in_the_documented_order()
    {
        var random = new Random(20261203);
        (string Name, string Source)[] calls =
        [
            ("CreateRole", "iam.amazonaws.com"), ("PutRolePolicy", "iam.amazonaws.com"), ("TagRole", "iam.amazonaws.com"),
            ("AttachRolePolicy", "iam.amazonaws.com"), ("CreateAccessKey", "iam.amazonaws.com"), ("DeleteTrail", "cloudtrail.amazonaws.com"),
            // More risky calls of one severity, so that a roll-up has more than 16 of them to order (below that, the sort is
            // an insertion sort, stable whatever the comparison says about ties).
            ("CreateLoginProfile", "iam.amazonaws.com"), ("AttachUserPolicy", "iam.amazonaws.com"), ("PutUserPolicy", "iam.amazonaws.com"),
            ("CreatePolicyVersion", "iam.amazonaws.com"), ("AddUserToGroup", "iam.amazonaws.com"), ("UpdateLoginProfile", "iam.amazonaws.com"),
            ("DeleteFlowLogs", "ec2.amazonaws.com"), ("StopLogging", "cloudtrail.amazonaws.com"), ("CreateUser", "iam.amazonaws.com"),
        ];
        string?[] errors = [null, null, null, "AccessDenied", "Throttling"];
        var offered = new List<Digest>();
        for (int n = 0; n < 400; n++)
        {
            string account = $"{random.Next(40) + 100:D3}000000000";
            string role = $"stacksets-exec-{random.Next(3)}", other = $"stacksets-exec-{random.Next(3)}";
            double minute = random.Next(240);
            var burst = new BurstBuilder(account, Events.T0.AddMinutes(minute));
            int size = random.Next(1, 12);
            for (int i = 0; i < size; i++)
            {
                var (name, source) = calls[random.Next(calls.Length)];
                var identity = random.Next(8) switch
                {
                    0 => Events.Role(account, "AWSReservedSSO_Admin_0123456789abcdef", "alice@example.com"),
                    1 => Events.Role(account, other, "s"), // a second actor's share in the same burst
                    _ => Events.Role(account, role, "s"),
                };
                var evt = TestEvents.At(Events.T0.AddMinutes(minute).AddSeconds(i), account, name, source, errors[random.Next(errors.Length)], identity);
                burst.Add(evt, null, Pipeline.Aggregator.Risk.RiskCatalog.Default, Window, evt.Time);
                burst.LastSeenAt = evt.Time;
            }
            var digest = burst.ToDigest(BurstCloseReason.QuietGap, Window, Events.T0.AddMinutes(minute + 30));
            // Messages, reasons and targets the catalog and the test events keep the same, varied on the shares: which
            // one a roll-up shows, and the order of one call's reasons, are what is compared.
            digest = digest with
            {
                Parts = [.. digest.Parts.Select(p => p with
                {
                    Failures = [.. p.Failures.Select(f => f with { ErrorMessage = random.Next(3) == 0 ? null : $"message {random.Next(5)}" })],
                    Risky = [.. p.Risky.Select(r => r with { Reason = r.Reason + (random.Next(2) == 0 ? "" : " again"), Target = random.Next(3) == 0 ? null : $"target-{random.Next(5)}" })],
                })],
            };
            offered.Add(random.Next(3) == 0 ? digest : digest with { AccountInfo = new Enricher.Model.AccountInfo(account, $"acct-{random.Next(60)}") });
        }
        // Roll-ups capped below what their members hold, so the caps are where they are taken.
        var capped = Window with { MaxRiskyPerDigest = 12, MaxFailuresPerDigest = 3 };
        var planner = new RollupPlanner(Options, capped);
        foreach (var d in offered.OrderBy(d => d.ClosedAt)) planner.Offer(d);
        var output = planner.Flush();

        var rollups = output.OfType<Rollup>().ToList();
        Assert.True(rollups.Count >= 5, $"{rollups.Count} roll-ups");
        Assert.Contains(rollups, r => r.Failures.Count == capped.MaxFailuresPerDigest);
        Assert.Contains(rollups, r => r.Risky.Count == capped.MaxRiskyPerDigest);
        Assert.Contains(output.OfType<Digest>(), d => d.Parts.Count(p => p.RollupId is not null) >= 2);
        var digests = output.OfType<Digest>().ToList();
        foreach (var rollup in rollups)
        {
            var members = digests.SelectMany(d => d.Parts.Where(p => p.RollupId == rollup.RollupId).Select(p => (Digest: d, Part: p))).ToList();
            Assert.Equal(Shown(Expected(rollup.RollupId, members, capped)), Shown(rollup));
        }
        foreach (var digest in digests)
        {
            var marked = digest.Parts.Where(p => p.RollupId is not null).ToList();
            Assert.Equal((marked.FirstOrDefault()?.RollupId, marked.Sum(p => p.EventCount)), (digest.RollupId, digest.FoldedEventCount));
        }
    }

    /// <summary>The oracle: a roll-up of <paramref name="members"/> (digest and marked share, in the order offered), in LINQ.</summary>
    private static Rollup Expected(string rollupId, List<(Digest Digest, DigestPart Part)> members, BurstWindowOptions window) => new()
    {
        RollupId = rollupId,
        ActorKey = members[0].Part.ActorKey!,
        Accounts = members
            .GroupBy(m => m.Digest.Account, StringComparer.Ordinal)
            .Select(g => new RollupAccount(g.Key, g.Select(m => m.Digest.AccountInfo).LastOrDefault(i => i is not null), g.First().Digest.DigestId, g.Sum(m => m.Part.EventCount)))
            .OrderBy(a => a.AccountName is null).ThenBy(a => a.AccountName, StringComparer.Ordinal).ThenBy(a => a.Account, StringComparer.Ordinal)
            .ToList(),
        FirstEventTime = members.Min(m => m.Part.FirstEventTime),
        LastEventTime = members.Max(m => m.Part.LastEventTime),
        EventCount = members.Sum(m => m.Part.EventCount),
        ErrorCount = members.Sum(m => m.Part.ErrorCount),
        EventNames = DigestParts.Sum([.. members.Select(m => m.Part)], p => p.EventNames),
        Principals = DigestParts.Sum([.. members.Select(m => m.Part)], p => p.Principals),
        Regions = DigestParts.Sum([.. members.Select(m => m.Part)], p => p.Regions),
        Failures = members
            .SelectMany(m => m.Part.Failures.Select(f => (m.Digest.Account, f)))
            .GroupBy(x => (x.f.EventName, x.f.ErrorCode))
            .Select(g => new RollupFailure(g.Key.EventName, g.Key.ErrorCode, g.Select(x => x.f.ErrorMessage).FirstOrDefault(m => m is not null),
                [.. g.Select(x => x.Account).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], g.Sum(x => x.f.Count)))
            .OrderByDescending(f => f.Accounts.Count).ThenBy(f => f.EventName, StringComparer.Ordinal).ThenBy(f => f.ErrorCode, StringComparer.Ordinal)
            .Take(window.MaxFailuresPerDigest)
            .ToList(),
        Risky = members
            .SelectMany(m => m.Part.Risky.Select(r => (m.Digest.Account, r)))
            .GroupBy(x => (x.r.EventName, x.r.Reason, x.r.Severity))
            .Select(g => new RollupRisk(g.Key.EventName, g.Key.Reason, g.Key.Severity,
                [.. g.Select(x => x.Account).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], g.Count(), g.Select(x => x.r.Target).FirstOrDefault(t => t is not null)))
            .OrderByDescending(r => r.Severity).ThenByDescending(r => r.Accounts.Count).ThenBy(r => r.EventName, StringComparer.Ordinal)
            .Take(window.MaxRiskyPerDigest)
            .ToList(),
        RiskyCount = members.Sum(m => m.Part.RiskyCount),
        ClosedAt = default,
    };

    /// <summary>
    /// A change gathers for up to the max span, so its candidate, its group and their lists are in the oldest generation
    /// when it is decided, while its latest digests are young. Still linked to those dead old objects (or to an array a
    /// list outgrew), the young digests would live through every young collection until a full one, copied by each: the
    /// collector reads old objects' references without knowing they are dead. A long replay's collections promoted about
    /// 40 MB each that way (docs/performance.md, "Speed, eleventh session").
    /// </summary>
    [Fact]
    public void A_decided_change_keeps_none_of_its_young_digests_through_a_young_collection()
    {
        for (int attempt = 1; ; attempt++)
        {
            var (planner, young) = DecidedChangeWithYoungDigests();
            if (young is null)
            {
                // A collection ran meanwhile (tests in parallel allocate too): the digests may have aged; again.
                Assert.True(attempt < 10, "a collection ran during every attempt");
                continue;
            }
            GC.Collect(1, GCCollectionMode.Forced, blocking: true);
            Assert.All(young, digest => Assert.False(digest.IsAlive));
            GC.KeepAlive(planner);
            return;
        }
    }

    /// <summary>
    /// A change whose first digest is in the oldest generation and whose five later ones are young (more than its lists
    /// first held, so they grow), decided; weak references to the young digests, or null if a collection ran meanwhile.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (RollupPlanner Planner, WeakReference[]? Young) DecidedChangeWithYoungDigests()
    {
        var planner = new RollupPlanner(Options, Window);
        Assert.True(planner.Offer(Burst("111111111111", 0, Baseline)));
        GC.Collect();
        GC.Collect();
        int collections = GC.CollectionCount(0);
        var young = OfferYoung(planner);
        var decided = planner.Decide(Events.T0.AddHours(2));
        Assert.Single(decided.OfType<Rollup>());
        Assert.Equal(6, decided.OfType<Digest>().Count());
        return (planner, GC.CollectionCount(0) == collections ? young : null);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference[] OfferYoung(RollupPlanner planner)
    {
        var young = new WeakReference[5];
        for (int i = 0; i < young.Length; i++)
        {
            var digest = Burst(new string((char)('2' + i), 12), i + 1, Baseline);
            Assert.True(planner.Offer(digest));
            young[i] = new WeakReference(digest);
        }
        return young;
    }

    /// <summary>A roll-up's content as text, lists spelled out (records compare lists by reference).</summary>
    private static string Shown(Rollup r) => string.Join("\n",
        $"{r.RollupId} {r.ActorKey} {r.FirstEventTime:O} {r.LastEventTime:O} events {r.EventCount} errors {r.ErrorCount} risky {r.RiskyCount}",
        "accounts " + string.Join(" ", r.Accounts.Select(a => $"{a.Account}:{a.AccountName}:{a.DigestId}:{a.EventCount}")),
        "names " + string.Join(" ", r.EventNames), "principals " + string.Join(" ", r.Principals), "regions " + string.Join(" ", r.Regions),
        "failures " + string.Join(" | ", r.Failures.Select(f => $"{f.EventName} {f.ErrorCode} {f.ErrorMessage} {f.Count} [{string.Join(",", f.Accounts)}]")),
        "risky " + string.Join(" | ", r.Risky.Select(x => $"{x.EventName} {x.Reason} {x.Severity} {x.Count} {x.Target} [{string.Join(",", x.Accounts)}]")));
}
