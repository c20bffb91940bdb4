using System.Text;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Risk;
using Pipeline.Aggregator.Rollups;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Storms;
using Xunit.Abstractions;

namespace Pipeline.Aggregator.Tests.Rollups;

/// <summary>
/// An organisation day with storms (<see cref="StormDay"/>), through the core and the roll-up stage as every host runs
/// them: one message per independent change, give or take 15%, and nothing risky or personal lost on the way.
/// </summary>
public sealed class StormDayTests(ITestOutputHelper output)
{
    private sealed record Run(IReadOnlyList<Notice> Notices, RunSummary Summary, long Messages, long Rollups)
    {
        public IEnumerable<Notice> Posted => Notices.Where(n => n.Posted);
        public IEnumerable<Rollup> RollupNotices => Notices.OfType<Rollup>();
        public IEnumerable<Digest> Digests => Notices.OfType<Digest>();
    }

    private static async Task<Run> ReplayAsync(StormDay day, RollupOptions rollup, int batch = 100)
    {
        var directory = FileAccountDirectory.Parse(Encoding.UTF8.GetBytes(day.AccountsJson), "accounts.json");
        var options = new DigestCoreOptions { Rollup = rollup };
        var core = new DigestCore(options, directory);
        var stage = new RollupStage(rollup, options.Window);
        var notices = new List<Notice>();
        var records = day.Events.Select((e, i) => new RawRecord(e.Utf8(), new RecordOrigin("storm", i + 1))).ToList();
        foreach (var chunk in records.Chunk(batch))
            notices.AddRange(stage.Next(await core.ProcessAsync(chunk, default), core.Clock));
        notices.AddRange(stage.Next(core.TakeAlerts(), core.Flush(), core.Clock));
        notices.AddRange(stage.Finish());
        return new Run(notices, core.Summary(), stage.Messages, stage.Rollups);
    }

    [Fact]
    public async Task A_storm_day_posts_about_one_message_per_independent_change()
    {
        var day = StormDay.Generate();
        var without = await ReplayAsync(day, new RollupOptions { MinAccounts = 0 });
        var with = await ReplayAsync(day, new RollupOptions());
        output.WriteLine($"independent changes {day.IndependentChanges}; messages without roll-ups {without.Messages}, with {with.Messages} ({with.Rollups} roll-ups)");

        Assert.True(with.Summary.Balanced);
        Assert.Equal(without.Summary.Digested, with.Summary.Digested); // roll-ups change what is posted, never what is counted
        Assert.InRange(with.Messages, day.IndependentChanges * 0.85, day.IndependentChanges * 1.15);
        Assert.True(without.Messages > day.IndependentChanges * 1.8, $"the storms alone should have made a flood without roll-ups ({without.Messages})");
        Assert.Equal(with.Messages, with.Posted.Count());
    }

    [Fact]
    public async Task Each_storm_is_one_roll_up_naming_its_actor_and_accounts_and_where_it_failed()
    {
        var day = StormDay.Generate();
        var run = await ReplayAsync(day, new RollupOptions());

        var stackSet = Assert.Single(run.RollupNotices, r => r.ActorKey == "role/" + StormDay.StackSetRole);
        Assert.Equal(day.StackSetAccounts.Order(StringComparer.Ordinal), stackSet.Accounts.Select(a => a.Account).Order(StringComparer.Ordinal));
        var refused = Assert.Single(stackSet.Failures, f => f.EventName == "PutRolePolicy");
        Assert.Equal("AccessDenied", refused.ErrorCode);
        Assert.Equal(day.RefusingAccounts.Order(StringComparer.Ordinal), refused.Accounts);
        Assert.All(stackSet.Accounts, a => Assert.NotNull(a.AccountName)); // named, not only ids

        Assert.Single(run.RollupNotices, r => r.ActorKey == "role/" + StormDay.ControlTowerRole && r.Accounts.Count == 45);
        Assert.Single(run.RollupNotices, r => r.ActorKey == "finding/" + StormDay.FindingType && r.Accounts.Count == 30);
        Assert.Equal(3, run.Rollups);

        // Fully explained digests are recorded (with their roll-up's id) but not posted.
        var folded = run.Digests.Where(d => d.RollupId == stackSet.RollupId).ToList();
        Assert.Equal(60, folded.Count);
        Assert.Equal(59, folded.Count(d => !d.Posted));
    }

