using System.Runtime.InteropServices;

namespace Pipeline.Aggregator.Silence;

/// <summary>
/// What a stretch of records showed of one account-region: its first and last event times (as the bursts count them:
/// an event's own time, or its arrival when its clock is ahead, so one event dated years ahead cannot make the whole
/// organisation look silent) and how many events. The window handler keeps these per window and writes them to
/// the store where the sweeper looks for silences.
/// </summary>
public sealed record Sighting(string Account, string Region, DateTimeOffset First, DateTimeOffset Last, long Count);

/// <summary>Adds events up into one <see cref="Sighting"/> per account-region. Not thread-safe.</summary>
/// <remarks>
/// Added up in place, one entry per account-region: a record per event (and a copy per update) was 144 bytes of every
/// event the Lambda read; the records are made when the sightings are read (<see cref="ToList"/>).
/// </remarks>
public sealed class Sightings
{
    private readonly Dictionary<(string Account, string Region), Tally> _seen = [];

    private struct Tally
    {
        public DateTimeOffset First;
        public DateTimeOffset Last;
        public long Count;
    }

    public Sightings(IEnumerable<Sighting>? from = null)
    {
        foreach (var s in from ?? []) Add(s);
    }

    public int Count => _seen.Count;

    public void Add(string account, string region, DateTimeOffset time) => Add(account, region, time, time, 1);

    public void Add(Sighting s) => Add(s.Account, s.Region, s.First, s.Last, s.Count);

    private void Add(string account, string region, DateTimeOffset first, DateTimeOffset last, long count)
    {
        ref var tally = ref CollectionsMarshal.GetValueRefOrAddDefault(_seen, (account, region), out bool had);
        if (!had)
        {
            tally = new Tally { First = first, Last = last, Count = count };
            return;
        }
        // Of equal instants the first kept stays (as a record's Min and Max kept it): the offsets may differ.
        if (first < tally.First) tally.First = first;
        if (last > tally.Last) tally.Last = last;
        tally.Count += count;
    }

    /// <summary>Every sighting, ordered by account, then region.</summary>
    public IReadOnlyList<Sighting> ToList() =>
        [.. _seen.Select(kv => new Sighting(kv.Key.Account, kv.Key.Region, kv.Value.First, kv.Value.Last, kv.Value.Count))
            .OrderBy(s => s.Account, StringComparer.Ordinal).ThenBy(s => s.Region, StringComparer.Ordinal)];
}
