using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Configuration;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Silence;

/// <summary>
/// The silence check on the events' own times (no wall clock anywhere): an account-region that used to send and
/// stopped is reported once after SilenceAfter behind the organisation's watermark, and once more when it is back.
/// </summary>
public sealed class SilenceTrackerTests
{
    private const string Prod = "222222222222";
    private const string Build = "333333333333";
    private static readonly TimeSpan After = TimeSpan.FromHours(6);
    private static DateTimeOffset H(double hours) => Events.T0.AddHours(hours);

    private static SilenceTracker Tracker() => new(new SilenceOptions { After = After });

    /// <summary>Build sends one event every 10 minutes from <paramref name="from"/> to <paramref name="to"/> hours; the checks after each are collected.</summary>
    private static List<SilenceNotice> Busy(SilenceTracker t, double from, double to, string account = Build, string region = "eu-west-1")
    {
        var notices = new List<SilenceNotice>();
        for (double h = from; h <= to + 1e-9; h += 1.0 / 6)
        {
            if (t.Observe(account, null, region, H(h)) is { } back) notices.Add(back);
            notices.AddRange(t.Check());
        }
        return notices;
    }

    /// <summary>Prod sends hourly from <paramref name="from"/> to <paramref name="to"/> hours: an established sender once that spans six hours.</summary>
    private static void Hourly(SilenceTracker t, double from, double to, string region = "us-east-1")
    {
        for (double h = from; h <= to; h++) t.Observe(Prod, null, region, H(h));
    }

    [Fact]
    public void A_quiet_account_region_is_reported_once_just_after_the_threshold_and_not_before()
    {
        var t = Tracker();
        Hourly(t, 0, 6);
        Busy(t, 0, 6);

        // The organisation goes on: at exactly 6h after prod's last event it is not silent yet.
        Assert.Empty(Busy(t, 6, 12));
        var notices = Busy(t, 12 + 1.0 / 6, 18);

        var silent = Assert.Single(notices);
        Assert.Equal((SilenceState.Silent, Prod, "us-east-1", H(6), 7L), (silent.State, silent.Account, silent.Region, silent.LastEventTime, silent.EventCount));
        Assert.True(silent.SilentFor > After && silent.SilentFor <= After + TimeSpan.FromMinutes(10), $"noticed after {silent.SilentFor}");
        Assert.Equal(1, t.SilentNow);
    }

    [Fact]
    public void An_account_region_that_never_sent_is_never_reported()
    {
        var t = Tracker();
        var notices = Busy(t, 0, 48);
        Assert.Empty(notices); // prod never sent: nothing to miss
        Assert.Equal(1, t.Tracked);
    }

    [Fact]
    public void One_burst_in_a_region_is_not_an_established_sender_and_is_never_reported()
    {
        var t = Tracker();
        // A region used once (a console session, a StackSet's one change): three calls in a minute.
        foreach (var s in new[] { 0, 20, 40 }) t.Observe(Prod, null, "ap-south-1", H(1).AddSeconds(s));
        Assert.Empty(Busy(t, 0, 48));
    }

    [Fact]
    public void Nothing_is_reported_when_the_whole_organisation_goes_quiet_together()
    {
        var t = Tracker();
        Hourly(t, 0, 7);
        Busy(t, 0, 7);
        // A weekend: nobody sends anything. The watermark stands at 7h; checks find nothing however often they run.
        for (int i = 0; i < 100; i++) Assert.Empty(t.Check());
        // Monday: both come back together; neither was silent behind the other.
        Assert.Null(t.Observe(Prod, null, "us-east-1", H(60)));
        Assert.Null(t.Observe(Build, null, "eu-west-1", H(60)));
        Assert.Empty(t.Check());
        Assert.Equal(H(60), t.Watermark);
    }

