namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// The orders a digest shows its risky events and failures in, for a burst's parts and for parts combined. The sorts
/// are stable: two entries equal on every key keep the order they were counted in, as they always have, so the same
/// input renders the same digest byte for byte.
/// </summary>
internal static class DigestOrder
{
    /// <summary>Lists this short are sorted by insertion (stable, no allocation); a burst caps its own at 25 and 10.</summary>
    private const int InsertionSortUpTo = 64;

    /// <summary>Most severe first, then earliest, then by event name; at most <paramref name="max"/>. Sorts <paramref name="risky"/> in place.</summary>
    public static RiskyEvent[] Risky(RiskyEvent[] risky, int max) => Sorted(risky, RiskyOrder.Instance, max);

    /// <summary>Most frequent first, then by event name and error code; at most <paramref name="max"/>. Sorts <paramref name="failures"/> in place.</summary>
    public static FailedCall[] Failures(FailedCall[] failures, int max) => Sorted(failures, FailureOrder.Instance, max);

    /// <summary><paramref name="items"/> sorted stably (in place), cut to <paramref name="max"/>.</summary>
    public static T[] Sorted<T>(T[] items, IComparer<T> order, int max)
    {
        if (items.Length <= InsertionSortUpTo) InsertionSort(items, order);
        else items = StableSort(items, order);
        return items.Length <= max ? items : items[..max];
    }

    private static void InsertionSort<T>(T[] items, IComparer<T> order)
    {
        for (int i = 1; i < items.Length; i++)
        {
            var item = items[i];
            int j = i - 1;
            // Strictly greater only: an equal entry stays behind the one counted before it.
            while (j >= 0 && order.Compare(items[j], item) > 0)
            {
                items[j + 1] = items[j];
                j--;
            }
            items[j + 1] = item;
        }
    }

    /// <summary>Array.Sort is not stable: the positions break ties, so equal entries keep their order.</summary>
    private static T[] StableSort<T>(T[] items, IComparer<T> order)
    {
        var positions = new int[items.Length];
        for (int i = 0; i < positions.Length; i++) positions[i] = i;
        Array.Sort(positions, Comparer<int>.Create((a, b) => order.Compare(items[a], items[b]) is var c and not 0 ? c : a.CompareTo(b)));
        var sorted = new T[items.Length];
        for (int i = 0; i < sorted.Length; i++) sorted[i] = items[positions[i]];
        return sorted;
    }

    private sealed class RiskyOrder : IComparer<RiskyEvent>
    {
        public static readonly RiskyOrder Instance = new();

        public int Compare(RiskyEvent? x, RiskyEvent? y)
        {
            if (x!.Severity != y!.Severity) return ((int)y.Severity).CompareTo((int)x.Severity);
            int time = x.EventTime.CompareTo(y.EventTime);
            return time != 0 ? time : string.CompareOrdinal(x.EventName, y.EventName);
        }
    }

    private sealed class FailureOrder : IComparer<FailedCall>
    {
        public static readonly FailureOrder Instance = new();

        public int Compare(FailedCall? x, FailedCall? y)
        {
            if (x!.Count != y!.Count) return y.Count.CompareTo(x.Count);
            int name = string.CompareOrdinal(x.EventName, y.EventName);
            return name != 0 ? name : string.CompareOrdinal(x.ErrorCode, y.ErrorCode);
        }
    }
}