    [Fact]
    public async Task A_persons_calls_inside_a_storm_account_are_posted_in_that_accounts_digest_naming_her()
    {
        var day = StormDay.Generate();
        var run = await ReplayAsync(day, new RollupOptions());

        var hers = Assert.Single(run.Digests, d => d.Account == day.PersonAccount && d.RollupId is not null);
        Assert.True(hers.Posted);
        var shown = DigestParts.Remaining(hers);
        Assert.Equal([StormDay.PersonShown], shown.Principals.Select(p => p.Key));
        Assert.Equal(3, shown.EventCount);
        Assert.Contains(shown.Risky, r => r.EventName == "AuthorizeSecurityGroupIngress" && r.Principal == StormDay.PersonShown);
        Assert.NotNull(hers.AccountName);
    }

    [Fact]
    public async Task Concurrent_unrelated_changes_by_one_role_are_not_rolled_up()
    {
        var day = StormDay.Generate();
        var run = await ReplayAsync(day, new RollupOptions());

        Assert.DoesNotContain(run.RollupNotices, r => r.ActorKey is "role/github-deploy" or "role/terraform-apply");
        Assert.Equal(4, run.Posted.OfType<Digest>().Count(d => d.Principals.Any(p => p.Key.StartsWith("role/github-deploy/", StringComparison.Ordinal))));
        Assert.Equal(4, run.Posted.OfType<Digest>().Count(d => d.Principals.Any(p => p.Key.StartsWith("role/terraform-apply/", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task Every_risky_call_appears_in_some_posted_message()
    {
        var day = StormDay.Generate();
        var run = await ReplayAsync(day, new RollupOptions());
        var risky = new List<OrgEvent>();
        foreach (var e in day.Events)
        {
            Assert.True(EventParser.TryParse(e.Utf8(), out var parsed, out _));
            using (parsed) if (RiskCatalog.Default.Assess(parsed!.Event) is not null) risky.Add(parsed.Event);
        }
        Assert.NotEmpty(risky);

        foreach (var e in risky)
        {
            bool shown = run.Posted.Any(n => n switch
            {
                Alert a => a.Account == e.Account && a.Event.EventName == e.ActionName && a.Event.EventTime == e.Time,
                Rollup r => r.Accounts.Any(x => x.Account == e.Account) && r.Risky.Any(k => k.EventName == e.ActionName && k.Accounts.Contains(e.Account)),
                Digest d => d.Account == e.Account && DigestParts.Remaining(d).Risky.Any(k => k.EventName == e.ActionName && k.EventTime == e.Time),
                _ => false,
            });
            Assert.True(shown, $"risky {e.ActionName} in {e.Account} at {e.Time:O} is in no posted message");
        }
    }

    [Fact]
    public async Task Root_stopping_cloudtrail_is_alerted_once_before_its_burst_closes_and_its_digest_refers_to_it()
    {
        var day = StormDay.Generate();
        var run = await ReplayAsync(day, new RollupOptions());

        var alerts = run.Notices.OfType<Alert>().Where(a => a.Account == day.RootAccount).ToList();
        Assert.Equal(["ConsoleLogin", "StopLogging", "DeleteTrail"], alerts.Select(a => a.Event.EventName)); // root activity is critical, each call once
        var digest = Assert.Single(run.Digests, d => d.Account == day.RootAccount && d.Principals.Any(p => p.Key == "root"));
        Assert.Equal(alerts.Select(a => a.AlertId), digest.AlertIds);
        Assert.All(alerts, a => Assert.Equal(digest.DigestId, a.DigestId));
        int stopAt = run.Notices.ToList().FindIndex(n => n is Alert { Event.EventName: "StopLogging" });
        Assert.True(stopAt < run.Notices.ToList().IndexOf(digest), "the alert goes out before the burst's digest");
        Assert.True(alerts[1].RaisedAt < digest.ClosedAt - TimeSpan.FromMinutes(2), "the alert is raised as the event comes in, not when the burst closes");
    }

    [Fact]
    public async Task The_same_day_gives_the_same_roll_ups_whatever_the_batch_size()
    {
        var day = StormDay.Generate();
        var small = await ReplayAsync(day, new RollupOptions(), batch: 1);
        var large = await ReplayAsync(day, new RollupOptions(), batch: 1000);
        Assert.Equal(small.RollupNotices.Select(r => r.RollupId).Order(), large.RollupNotices.Select(r => r.RollupId).Order());
        Assert.Equal(small.Posted.Select(n => n.NoticeId).Order(), large.Posted.Select(n => n.NoticeId).Order());
    }
}
