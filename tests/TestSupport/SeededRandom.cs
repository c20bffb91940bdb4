namespace Pipeline.TestSupport;

/// <summary>
/// The jitter source tests hand to code that takes randomness as a dependency: seeded, so a run repeats, and
/// locked, because a <see cref="Random"/> called from several tasks at once (Slack's channels) breaks.
/// </summary>
public sealed class SeededRandom(int seed)
{
    private readonly Random _random = new(seed);

    public SeededRandom() : this(20261125) { }

    public double NextDouble()
    {
        lock (_random) return _random.NextDouble();
    }
}
