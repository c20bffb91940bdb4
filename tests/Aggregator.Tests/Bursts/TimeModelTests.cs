using System.Text.Json.Nodes;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport;
using static Pipeline.Aggregator.Tests.TestEvents;

namespace Pipeline.Aggregator.Tests.Bursts;

/// <summary>
/// The time model (docs/time-model.md): an account's bursts are cut by its own events' times and by the processing
/// clock less the lateness, never by another account's times; late and skewed events are windowed by their arrival
/// and flagged; a replay without arrival times gives what the live pipeline gives for the same arrival order.
/// </summary>
public sealed class TimeModelTests
{
    private static readonly BurstWindowOptions Window = new() { Gap = TimeSpan.FromMinutes(2), MaxWindow = TimeSpan.FromMinutes(15), Lateness = TimeSpan.FromMinutes(5) };

    /// <summary>Runs events through one aggregator, with arrival times (live) or without (a replay), in the order given.</summary>
    private static List<Digest> Run(IEnumerable<(OrgEvent Event, DateTimeOffset? Arrival)> records, BurstWindowOptions? window = null)
    {
        var agg = new BurstAggregator(window ?? Window);
        var digests = new List<Digest>();
        foreach (var (evt, arrival) in records) digests.AddRange(agg.Add(evt, null, arrival));
        digests.AddRange(agg.Flush());
        return digests;
    }

    private static OrgEvent Parse(JsonObject envelope)
    {
        Assert.True(EventParser.TryParse(envelope.Utf8(), out var parsed, out var reason), reason);
        using (parsed) return parsed!.Event;
    }

    /// <summary>What makes two runs' digests the same: each digest's account, first event and size.</summary>
    private static List<string> Keys(IEnumerable<Digest> digests) =>
        [.. digests.Select(d => $"{d.Account} {d.FirstEventTime:O} {d.EventCount} {d.DigestId}").Order(StringComparer.Ordinal)];

    private static IReadOnlyList<OrgStreamEvent> Org() => OrgStream.Generate(accounts: 9, length: TimeSpan.FromHours(2), gap: Window.Gap, seed: 12);

    [Fact]
    public void A_quiet_accounts_burst_closes_on_the_processing_clock_after_gap_and_lateness_not_on_another_accounts_times()
    {
        var agg = new BurstAggregator(Window);
        agg.Add(Minutes(0), null, arrival: Events.T0);
        // Another account's event dated five years ahead arrives a minute later: its time moves nobody's clock.
        Assert.Empty(agg.Add(Minutes(60 * 24 * 365 * 5, account: "444455556666"), null, arrival: Events.T0.AddMinutes(1)));
        Assert.Empty(agg.Add(Minutes(2.5, account: "444455556666"), null, arrival: Events.T0.AddMinutes(2.5)));
        Assert.DoesNotContain(agg.Add(Minutes(6.9, account: "444455556666"), null, arrival: Events.T0.AddMinutes(6.9)), d => d.Account == "111122223333");
        var closed = Assert.Single(agg.Add(Minutes(7.1, account: "444455556666"), null, arrival: Events.T0.AddMinutes(7.1)), d => d.Account == "111122223333");
        Assert.Equal(("111122223333", BurstCloseReason.QuietGap), (closed.Account, closed.ClosedBy));
        Assert.Equal(Events.T0.AddMinutes(7), closed.ClosedAt); // last event + gap + lateness
    }

    [Fact]
    public void An_accounts_own_next_event_past_the_gap_closes_its_burst_at_once()
    {
        var agg = new BurstAggregator(Window);
        agg.Add(Minutes(0), null, arrival: Events.T0);
        var closed = Assert.Single(agg.Add(Minutes(2.5), null, arrival: Events.T0.AddMinutes(2.5)));
        Assert.Equal(1, closed.EventCount);
        Assert.Equal(Events.T0.AddMinutes(2.5), closed.ClosedAt); // when the next event arrived, not gap + lateness later
    }

    [Theory]
    [InlineData(true, 4.0)]   // live, lagging less than the lateness
    [InlineData(false, 4.0)]  // the same arrival order replayed from a file
    [InlineData(true, 6.5)]   // live, lagging more than the lateness but less than gap + lateness − spacing
    [InlineData(false, 6.5)]
    public void Lagged_accounts_get_the_same_digests_as_on_time_ones(bool live, double lagMinutes)
    {
        var org = Org();
        var lagged = org.Select(e => e.Account).Distinct().Where((_, i) => i % 3 == 0).ToHashSet(); // a third of the accounts
        var lag = TimeSpan.FromMinutes(lagMinutes);
        var onTime = Run(org.Select(e => (Parse(e.Envelope), (DateTimeOffset?)e.Time)));
        var arrivals = org.Select(e => (Event: Parse(e.Envelope), Arrival: lagged.Contains(e.Account) ? e.Time + lag : e.Time))
            .OrderBy(r => r.Arrival).ToList();

        var digests = Run(arrivals.Select(r => (r.Event, live ? r.Arrival : (DateTimeOffset?)null)));

        var (a, b) = (Keys(onTime), Keys(digests));
        Assert.True(a.SequenceEqual(b), "only on time: " + string.Join("; ", a.Except(b).Take(4)) + " / only lagged: " + string.Join("; ", b.Except(a).Take(4)));
        Assert.True(onTime.Count > 50, $"the organisation has many bursts ({onTime.Count})");
        var flagged = digests.Where(d => d.LateCount > 0).Select(d => d.Account).ToHashSet();
        if (lag <= Window.Lateness) Assert.Empty(flagged);
        else Assert.Equal(lagged.Order(), flagged.Order()); // told, not hidden: "arrived late, up to 6m30s after"
    }

