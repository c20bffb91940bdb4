using System.Buffers;
using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pipeline.Aggregator.Bursts;

/// <summary>The count lists a <see cref="ChangeCounts"/> keeps. The order is <see cref="BurstStateCodec"/>'s format.</summary>
internal enum Counter : byte
{
    EventNames,
    Principals,
    Regions,
    Sources,
    DetailTypes,
    ErrorCodes,
    SourceIps,
}

/// <summary>
/// All the counts by name of one <see cref="ChangeCounts"/> (event names, principals, regions … see <see cref="Counter"/>),
/// in one array of (counter, name, count) entries in the order the names first came.
/// </summary>
/// <remarks>
/// Built for the counters a burst keeps by the dozen: a burst opens a lane for every automated actor it sees, and most
/// lanes count a few events of one role, about ten names in all. Seven tables of their own cost seven objects and seven
/// arrays per lane, most of a burst's memory, and a burst lives for minutes, long enough for the GC to move it to
/// its oldest generation; one array here holds the same. A short table is scanned, which costs less than hashing the
/// name; past <see cref="IndexFrom"/> entries an index of positions keeps it O(1): open addressing in an array of
/// ints, a quarter of what a dictionary of (counter, name) keys takes. Names are never removed, so each counter's
/// first-come order is stable: it is the order <see cref="BurstStateCodec"/> writes, the order the dictionaries this
/// replaced enumerated in.
/// </remarks>
internal sealed class CountTable
{
    /// <summary>Entries (of every counter) scanned before the table indexes them: a lane rarely has more.</summary>
    internal const int IndexFrom = 24;

    private Entry[] _entries = [];
    private int _count;
    // Past IndexFrom entries: slot = hash of (counter, name), probed linearly; each slot holds an entry's position + 1,
    // 0 when empty. Never more than half full.
    private int[]? _index;

    private struct Entry(Counter counter, string name, int count)
    {
        public readonly Counter Counter = counter;
        public readonly string Name = name;
        public int Count = count;
    }

    /// <summary>Adds <paramref name="n"/> to the count of <paramref name="name"/> in <paramref name="counter"/>, which starts at zero.</summary>
    /// <returns>The table's own string of the name (see <see cref="SharedNames"/>), for whatever else keeps it.</returns>
    public string Add(Counter counter, string name, int n = 1)
    {
        int i = Find(counter, name);
        if (i >= 0) _entries[i].Count += n;
        else i = Append(counter, name, n);
        return _entries[i].Name;
    }

    /// <summary>Sets the count of <paramref name="name"/> in <paramref name="counter"/>, adding the name when it is new.</summary>
    public void Set(Counter counter, string name, int count)
    {
        int i = Find(counter, name);
        if (i >= 0) _entries[i].Count = count;
        else Append(counter, name, count);
    }

    public bool TryGetValue(Counter counter, string name, out int count)
    {
        int i = Find(counter, name);
        count = i >= 0 ? _entries[i].Count : 0;
        return i >= 0;
    }

    /// <summary>How many names <paramref name="counter"/> has.</summary>
    public int NamesIn(Counter counter)
    {
        int names = 0;
        for (int i = 0; i < _count; i++)
            if (_entries[i].Counter == counter) names++;
        return names;
    }

    /// <summary>The counts of <paramref name="counter"/>, highest first; ties by name (ordinal), so the same counts always rank the same way.</summary>
    public KeyValuePair<string, int>[] Ranked(Counter counter)
    {
        int names = NamesIn(counter);
        if (names == 0) return [];
        var ranked = new KeyValuePair<string, int>[names];
        int n = 0;
        for (int i = 0; i < _count; i++)
            if (_entries[i].Counter == counter) ranked[n++] = new(_entries[i].Name, _entries[i].Count);
        Rank(ranked);
        return ranked;
    }

    /// <summary>
    /// Every counter's list as <see cref="Ranked"/> makes it, indexed by <see cref="Counter"/>: two passes over the
    /// entries for all seven, where seven calls of <see cref="Ranked"/> make fourteen (a digest's parts rank every counter).
    /// </summary>
    public RankedLists RankAll()
    {
        Span<int> sizes = stackalloc int[RankedLists.Counters];
        var entries = _entries;
        for (int i = 0; i < _count; i++) sizes[(int)entries[i].Counter]++;
        var lists = new RankedLists();
        for (int c = 0; c < RankedLists.Counters; c++) lists[c] = sizes[c] <= 1 ? [] : new KeyValuePair<string, int>[sizes[c]];
        sizes.Clear();
        for (int i = 0; i < _count; i++)
        {
            int c = (int)entries[i].Counter;
            // A counter with one name (most of a lane's: one role, one region, one source …) gets a shared list.
            if (lists[c].Length == 0) lists[c] = OneNameCounts.Default.Of(entries[i].Name, entries[i].Count);
            else lists[c][sizes[c]++] = new(entries[i].Name, entries[i].Count);
        }
        for (int c = 0; c < RankedLists.Counters; c++) Rank(lists[c]);
        return lists;
    }

