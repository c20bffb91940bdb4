using Pipeline.Aggregator.Silence;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Silence;

/// <summary>Sightings add events up per account-region, whatever order they come in and however they are split.</summary>
public sealed class SightingsTests
{
    [Fact]
    public void Events_add_up_per_account_region_with_their_first_and_last_times_in_order()
    {
        var t = Events.T0;
        var sightings = new Sightings();
        sightings.Add("222233334444", "us-east-1", t.AddMinutes(5));
        sightings.Add("111122223333", "eu-west-1", t.AddMinutes(2));
        sightings.Add("222233334444", "us-east-1", t.AddMinutes(1)); // earlier than the first seen
        sightings.Add("222233334444", "us-east-1", t.AddMinutes(9));
        sightings.Add("111122223333", "eu-west-1", t.AddMinutes(2));
        sightings.Add("111122223333", "ap-south-1", t);

        Assert.Equal(3, sightings.Count);
        Assert.Equal(
        [
            new Sighting("111122223333", "ap-south-1", t, t, 1),
            new Sighting("111122223333", "eu-west-1", t.AddMinutes(2), t.AddMinutes(2), 2),
            new Sighting("222233334444", "us-east-1", t.AddMinutes(1), t.AddMinutes(9), 3),
        ], sightings.ToList());
    }

    [Fact]
    public void Sightings_carried_from_an_earlier_call_merge_with_new_events_as_if_seen_together()
    {
        var t = Events.T0;
        var times = Enumerable.Range(0, 40).Select(i => t.AddSeconds((i * 37) % 23)).ToList();
        var whole = new Sightings();
        foreach (var time in times) whole.Add("111122223333", "us-east-1", time);

        // The first half written to the state and read back, the rest added to it.
        var first = new Sightings();
        foreach (var time in times.Take(17)) first.Add("111122223333", "us-east-1", time);
        var carried = new Sightings(first.ToList());
        foreach (var time in times.Skip(17)) carried.Add("111122223333", "us-east-1", time);
        carried.Add(new Sighting("111122223333", "us-east-1", t.AddHours(-1), t.AddHours(-1), 4));
        whole.Add(new Sighting("111122223333", "us-east-1", t.AddHours(-1), t.AddHours(-1), 4));

        Assert.Equal(whole.ToList(), carried.ToList());
        Assert.Equal(44, Assert.Single(carried.ToList()).Count);
    }

    [Fact]
    public void Of_equal_instants_the_time_seen_first_is_kept_with_its_offset()
    {
        var utc = Events.T0;
        var sameInstantElsewhere = utc.ToOffset(TimeSpan.FromHours(2));
        var sightings = new Sightings();
        sightings.Add("111122223333", "us-east-1", utc);
        sightings.Add("111122223333", "us-east-1", sameInstantElsewhere);
        var s = Assert.Single(sightings.ToList());
        Assert.Equal(TimeSpan.Zero, s.First.Offset);
        Assert.Equal(TimeSpan.Zero, s.Last.Offset);
        Assert.Equal(2, s.Count);
    }
}
