using System.Collections;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Counts by name (event names, principals, regions …), in the order the names first came. Built for the tables a
/// burst keeps by the dozen: most hold one to a few names (a lane of one role in one region), so a table is a short
/// array scanned in order, which costs less than hashing the name; past <see cref="IndexFrom"/> names a dictionary
/// of positions keeps it O(1). The parser shares the strings of repeated values, so the scan's comparisons are
/// mostly reference checks.
/// </summary>
/// <remarks>
/// Names are never removed, so the first-come order is stable: it is the order <see cref="BurstStateCodec"/> writes,
/// the same order as the dictionary this replaced enumerated in.
/// </remarks>
public sealed class CountTable : IReadOnlyCollection<KeyValuePair<string, int>>
{
    /// <summary>Names scanned before a table indexes them: past this, hashing a name is cheaper than comparing with each.</summary>
    internal const int IndexFrom = 8;

    private Entry[] _entries = [];
    private int _count;
    private Dictionary<string, int>? _index;

    private struct Entry(string key, int count)
    {
        public readonly string Key = key;
        public int Count = count;
    }

    public int Count => _count;

    /// <summary>The count of <paramref name="key"/>; setting it adds the name when it is new.</summary>
    /// <exception cref="KeyNotFoundException">on get, for a name not in the table.</exception>
    public int this[string key]
    {
        get => Find(key) is var i and >= 0 ? _entries[i].Count : throw new KeyNotFoundException($"'{key}' is not counted");
        set
        {
            int i = Find(key);
            if (i >= 0) _entries[i].Count = value;
            else Append(key, value);
        }
    }

    /// <summary>Adds <paramref name="n"/> to the count of <paramref name="key"/>, which starts at zero.</summary>
    public void Add(string key, int n = 1)
    {
        ArgumentNullException.ThrowIfNull(key);
        int i = Find(key);
        if (i >= 0) _entries[i].Count += n;
        else Append(key, n);
    }

    public bool TryGetValue(string key, out int count)
    {
        int i = Find(key);
        count = i >= 0 ? _entries[i].Count : 0;
        return i >= 0;
    }

    /// <summary>Highest count first; ties by name (ordinal), so the same counts always rank the same way.</summary>
    public KeyValuePair<string, int>[] Ranked()
    {
        if (_count == 0) return [];
        var ranked = new KeyValuePair<string, int>[_count];
        for (int i = 0; i < ranked.Length; i++) ranked[i] = new(_entries[i].Key, _entries[i].Count);
        // Names are distinct, so the order is total and an unstable sort gives the one answer.
        ranked.AsSpan().Sort(RankOrder);
        return ranked;
    }

    /// <summary>Empties the table and keeps its room, for a table used as scratch space.</summary>
    internal void Clear()
    {
        Array.Clear(_entries, 0, _count); // let go of the names
        _count = 0;
        _index?.Clear();
    }

    private int Find(string key)
    {
        if (_index is not null) return _index.TryGetValue(key, out int at) ? at : -1;
        var entries = _entries;
        for (int i = 0; i < _count; i++)
            if (string.Equals(entries[i].Key, key)) return i; // a reference check first, then the characters
        return -1;
    }

    private void Append(string key, int count)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_count == _entries.Length) Array.Resize(ref _entries, _count == 0 ? 1 : _count * 2);
        _entries[_count] = new Entry(key, count);
        if (_index is not null) _index[key] = _count;
        else if (_count + 1 == IndexFrom)
        {
            _index = new Dictionary<string, int>(IndexFrom * 2, StringComparer.Ordinal);
            for (int i = 0; i <= _count; i++) _index[_entries[i].Key] = i;
        }
        _count++;
    }

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<string, int>> IEnumerable<KeyValuePair<string, int>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The names in first-come order, without allocating for a <c>foreach</c>.</summary>
    public struct Enumerator(CountTable table) : IEnumerator<KeyValuePair<string, int>>
    {
        private int _next;

        public KeyValuePair<string, int> Current { get; private set; }

        readonly object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_next >= table._count) return false;
            var entry = table._entries[_next++];
            Current = new(entry.Key, entry.Count);
            return true;
        }

        public void Reset() => _next = 0;

        public readonly void Dispose()
        {
        }
    }

    /// <summary>Highest count first, then the name in ordinal order: how every count list of a digest is ranked.</summary>
    /// <remarks>A delegate made once: sorting with an <see cref="IComparer{T}"/> makes one per sort.</remarks>
    internal static readonly Comparison<KeyValuePair<string, int>> RankOrder =
        static (x, y) => x.Value != y.Value ? y.Value.CompareTo(x.Value) : string.CompareOrdinal(x.Key, y.Key);
}
