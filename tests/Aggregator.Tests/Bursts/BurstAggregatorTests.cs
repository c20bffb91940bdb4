using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Configuration;
using Pipeline.TestSupport;
using static Pipeline.Aggregator.Tests.TestEvents;

namespace Pipeline.Aggregator.Tests.Bursts;

public sealed class BurstAggregatorTests
{
    private static BurstAggregator Aggregator(double gapMinutes = 2, double maxMinutes = 15, double latenessMinutes = 5) =>
        new(new BurstWindowOptions { Gap = TimeSpan.FromMinutes(gapMinutes), MaxWindow = TimeSpan.FromMinutes(maxMinutes), Lateness = TimeSpan.FromMinutes(latenessMinutes) });

    /// <summary>A digest as its JSON line: what a reader gets, every field of it.</summary>
    private static string Json(Digest d)
    {
        using var stream = new MemoryStream();
        Pipeline.Aggregator.Rendering.DigestJson.WriteDigest(stream, d);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void Burst_closes_after_quiet_gap()
    {
        var agg = Aggregator(latenessMinutes: 0);
        Assert.Empty(agg.Add(Minutes(0), null));
        Assert.Empty(agg.Add(Minutes(1.5), null));
        Assert.Empty(agg.Add(Minutes(3.5, account: "444455556666"), null)); // exactly 2m after the last event: still open

        var closed = agg.Add(Minutes(3.6, account: "444455556666"), null);

        var digest = Assert.Single(closed);
        Assert.Equal("111122223333", digest.Account);
        Assert.Equal(2, digest.EventCount);
        Assert.Equal(BurstCloseReason.QuietGap, digest.ClosedBy);
        Assert.Equal(Events.T0, digest.FirstEventTime);
        Assert.Equal(Events.T0.AddMinutes(1.5), digest.LastEventTime);
    }

    [Fact]
    public void A_burst_whose_lag_shrinks_closes_at_its_earlier_max_window_deadline()
    {
        var agg = Aggregator(gapMinutes: 5, maxMinutes: 10, latenessMinutes: 0);
        // Arrived 8 minutes late: the account's clock lags by 8, so its burst is due at 13 (the gap) at the earliest.
        Assert.Empty(agg.Add(Minutes(0), null, arrival: Events.T0.AddMinutes(8)));
        Assert.Empty(agg.Add(Minutes(4), null, arrival: Events.T0.AddMinutes(8))); // lag 4: due just after 13
        // On time now: no lag, so the max window (opened at 0) makes it due at 10, earlier than it was.
        Assert.Empty(agg.Add(Minutes(8), null, arrival: Events.T0.AddMinutes(8)));

        var closed = agg.Add(Minutes(11, account: "444455556666"), null, arrival: Events.T0.AddMinutes(11));

        var digest = Assert.Single(closed);
        Assert.Equal(("111122223333", 3, BurstCloseReason.MaxWindow), (digest.Account, digest.EventCount, digest.ClosedBy));
    }

    [Fact]
    public void Bursts_that_fall_due_in_one_clock_move_close_in_the_order_they_fell_due()
    {
        var agg = Aggregator(gapMinutes: 2, maxMinutes: 60, latenessMinutes: 0);
        IReadOnlyList<Digest> Live(double minutes, string account) => agg.Add(Minutes(minutes, account), null, arrival: Events.T0.AddMinutes(minutes));
        Live(0, "111111111111");    // due at 2
        Live(0.5, "222222222222");  // due at 2.5
        Live(1.9, "111111111111");  // now due at 3.9: after the other one
        Live(1.95, "333333333333"); // due at 3.95

        var closed = Live(10, "444444444444");

        Assert.Equal(["222222222222", "111111111111", "333333333333"], closed.Select(d => d.Account));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bursts_due_at_the_same_tick_close_in_account_order_whatever_order_they_opened_in(bool reversed)
    {
        var agg = Aggregator(gapMinutes: 2, maxMinutes: 60, latenessMinutes: 0);
        string[] accounts = ["999999999999", "555555555555", "777777777777"];
        if (reversed) Array.Reverse(accounts);
        foreach (var account in accounts) agg.Add(Minutes(0, account), null, arrival: Events.T0);

        var closed = agg.Add(Minutes(10, "111111111111"), null, arrival: Events.T0.AddMinutes(10));

        Assert.Equal(["555555555555", "777777777777", "999999999999"], closed.Select(d => d.Account));
    }

    [Fact]
    public void The_deadline_queue_holds_about_one_entry_per_burst_not_one_per_event()
    {
        var agg = Aggregator(gapMinutes: 60, maxMinutes: 120, latenessMinutes: 0);
        for (int i = 0; i < 5_000; i++)
            Assert.Empty(agg.Add(Minutes(i * 0.001, account: $"{100000000000L + i % 50}"), null, arrival: Events.T0.AddMinutes(i * 0.001)));

        Assert.Equal(50, agg.OpenBursts);
        Assert.InRange(agg.QueuedDeadlines, 50, 100);
    }

    [Fact]
    public void Burst_closes_at_max_window_however_busy()
    {
        var agg = Aggregator(gapMinutes: 2, maxMinutes: 10);
        var digests = new List<Digest>();
        for (int i = 0; i <= 25; i++) digests.AddRange(agg.Add(Minutes(i), null)); // one event a minute for 25 minutes
        digests.AddRange(agg.Flush());

        Assert.Equal([10, 10, 6], digests.Select(d => d.EventCount));
        Assert.Equal([BurstCloseReason.MaxWindow, BurstCloseReason.MaxWindow, BurstCloseReason.EndOfInput], digests.Select(d => d.ClosedBy));
        Assert.Equal(Events.T0.AddMinutes(10), digests[1].FirstEventTime);
    }

    [Fact]
    public void Digests_keep_their_counts_after_the_closed_bursts_storage_goes_to_later_bursts()
    {
        // Bursts one after another in three accounts, each of a person's calls and a role's lane, with more names than a
        // table scans: every close gives the burst's count arrays back, and the next bursts fill them again.
        var agg = Aggregator(gapMinutes: 2, maxMinutes: 30, latenessMinutes: 0);
        var atClose = new List<(Digest Digest, string Json)>();
        string[] accounts = ["111122223333", "444455556666", "777788889999"];
        for (int burst = 0; burst < 8; burst++)
        {
            double start = burst * 10;
            for (int i = 0; i < 40; i++)
            {
                var account = accounts[i % accounts.Length];
                var evt = At(Events.T0.AddMinutes(start + i * 0.01), account, eventName: $"Op{burst}x{i % 30}",
                    roleName: i % 2 == 0 ? $"role-{burst}" : "deployer");
                foreach (var d in agg.Add(evt, null)) atClose.Add((d, Json(d)));
            }
        }
        foreach (var d in agg.Flush()) atClose.Add((d, Json(d)));

        Assert.Equal(8 * accounts.Length, atClose.Count);
        // Rendered again once every burst is closed: the same as when each closed.
        Assert.All(atClose, c => Assert.Equal(c.Json, Json(c.Digest)));
        // And each counts its own burst's calls only, in its parts too.
        for (int k = 0; k < atClose.Count; k++)
        {
            var digest = atClose[k].Digest;
            int burst = k / accounts.Length;
            Assert.All(digest.EventNames, n => Assert.StartsWith($"Op{burst}x", n.Key, StringComparison.Ordinal));
            Assert.All(digest.Parts, p => Assert.All(p.EventNames, n => Assert.StartsWith($"Op{burst}x", n.Key, StringComparison.Ordinal)));
            Assert.True(digest.Parts.Count >= 2, $"digest {k} has {digest.Parts.Count} parts");
        }
    }

    [Fact]
    public void A_lane_handed_to_a_later_burst_counts_only_that_bursts_events()
    {
        // Calls with no error and no risk by the same roles as below (same lane keys), an hour on: the same events, ids
        // included, for both runs.
        var start = Events.T0.AddHours(1);
        var later = Enumerable.Range(0, 30).Select(i => At(start.AddSeconds(i), "999988887777", eventName: "CreateTags", roleName: $"role-{i % 5}")).ToList();

        // The later burst alone, on a thread that has closed no burst yet: every lane is new.
        var expected = OnThreadOfItsOwn(() => Later(Aggregator(gapMinutes: 2, maxMinutes: 30, latenessMinutes: 0)));

        var actual = OnThreadOfItsOwn(() =>
        {
            // Earlier bursts, in another aggregator on this thread, whose role lanes hold failures, risky events,
            // read-only calls and times on both sides of the later burst's; once they close, their lanes and lane maps
            // wait on this thread for the next bursts, whichever aggregator opens them.
            var earlierAggregator = Aggregator(gapMinutes: 2, maxMinutes: 300, latenessMinutes: 0);
            for (int i = 0; i < 60; i++)
            {
                var json = Events.ApiCall(account: $"11112222{i % 4:D4}", time: Events.T0.AddMinutes(i * 2), eventName: i % 3 == 0 ? "DeleteTrail" : "StopLogging",
                    eventSource: "cloudtrail.amazonaws.com", errorCode: "AccessDenied", roleName: $"role-{i % 5}");
                json["detail"]!["readOnly"] = true;
                Assert.True(Pipeline.Enricher.Parsing.EventParser.TryParse(json.Utf8(), out var parsed, out var reason), reason);
                using (parsed) earlierAggregator.Add(parsed!.Event, null);
            }
            var earlier = earlierAggregator.Flush();
            Assert.All(earlier, d => Assert.All(d.Parts, p => Assert.True(p.Failures.Count > 0 && p.Risky.Count > 0 && p.ReadOnlyCount > 0, p.ActorKey)));
            Assert.Contains(earlier, d => d.LastEventTime > start.AddMinutes(1));
            return Later(Aggregator(gapMinutes: 2, maxMinutes: 30, latenessMinutes: 0));
        });

        Assert.Equal(expected, actual);

        List<string> Later(BurstAggregator agg)
        {
            foreach (var evt in later) agg.Add(evt, null);
            var digests = agg.Flush();
            var digest = Assert.Single(digests);
            Assert.All(digest.Parts, p => Assert.Equal((0, 0, 0, 0), (p.ErrorCount, p.Failures.Count, p.Risky.Count, p.ReadOnlyCount)));
            Assert.All(digest.Parts, p => Assert.True(p.LastEventTime < start.AddMinutes(1), $"{p.ActorKey} ends {p.LastEventTime}"));
            Assert.All(digest.Parts, p => Assert.True(p.FirstEventTime >= start, $"{p.ActorKey} starts {p.FirstEventTime}"));
            return [.. digests.Select(d => Json(d))];
        }

        static T OnThreadOfItsOwn<T>(Func<T> work)
        {
            T result = default!;
            Exception? error = null;
            var thread = new Thread(() =>
            {
                try { result = work(); }
                catch (Exception e) { error = e; }
            });
            thread.Start();
            thread.Join();
            if (error is not null) throw new Xunit.Sdk.XunitException("on the test's thread: " + error);
            return result;
        }
    }

    [Fact]
    public void A_burst_whose_storage_went_to_other_bursts_refuses_to_count_or_to_make_a_digest()
    {
        var window = new BurstWindowOptions();
        var burst = new BurstBuilder("111122223333", Events.T0);
        var evt = At(Events.T0, roleName: "deployer");
        burst.Add(evt, null, Pipeline.Aggregator.Risk.RiskCatalog.Default, window, evt.Time);
        Assert.Equal(1, burst.ToDigest(BurstCloseReason.QuietGap, window, Events.T0).EventCount);

        burst.Recycle();
        burst.Recycle(); // a second call does nothing: the lanes were given once

        var counting = Assert.Throws<InvalidOperationException>(() => burst.Add(evt, null, Pipeline.Aggregator.Risk.RiskCatalog.Default, window, evt.Time));
        Assert.Contains("111122223333", counting.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => burst.ToDigest(BurstCloseReason.QuietGap, window, Events.T0));
    }

    [Fact]
    public void Each_account_has_its_own_bursts()
    {
        var agg = Aggregator();
        agg.Add(Minutes(0, "111122223333"), null);
        agg.Add(Minutes(0.5, "444455556666"), null);
        agg.Add(Minutes(1, "111122223333"), null);
        var digests = agg.Flush();
        Assert.Equal(["111122223333", "444455556666"], digests.Select(d => d.Account));
        Assert.Equal([2, 1], digests.Select(d => d.EventCount));
    }

    [Fact]
    public void A_late_event_joins_its_accounts_open_burst_instead_of_becoming_its_own_digest()
    {
        var agg = Aggregator();
        agg.Add(Minutes(10), null);
        Assert.Empty(agg.Add(Minutes(3), null)); // arrives late (CloudTrail can be minutes late)
        var digest = Assert.Single(agg.Flush());
        Assert.Equal(2, digest.EventCount);
        Assert.Equal(Events.T0.AddMinutes(3), digest.FirstEventTime);
    }

    [Fact]
    public void Muted_and_duplicate_counts_land_in_the_accounts_digest()
    {
        var agg = Aggregator();
        agg.AddMuted("111122223333", "terraform-tagging", Events.T0); // before the burst opens: waits for it
        agg.Add(Minutes(0), null);
        agg.AddMuted("111122223333", "terraform-tagging", Events.T0);
        agg.AddDuplicate("111122223333");
        var digest = Assert.Single(agg.Flush());
        Assert.Equal(2, digest.Muted.Single(m => m.Key == "terraform-tagging").Value);
        Assert.Equal(1, digest.Duplicates);
    }

    [Fact]
    public void Muted_activity_keeps_the_burst_open_so_muting_does_not_split_it()
    {
        var agg = Aggregator(gapMinutes: 2);
        agg.Add(Minutes(0), null);
        for (int m = 1; m <= 5; m++) Assert.Empty(agg.AddMuted("111122223333", "tagging", Events.T0.AddMinutes(m)));
        Assert.Empty(agg.Add(Minutes(6), null)); // 6 minutes after the first event, but only 1 after the last muted one
        var digest = Assert.Single(agg.Flush());
        Assert.Equal(2, digest.EventCount);
        Assert.Equal(5, digest.Muted.Single().Value);
    }

    [Fact]
    public void Idle_clock_advance_closes_quiet_bursts_once_gap_and_lateness_have_passed()
    {
        var agg = Aggregator();
        agg.Add(Minutes(0), null);
        Assert.Empty(agg.Advance(TimeSpan.FromMinutes(2.5))); // the gap has passed; a late event may still come
        Assert.Empty(agg.Advance(TimeSpan.FromMinutes(4.4)));
        var digest = Assert.Single(agg.Advance(TimeSpan.FromMinutes(0.2))); // 7.1m > gap 2m + lateness 5m
        Assert.Equal(BurstCloseReason.QuietGap, digest.ClosedBy);
        Assert.Equal(Events.T0.AddMinutes(7), digest.ClosedAt);
    }

    [Fact]
    public void Same_burst_gets_the_same_digest_id_on_replay()
    {
        var events = new[] { Minutes(0), Minutes(1) };
        string Run()
        {
            var agg = Aggregator();
            foreach (var e in events) agg.Add(e, null);
            return Assert.Single(agg.Flush()).DigestId;
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Errors_are_counted_with_their_codes_and_failed_calls()
    {
        var agg = Aggregator();
        agg.Add(At(Events.T0, eventName: "DeleteBucket", errorCode: "AccessDenied"), null);
        agg.Add(At(Events.T0.AddSeconds(1), eventName: "DeleteBucket", errorCode: "AccessDenied"), null);
        agg.Add(At(Events.T0.AddSeconds(2), eventName: "CreateTags"), null);
        var digest = Assert.Single(agg.Flush());
        Assert.Equal(2, digest.ErrorCount);
        Assert.Equal(2, digest.ErrorCodes.Single().Value);
        var failure = Assert.Single(digest.Failures);
        Assert.Equal(("DeleteBucket", "AccessDenied", 2), (failure.EventName, failure.ErrorCode, failure.Count));
    }

    [Fact]
    public void Risky_events_are_capped_but_all_counted_most_severe_first()
    {
        var agg = new BurstAggregator(new BurstWindowOptions { MaxRiskyPerDigest = 2 });
        agg.Add(At(Events.T0, eventName: "CreateUser", eventSource: "iam.amazonaws.com"), null);          // medium
        agg.Add(At(Events.T0.AddSeconds(1), eventName: "CreateAccessKey", eventSource: "iam.amazonaws.com"), null); // high
        agg.Add(At(Events.T0.AddSeconds(2), eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com"), null); // critical
        var digest = Assert.Single(agg.Flush());
        Assert.Equal(3, digest.RiskyCount);
        Assert.Equal(["StopLogging", "CreateAccessKey"], digest.Risky.Select(r => r.EventName));
    }

    [Theory]
    [InlineData(0, 15, "Gap must be positive")]
    [InlineData(5, 2, "Gap (5m) must not be longer than MaxWindow (2m)")]
    public void Invalid_windows_fail_at_start_with_a_message_in_the_options_own_names(double gap, double max, string expected)
    {
        var e = Assert.Throws<InvalidOptionException>(() => Aggregator(gap, max));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_says_the_window_problem_in_its_own_names()
    {
        var e = Assert.Throws<InvalidOptionException>(() => Aggregator(5, 2));
        var names = new Dictionary<string, string> { ["Gap"] = "--gap", ["MaxWindow"] = "--max-window" };
        Assert.StartsWith("--gap (5m) must not be longer than --max-window (2m)", e.Describe(names), StringComparison.Ordinal);
        Assert.Equal(["Gap", "MaxWindow"], e.Properties);
    }
}