    /// <summary>Sorts a count list as every count list of a digest is ranked (<see cref="RankOrder"/>).</summary>
    /// <remarks>Names are distinct, so the order is total and an unstable sort gives the one answer.</remarks>
    internal static void Rank(KeyValuePair<string, int>[] counts)
    {
        if (counts.Length > 1) counts.AsSpan().Sort(RankOrder);
    }

    /// <summary>Highest count first, then the name in ordinal order: how every count list of a digest is ranked.</summary>
    /// <remarks>
    /// A delegate made once. A struct <see cref="IComparer{T}"/> would not be compiled into the sort: the span's sort
    /// boxes it and makes a delegate of it per call (measured: 34 more bytes per event).
    /// </remarks>
    internal static readonly Comparison<KeyValuePair<string, int>> RankOrder =
        static (x, y) => x.Value != y.Value ? y.Value.CompareTo(x.Value) : string.CompareOrdinal(x.Key, y.Key);

    /// <summary>The names of <paramref name="counter"/> in first-come order, without allocating for a <c>foreach</c>.</summary>
    public Enumerator Of(Counter counter) => new(this, counter);

    private int Find(Counter counter, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var entries = _entries;
        if (_index is { } index)
        {
            int mask = index.Length - 1;
            for (int slot = Hash(counter, name) & mask; index[slot] != 0; slot = (slot + 1) & mask)
            {
                int at = index[slot] - 1;
                if (entries[at].Counter == counter && string.Equals(entries[at].Name, name)) return at;
            }
            return -1;
        }
        for (int i = 0; i < _count; i++)
            if (entries[i].Counter == counter && string.Equals(entries[i].Name, name)) return i; // a reference check first, then the characters
        return -1;
    }

    /// <returns>The new entry's position.</returns>
    private int Append(Counter counter, string name, int count)
    {
        if (_count == _entries.Length) Grow();
        _entries[_count++] = new Entry(counter, SharedNames.Default.Share(name), count);
        if (_index is not null && _count * 2 <= _index.Length) Insert(_index, _count - 1);
        else if (_count >= IndexFrom) Reindex();
        return _count - 1;
    }

    // The arrays come from a pool and go back to it when the burst closes (Recycle): a replay opens and closes bursts by
    // the thousand, and growing each table's arrays anew was a tenth of its garbage.

    private void Grow()
    {
        var bigger = ArrayPool<Entry>.Shared.Rent(_count == 0 ? 8 : _count * 2);
        _entries.AsSpan(0, _count).CopyTo(bigger);
        if (_entries.Length > 0) ArrayPool<Entry>.Shared.Return(_entries, clearArray: true);
        _entries = bigger;
    }

    /// <summary>A new index twice the entries or more (a power of two), every entry in it.</summary>
    private void Reindex()
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)_count * 2);
        if (_index is not null) ArrayPool<int>.Shared.Return(_index);
        var index = ArrayPool<int>.Shared.Rent(size);
        // The pool's arrays come in powers of two, as probing needs (masking by the length); any other is not used.
        if (!BitOperations.IsPow2(index.Length))
        {
            ArrayPool<int>.Shared.Return(index);
            index = new int[size];
        }
        // Shared with the rest of the process, the pool's arrays of ints may come back dirty.
        Array.Clear(index);
        _index = index;
        for (int i = 0; i < _count; i++) Insert(_index, i);
    }

    /// <summary>
    /// Empties the table and gives its arrays back to the pool. Only for a table nothing will read again: a closed burst's,
    /// once its digest is made (the digest's lists are copies).
    /// </summary>
    public void Recycle()
    {
        if (_entries.Length > 0) ArrayPool<Entry>.Shared.Return(_entries, clearArray: true);
        if (_index is not null) ArrayPool<int>.Shared.Return(_index);
        _entries = [];
        _index = null;
        _count = 0;
    }

    private void Insert(int[] index, int at)
    {
        int mask = index.Length - 1;
        int slot = Hash(_entries[at].Counter, _entries[at].Name) & mask;
        while (index[slot] != 0) slot = (slot + 1) & mask;
        index[slot] = at + 1;
    }

    private static int Hash(Counter counter, string name) => HashCode.Combine((byte)counter, name);

    /// <summary>The names of one counter in first-come order.</summary>
    public struct Enumerator(CountTable table, Counter counter) : IEnumerator<KeyValuePair<string, int>>
    {
        private int _next;

        public KeyValuePair<string, int> Current { get; private set; }

        readonly object IEnumerator.Current => Current;

        public readonly Enumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (_next < table._count)
            {
                var entry = table._entries[_next++];
                if (entry.Counter != counter) continue;
                Current = new(entry.Name, entry.Count);
                return true;
            }
            return false;
        }

        public void Reset() => _next = 0;

        public readonly void Dispose()
        {
        }
    }
}

