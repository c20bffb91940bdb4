using Pipeline.Aggregator.Rollups;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Lanes (<see cref="ChangeCounts"/>) and lane maps of closed bursts, for the bursts that open next: a replay opens and
/// closes bursts by the thousand, each with a lane per automated actor, and making them anew was a twentieth of its
/// garbage (docs/performance.md, "Speed, ninth session"). Per thread (an aggregator runs on one at a time; tune runs
/// several at once, each its own), and bounded, so a burst of a thousand actors does not keep a thousand lanes.
/// </summary>
internal static class SpareLanes
{
    private const int MaxLanes = 256;
    private const int MaxMaps = 64;

    [ThreadStatic] private static Stack<ChangeCounts>? t_lanes;
    [ThreadStatic] private static Stack<Dictionary<(ActorKind Kind, string Name), ChangeCounts>>? t_maps;

    /// <summary>A lane with every counter as new.</summary>
    public static ChangeCounts TakeLane() => t_lanes is { Count: > 0 } lanes ? lanes.Pop() : new ChangeCounts();

    /// <summary>An empty lane map.</summary>
    public static Dictionary<(ActorKind Kind, string Name), ChangeCounts> TakeMap() => t_maps is { Count: > 0 } maps ? maps.Pop() : [];

    /// <summary>Takes a lane its burst has recycled; it is reset here.</summary>
    public static void Give(ChangeCounts lane)
    {
        var lanes = t_lanes ??= new Stack<ChangeCounts>();
        if (lanes.Count >= MaxLanes) return;
        lane.Reset();
        lanes.Push(lane);
    }

    /// <summary>Takes an emptied lane map.</summary>
    public static void Give(Dictionary<(ActorKind Kind, string Name), ChangeCounts> map)
    {
        var maps = t_maps ??= new Stack<Dictionary<(ActorKind Kind, string Name), ChangeCounts>>();
        if (maps.Count < MaxMaps && map.Count == 0) maps.Push(map);
    }
}