    [Fact]
    public void An_account_region_that_comes_back_is_reported_back_once_and_can_fall_silent_again()
    {
        var t = Tracker();
        Hourly(t, 0, 6);
        var first = Busy(t, 0, 13);
        Assert.Equal(SilenceState.Silent, Assert.Single(first).State);

        var back = t.Observe(Prod, null, "us-east-1", H(13.5));
        Assert.NotNull(back);
        Assert.Equal((SilenceState.Back, H(6), H(13.5)), (back.State, back.LastEventTime, back.ObservedAt));
        Assert.Null(t.Observe(Prod, null, "us-east-1", H(13.6))); // back once, not per event
        Assert.NotEqual(first[0].NoticeId, back.NoticeId);

        // Quiet again: a second silence, with its own id (it began at another event).
        var again = Busy(t, 13 + 1.0 / 6, 20);
        var second = Assert.Single(again);
        Assert.Equal((SilenceState.Silent, H(13.6)), (second.State, second.LastEventTime));
        Assert.NotEqual(first[0].NoticeId, second.NoticeId);
    }

    [Fact]
    public void Each_region_of_an_account_is_watched_on_its_own()
    {
        var t = new SilenceTracker(new SilenceOptions { After = TimeSpan.FromHours(1) });
        // Prod keeps sending in us-east-1; its eu-west-1 goes quiet after one hour (a regional rule disabled).
        var notices = new List<SilenceNotice>();
        for (double h = 0; h <= 10; h += 0.25)
        {
            t.Observe(Prod, null, "us-east-1", H(h));
            if (h <= 1) t.Observe(Prod, null, "eu-west-1", H(h));
            notices.AddRange(t.Check());
        }
        var silent = Assert.Single(notices);
        Assert.Equal((Prod, "eu-west-1", H(1)), (silent.Account, silent.Region, silent.LastEventTime));
    }

    [Fact]
    public void The_same_silence_gets_the_same_id_whoever_notices_it_and_whenever()
    {
        var early = Tracker();
        Hourly(early, 0, 6);
        var a = Assert.Single(Busy(early, 0, 13));
        var late = Tracker();
        Hourly(late, 0, 6);
        late.Observe(Build, null, "eu-west-1", H(30));
        var b = Assert.Single(late.Check());
        Assert.Equal(a.NoticeId, b.NoticeId);
        Assert.NotEqual(a.ObservedAt, b.ObservedAt);
        Assert.Equal(SilenceNotice.IdFor(SilenceState.Silent, Prod, "us-east-1", H(6)), a.NoticeId);
    }

    [Fact]
    public void An_event_older_than_the_silence_does_not_end_it()
    {
        var t = Tracker();
        Hourly(t, 0, 6);
        Assert.Single(Busy(t, 0, 13));
        Assert.Null(t.Observe(Prod, null, "us-east-1", H(1))); // a late event from before: proves nothing about now
        Assert.Equal(1, t.SilentNow);
    }

    [Fact]
    public void The_option_is_off_at_zero_and_refuses_nonsense_in_its_own_name()
    {
        Assert.False(SilenceOptions.Off.Enabled);
        SilenceOptions.Off.Validate();
        new SilenceOptions().Validate();
        Assert.Equal(TimeSpan.FromHours(6), new SilenceOptions().After);
        var e = Assert.Throws<InvalidOptionException>(() => new SilenceOptions { After = TimeSpan.FromSeconds(10) }.Validate());
        Assert.StartsWith("SilenceAfter must be 0 (off)", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOptionException>(() => new SilenceOptions { After = TimeSpan.FromDays(31) }.Validate());
    }

    [Fact]
    public void An_account_region_is_one_entry_whatever_string_instances_name_it_and_in_whatever_order_they_come()
    {
        var t = Tracker();
        string Copy(string s) => new(s.AsSpan());
        t.Observe(Build, null, "eu-west-1", H(0));
        t.Observe(Copy(Build), null, Copy("eu-west-1"), H(1));  // equal text, other instances
        t.Observe(Build, null, "eu-west-1", H(1.5));
        t.Observe(Build, null, "us-east-1", H(2));              // the same account instance, another region
        t.Observe(Prod, null, "eu-west-1", H(3));               // another account, the first region
        t.Observe(Build, null, "eu-west-1", H(6));              // back to the first entry
        t.Observe(Build, null, "eu-west-1", H(7));              // twice in a row

        Assert.Equal(3, t.Tracked);
        // Build in eu-west-1 spans 0–7 h: established, so it falls silent 6 h after its last event, and only it.
        Assert.Empty(t.Check());
        t.Observe(Prod, null, "eu-west-1", H(13.5));
        var silent = Assert.Single(t.Check());
        Assert.Equal((Build, "eu-west-1", 5L), (silent.Account, silent.Region, silent.EventCount));
    }
}

/// <summary>The check as the core runs it for `digest` and `demo`: over records, beside the counts, which it never changes.</summary>
public sealed class CoreSilenceTests
{
    private static long _index;