/// <summary>The seven ranked count lists of one <see cref="CountTable"/>, indexed by <see cref="Counter"/>.</summary>
[System.Runtime.CompilerServices.InlineArray(Counters)]
internal struct RankedLists
{
    public const int Counters = (int)Counter.SourceIps + 1;

    private KeyValuePair<string, int>[] _first;

    public readonly KeyValuePair<string, int>[] Of(Counter counter) => this[(int)counter];
}

/// <summary>
/// One string for each name the count tables keep, shared by every table and burst that counts it. An event's values
/// are often strings of its own (display names are built per event, and the parser's cache of repeated values is lossy),
/// and each table kept the first instance it saw: measured on the benchmark, the open bursts held 6,261 such strings
/// of 937 values, 460 KB where 64 KB would do, all of it promoted and collected in the oldest generation.
/// </summary>
/// <remarks>
/// A fixed number of slots, each the last name that hashed to it: a name only costs a hash when a table first counts
/// it, the pool never grows, and a slot is replaced with a single reference write, so threads share it without a lock.
/// </remarks>
internal sealed class SharedNames(int slots = 4096)
{
    /// <summary>The pool the count tables share.</summary>
    public static SharedNames Default { get; } = new();

    private readonly string?[] _pool = new string?[BitOperations.RoundUpToPowerOf2((uint)slots)];

    /// <summary>The pool's string equal to <paramref name="name"/>, which becomes it when the pool has none.</summary>
    public string Share(string name)
    {
        ref var slot = ref _pool[name.GetHashCode() & (_pool.Length - 1)];
        var shared = slot;
        if (shared is not null && string.Equals(shared, name)) return shared;
        slot = name;
        return name;
    }
}

/// <summary>
/// Count lists of one name, each shared by every digest that counts that name that many times. A burst's parts are one
/// per automated actor, and most count one name in most of their seven lists (the role itself, its one region, its one
/// source …). Measured on the benchmark's 1M events: 1.40M of the 1.65M lists the count tables ranked had one name, and
/// all but 17,222 of those were found here (55 fewer bytes allocated per event).
/// </summary>
/// <remarks>
/// A fixed number of slots, each the last list that hashed to it, as <see cref="SharedNames"/>: names are compared by
/// reference (the count tables' names are shared strings), so a name that is not costs a list of its own, never a wrong one.
/// The lists are never written after they are made, as no digest's lists are: <see cref="CountTable.Rank"/> leaves a list of
/// one as it is.
/// </remarks>
internal sealed class OneNameCounts(int slots = 16384)
{
    /// <summary>The lists every count table shares.</summary>
    public static OneNameCounts Default { get; } = new();

    private readonly KeyValuePair<string, int>[]?[] _pool = new KeyValuePair<string, int>[]?[BitOperations.RoundUpToPowerOf2((uint)slots)];

    /// <summary>A list whose one entry is <paramref name="name"/> counted <paramref name="count"/> times.</summary>
    public KeyValuePair<string, int>[] Of(string name, int count)
    {
        // The name's identity (compared by reference below, so hashed the same way), and the count spread over the bits by
        // the golden-ratio multiplier, so one name's counts 1, 2, 3 … take different slots.
        ref var slot = ref _pool[(RuntimeHelpers.GetHashCode(name) ^ (count * -1640531535)) & (_pool.Length - 1)];
        var list = slot;
        if (list is not null && ReferenceEquals(list[0].Key, name) && list[0].Value == count) return list;
        list = [new(name, count)];
        slot = list;
        return list;
    }
}

/// <summary>
/// One count list of a <see cref="ChangeCounts"/> (its event names, its principals …): a view of the counts it keeps
/// with the others, in the order the names first came.
/// </summary>
public sealed class NameCounts : IReadOnlyCollection<KeyValuePair<string, int>>
{
    private readonly CountTable _table;
    private readonly Counter _counter;

    internal NameCounts(CountTable table, Counter counter)
    {
        _table = table;
        _counter = counter;
    }

    public int Count => _table.NamesIn(_counter);

    /// <summary>The count of <paramref name="name"/>; setting it adds the name when it is new.</summary>
    /// <exception cref="KeyNotFoundException">on get, for a name not counted.</exception>
    public int this[string name]
    {
        get => _table.TryGetValue(_counter, name, out int count) ? count : throw new KeyNotFoundException($"'{name}' is not counted");
        set => _table.Set(_counter, name, value);
    }

    /// <summary>Adds <paramref name="n"/> to the count of <paramref name="name"/>, which starts at zero.</summary>
    public void Add(string name, int n = 1) => _table.Add(_counter, name, n);

    public bool TryGetValue(string name, out int count) => _table.TryGetValue(_counter, name, out count);

    public IEnumerator<KeyValuePair<string, int>> GetEnumerator() => _table.Of(_counter);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
