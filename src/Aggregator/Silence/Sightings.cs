namespace Pipeline.Aggregator.Silence;

/// <summary>
/// What a stretch of records showed of one account-region: its first and last event times (as the bursts count them:
/// an event's own time, or its arrival when its clock is ahead, so one event dated years ahead cannot make the whole
/// organisation look silent) and how many events. The window handler keeps these per window and writes them to
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

    public void Add(string account, string region, DateTimeOffset time) => Add(new Sighting(account, region, time, time, 1));

    public void Add(Sighting s)
    {
        var key = (s.Account, s.Region);
        _seen[key] = _seen.TryGetValue(key, out var had)
            ? had with { First = Min(had.First, s.First), Last = Max(had.Last, s.Last), Count = had.Count + s.Count }
            : s;
    }

    /// <summary>Every sighting, ordered by account, then region.</summary>
    public IReadOnlyList<Sighting> ToList() =>
        [.. _seen.Values.OrderBy(s => s.Account, StringComparer.Ordinal).ThenBy(s => s.Region, StringComparer.Ordinal)];

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a <= b ? a : b;
    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;
}