    private static RawRecord Record(double hours, string account, string region = "us-east-1", double? arrivalHours = null)
    {
        long index = Interlocked.Increment(ref _index);
        return new(Events.ApiCall(account: account, time: Events.T0.AddSeconds(Math.Round(hours * 3600)), region: region, eventId: $"silence-{index}").Utf8(),
            new RecordOrigin("test", index))
        { ArrivalTime = arrivalHours is { } a ? Events.T0.AddSeconds(Math.Round(a * 3600)) : null };
    }

    private static DigestCore Core(TimeSpan after) =>
        new(new DigestCoreOptions { Silence = new SilenceOptions { After = after } }, FileAccountDirectory.Empty);

    [Fact]
    public async Task The_core_reports_a_silent_account_region_and_its_return_and_the_counts_do_not_move()
    {
        var core = Core(TimeSpan.FromHours(1));
        var notices = new List<SilenceNotice>();
        // Build sends every 5 minutes for 4 hours; prod sends for the first 30 minutes, then from 3h again.
        for (double h = 0; h <= 4; h += 1.0 / 12)
        {
            var records = new List<RawRecord> { Record(h, "333333333333") };
            if (h <= 1.5 || h >= 3) records.Add(Record(h, "222222222222"));
            notices.AddRange((await core.ProcessAsync(records, default)).Silences);
        }
        core.Flush();

        Assert.Equal([SilenceState.Silent, SilenceState.Back], notices.Select(n => n.State));
        Assert.All(notices, n => Assert.Equal(("222222222222", "us-east-1"), (n.Account, n.Region)));
        Assert.Equal(notices[0].LastEventTime, notices[1].LastEventTime);
        var s = core.Summary();
        Assert.True(s.Balanced);
        Assert.Equal(s.Received, s.Digested); // silence notices are not events
    }

    [Fact]
    public async Task One_event_dated_years_ahead_does_not_make_the_organisation_look_silent()
    {
        var core = Core(TimeSpan.FromMinutes(10));
        var notices = new List<SilenceNotice>();
        for (double h = 0; h <= 0.5; h += 1.0 / 12)
        {
            var records = new List<RawRecord> { Record(h, "333333333333", arrivalHours: h), Record(h, "222222222222", arrivalHours: h) };
            if (h == 0.25) records.Add(Record(24 * 400, "444444444444", arrivalHours: h)); // a wrong clock, arriving now
            notices.AddRange((await core.ProcessAsync(records, default)).Silences);
        }
        Assert.Empty(notices);
        Assert.True(core.Silence!.Watermark < Events.T0.AddHours(1), $"watermark {core.Silence.Watermark}");
    }

    [Fact]
    public async Task With_the_check_off_the_core_reports_nothing()
    {
        var core = Core(TimeSpan.Zero);
        var batch = await core.ProcessAsync([Record(0, "222222222222"), Record(48, "333333333333")], default);
        Assert.Empty(batch.Silences);
        Assert.Null(core.Silence);
    }

}