    [Fact]
    public void Old_events_put_into_the_stream_at_once_are_cut_by_their_own_times_not_by_the_arrival_clock()
    {
        var org = Org();
        var onTime = Run(org.Select(e => (Parse(e.Envelope), (DateTimeOffset?)e.Time)));
        var putAt = org[^1].Time.AddDays(3); // two hours of events replayed into a stream three days later, 2 ms apart

        var digests = Run(org.Select((e, i) => (Parse(e.Envelope), (DateTimeOffset?)putAt.AddMilliseconds(2 * i))));

        Assert.Equal(Keys(onTime), Keys(digests));
        Assert.All(digests, d => Assert.Equal(d.EventCount, d.LateCount)); // and each says so
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void One_skewed_event_changes_no_other_accounts_digests(bool live)
    {
        var org = Org();
        var skewedAccount = org[^40].Account;
        var wrong = OrgStream.WithTime(Events.ApiCall(account: skewedAccount, eventName: "PutBucketPolicy", eventId: "from-2031"), new DateTimeOffset(2031, 3, 4, 5, 6, 7, TimeSpan.Zero));
        int at = org.Count / 2;
        var arrivedAt = org[at].Time;
        var records = org.Select(e => (Parse(e.Envelope), live ? e.Time : (DateTimeOffset?)null)).ToList();
        var baseline = Run(records);
        records.Insert(at, (Parse(wrong), live ? arrivedAt : null));

        var digests = Run(records);

        Assert.Equal(Keys(baseline.Where(d => d.Account != skewedAccount)), Keys(digests.Where(d => d.Account != skewedAccount)));
        var flagged = Assert.Single(digests, d => d.SkewedCount > 0);
        Assert.Equal(skewedAccount, flagged.Account);
        Assert.Equal(new DateTimeOffset(2031, 3, 4, 5, 6, 7, TimeSpan.Zero), flagged.SkewedLatestTime);
        Assert.True(flagged.LastEventTime < new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), "the digest's time range keeps to real times");
        Assert.Equal(baseline.Sum(d => d.EventCount) + 1, digests.Sum(d => d.EventCount)); // counted, never dropped
    }

    [Fact]
    public void A_replay_follows_a_real_jump_of_its_clock_when_a_second_account_confirms_it()
    {
        var records = new[] { 0.0, 0.5, 1.0 }.SelectMany(m => new[] { Minutes(m), Minutes(m, "444455556666") })
            .Concat(new[] { 600.0, 600.5, 601.0 }.SelectMany(m => new[] { Minutes(m), Minutes(m, "444455556666") })) // ten hours later
            .Select(e => (e, (DateTimeOffset?)null));

        var digests = Run(records);

        Assert.Equal(4, digests.Count);
        Assert.All(digests, d => Assert.Equal((3, 0), (d.EventCount, d.SkewedCount)));
    }

    [Fact]
    public void A_single_account_replay_crosses_a_quiet_night_without_calling_its_clock_wrong()
    {
        var records = new[] { 0.0, 1.0, 2.0, 600.0, 601.0, 602.0 }.Select(m => (Minutes(m), (DateTimeOffset?)null));

        var digests = Run(records);

        Assert.Equal([3, 3], digests.Select(d => d.EventCount));
        Assert.All(digests, d => Assert.Equal(0, d.SkewedCount));
    }

    [Fact]
    public void A_far_past_event_joins_its_accounts_open_burst_flagged_late()
    {
        var agg = new BurstAggregator(Window);
        agg.Add(Minutes(60), null, arrival: Events.T0.AddMinutes(60));
        Assert.Empty(agg.Add(Minutes(0), null, arrival: Events.T0.AddMinutes(60.5))); // happened an hour ago
        var digest = Assert.Single(agg.Flush());
        Assert.Equal((2, 1), (digest.EventCount, digest.LateCount));
        Assert.Equal(TimeSpan.FromMinutes(60.5), digest.LateMaxDelay);
        Assert.Equal(Events.T0, digest.FirstEventTime); // the range shows when it happened
    }

    [Fact]
    public void Records_a_replay_holds_for_confirmation_count_as_open()
    {
        var agg = new BurstAggregator(Window);
        agg.Add(Minutes(0), null);
        agg.Add(Minutes(600), null); // ahead by far more than the lateness: held until another account confirms
        Assert.Equal(2, agg.OpenEventCount);
        Assert.Equal(2, agg.Flush().Sum(d => d.EventCount));
    }
}
