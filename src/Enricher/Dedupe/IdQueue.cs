using System.Numerics;

namespace Pipeline.Enricher.Dedupe;

/// <summary>A 128-bit id key (a hash) with 8-byte alignment: <see cref="UInt128"/> is 16-byte aligned, which pads every slot.</summary>
internal readonly record struct Key128(ulong Low, ulong High)
{
    public static Key128 From(UInt128 key) => new((ulong)key, (ulong)(key >> 64));

    public UInt128 ToUInt128() => new(High, Low);
}

/// <summary>
/// One remembered id: its key, the time it was first seen at (for the horizon) and its account as an index into the
/// memory's account list. An index, not a reference: a queue of millions of slots without references is not scanned by
/// the GC (measured: the dedupe stage lost ~15% with a string).
/// </summary>
internal readonly record struct Slot(Key128 Key, long TimeTicks, int Account);

/// <summary>
/// The remembered ids in arrival order, found by key: one ring of slots, and an open-addressing table of positions in
/// it. The key lives once, in its slot; the table holds 4-byte positions, at most half full. A <see cref="HashSet{T}"/>
/// beside a <see cref="Queue{T}"/> kept every key twice, with a hash code, a link and a bucket each: 73 bytes per id
/// against ~42 (docs/performance.md, "Speed, ninth session"). The keys are hashes already: their low bits are the home.
/// </summary>
/// <remarks>
/// Deletion only ever takes the oldest slot (forgetting) or moves it to the back (an id dated ahead of the watermark),
/// and the table closes the gap a deletion leaves by shifting the entries after it back (linear probing keeps no
/// tombstones, so a long run's table never fills with them).
/// </remarks>
internal sealed class IdQueue
{
    private Slot[] _ring = new Slot[16];
    private int _head;
    // Ring position + 1 of each id, 0 where empty; a power of two in size, at most half full.
    private int[] _table = new int[32];
    private int _version;

    /// <summary>Ids held.</summary>
    public int Count { get; private set; }

    /// <summary>Adds <paramref name="slot"/> at the back; false (and nothing changes) when its key is held already.</summary>
    public bool TryEnqueue(Slot slot)
    {
        if (Find(slot.Key) >= 0) return false;
        Append(slot);
        return true;
    }

    /// <summary>The oldest slot. The queue must not be empty.</summary>
    public Slot Peek()
    {
        if (Count == 0) throw new InvalidOperationException("the queue is empty");
        return _ring[_head];
    }

    /// <summary>Removes the oldest slot and forgets its key.</summary>
    public Slot Dequeue()
    {
        var slot = Peek();
        RemoveFromTable(Find(slot.Key));
        _ring[_head] = default;
        _head = (_head + 1) & (_ring.Length - 1);
        Count--;
        _version++;
        return slot;
    }

    /// <summary>Moves the oldest slot to the back, as if it had just arrived.</summary>
    public void Requeue()
    {
        var slot = Peek();
        int entry = Find(slot.Key);
        int mask = _ring.Length - 1;
        _ring[_head] = default;
        // The back is the old head plus the count: the same place when the ring is full.
        int back = (_head + Count) & mask;
        _head = (_head + 1) & mask;
        _ring[back] = slot;
        _table[entry] = back + 1;
        _version++;
    }

    /// <summary>Holds exactly <paramref name="slots"/>, in their order; their keys must be distinct (they come from this queue).</summary>
    public void Replace(IReadOnlyList<Slot> slots)
    {
        Array.Clear(_ring);
        Array.Clear(_table);
        _head = 0;
        Count = 0;
        for (int i = 0; i < slots.Count; i++) Append(slots[i]);
        _version++;
    }

    /// <summary>The slots, oldest first. The queue must not change meanwhile.</summary>
    public IEnumerable<Slot> InOrder()
    {
        int version = _version;
        for (int i = 0; ; i++)
        {
            // Checked before the end too: a queue that shrank while it was read must not end the reading quietly.
            if (version != _version) throw new InvalidOperationException("the queue changed while it was read");
            if (i >= Count) yield break;
            yield return _ring[(_head + i) & (_ring.Length - 1)];
        }
    }

    private void Append(Slot slot)
    {
        // The table is always twice the ring or more (set here when the ring grows), so it is at most half full.
        if (Count == _ring.Length) GrowRing();
        int position = (_head + Count) & (_ring.Length - 1);
        _ring[position] = slot;
        Count++;
        Insert(slot.Key, position);
        _version++;
    }

    /// <summary>The table entry holding <paramref name="key"/>'s position, or -1.</summary>
    private int Find(Key128 key)
    {
        int mask = _table.Length - 1;
        for (int i = Home(key) & mask; ; i = (i + 1) & mask)
        {
            int held = _table[i];
            if (held == 0) return -1;
            if (_ring[held - 1].Key == key) return i;
        }
    }

    private void Insert(Key128 key, int position)
    {
        int mask = _table.Length - 1;
        int i = Home(key) & mask;
        while (_table[i] != 0) i = (i + 1) & mask;
        _table[i] = position + 1;
    }

    /// <summary>Empties table entry <paramref name="i"/>, moving back each later entry of the run that would no longer be found past the gap.</summary>
    private void RemoveFromTable(int i)
    {
        int mask = _table.Length - 1;
        for (int j = (i + 1) & mask; _table[j] != 0; j = (j + 1) & mask)
        {
            int home = Home(_ring[_table[j] - 1].Key) & mask;
            // An entry whose home lies cyclically in (i, j] is still reached from its home; any other would be cut off.
            bool reached = i <= j ? i < home && home <= j : i < home || home <= j;
            if (reached) continue;
            _table[i] = _table[j];
            i = j;
        }
        _table[i] = 0;
    }

    /// <summary>
    /// Makes room for <paramref name="count"/> slots in one step (a power of two at least that large), so a batch of known
    /// size grows the ring and its table once instead of doubling them all the way up from where they stand.
    /// </summary>
    /// <remarks>At most 2²⁹ slots at once: the table, twice the ring, must stay an array of ints. Beyond that the ring grows as it fills, as it always did.</remarks>
    public void EnsureCapacity(int count)
    {
        int length = count <= 0 ? 0 : (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)count), MaxReserved);
        if (length > _ring.Length) GrowRing(length);
    }

    private const uint MaxReserved = 1u << 29;

    private void GrowRing() => GrowRing(_ring.Length * 2);

    private void GrowRing(int length)
    {
        var bigger = new Slot[length];
        for (int i = 0; i < Count; i++) bigger[i] = _ring[(_head + i) & (_ring.Length - 1)];
        _ring = bigger;
        _head = 0;
        // Every position changed; the table is made once, for the ring's new size (at most half full when it is).
        Reindex(Math.Max(_table.Length, _ring.Length * 2));
    }

    private void Reindex(int size)
    {
        _table = new int[size];
        int mask = _ring.Length - 1;
        for (int i = 0; i < Count; i++)
        {
            int position = (_head + i) & mask;
            Insert(_ring[position].Key, position);
        }
    }

    private static int Home(Key128 key) => (int)key.Low;
}
