using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Silence;

/// <summary>
/// What a stretch of records showed of one account-region: its first and last event times (as counted, see
/// <see cref="Sightings.TimeOf"/>) and how many events. The window handler keeps these per window and writes them to
/// the store where the sweeper looks for silences.
/// </summary>
public sealed record Sighting(string Account, string Region, DateTimeOffset First, DateTimeOffset Last, long Count);

/// <summary>Adds events up into one <see cref="Sighting"/> per account-region. Not thread-safe.</summary>
public sealed class Sightings
{
    private readonly Dictionary<(string Account, string Region), Sighting> _seen = [];

    public Sightings(IEnumerable<Sighting>? from = null)
    {
        foreach (var s in from ?? []) Add(s);
    }

    public int Count => _seen.Count;

    /// <summary>
    /// The time an event counts at for the silence check: its own time, but never later than when it arrived (or, in a
    /// replay, the processing clock), so one event dated years ahead cannot make the whole organisation look silent.
    /// </summary>
    public static DateTimeOffset TimeOf(DateTimeOffset eventTime, DateTimeOffset? arrival, DateTimeOffset clock)
    {
        var bound = arrival ?? clock;
        return bound == DateTimeOffset.MinValue || eventTime <= bound ? eventTime : bound;
    }

    public void Add(string account, string region, DateTimeOffset time) => Add(new Sighting(account, region, time, time, 1));

    public void Add(Sighting s)
    {
        var key = (s.Account, s.Region);
        _seen[key] = _seen.TryGetValue(key, out var had)
            ? had with { First = Min(had.First, s.First), Last = Max(had.Last, s.Last), Count = had.Count + s.Count }
            : s;
    }

    /// <summary>Adds the accepted events among <paramref name="outcomes"/> (a batch's, in input order, with each record's arrival time).</summary>
    public void AddAccepted(IReadOnlyList<EnrichmentOutcome> outcomes, Func<int, DateTimeOffset?> arrivalOf, DateTimeOffset clock)
    {
        for (int i = 0; i < outcomes.Count; i++)
            if (outcomes[i] is EnrichmentOutcome.Accepted a)
                Add(a.Event.Account, a.Event.Region, TimeOf(a.Event.Time, arrivalOf(i), clock));
    }

    /// <summary>Every sighting, ordered by account, then region.</summary>
    public IReadOnlyList<Sighting> ToList() =>
        [.. _seen.Values.OrderBy(s => s.Account, StringComparer.Ordinal).ThenBy(s => s.Region, StringComparer.Ordinal)];

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a <= b ? a : b;
    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;
}
