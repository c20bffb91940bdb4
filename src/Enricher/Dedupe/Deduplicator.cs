using System.IO.Hashing;
using System.Text;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Dedupe;

/// <summary>
/// Remembers which events were seen, to drop the copies that at-least-once delivery (EventBridge, Kinesis,
/// Lambda retries) produces. Memory is bounded twice: by event time (ids older than the horizon behind the
/// newest event are forgotten) and by count (the oldest go first at the cap, and <see cref="EvictedEarly"/> says so).
/// A time more than the horizon ahead of the newest is not believed on one account's word: one event with a wrong clock
/// (a year ahead) would make it forget every id, and the next redelivery would be digested twice. The horizon moves
/// there only once an event of another account is dated that far ahead too, or <see cref="ConfirmAfter"/> of one account's
/// (to the earliest of them). Until then the claim only costs memory, which the size cap still bounds.
/// </summary>
/// <remarks>
/// Ids are kept as 128-bit hashes of (account, id): 16 bytes whatever the id's length, and a collision
/// chance far below any real risk. They are held in arrival order, found by key (<see cref="IdQueue"/>), so eviction
/// is O(1) per id.
/// </remarks>
public sealed class Deduplicator
{
    private readonly DedupeOptions _options;
    private readonly IdQueue _ids = new();
    private long _watermarkTicks = long.MinValue;
    /// <summary>Records of one account, dated beyond the horizon ahead of the watermark, that confirm the jump on their own (a quiet account's real gap).</summary>
    public const int ConfirmAfter = 8;
    /// <summary>A time beyond the horizon ahead of the watermark, its account's index and how many of its records claim it, waiting for confirmation.</summary>
    private (long Ticks, int Account, int Records)? _jump;

    /// <summary>One remembered id: its key, the time it was first seen at (for the horizon) and its account (to carry it with the account).</summary>
    public readonly record struct Entry(UInt128 Key, long TimeTicks, string Account);

    private readonly List<string> _accounts = [];
    private readonly Dictionary<string, int> _accountIndex = new(StringComparer.Ordinal);
    private string? _lastAccount;
    private int _lastAccountIndex;

    private int IndexOf(string account)
    {
        // Events come in runs of one account: the last one answers most lookups without hashing.
        if (ReferenceEquals(account, _lastAccount)) return _lastAccountIndex;
        if (!_accountIndex.TryGetValue(account, out var index))
        {
            index = _accounts.Count;
            _accounts.Add(account);
            _accountIndex[account] = index;
        }
        _lastAccount = account;
        _lastAccountIndex = index;
        return index;
    }

    public Deduplicator(DedupeOptions options)
    {
        options.Validate();
        _options = options;
    }

    /// <summary>Ids remembered now.</summary>
    public int Count => _ids.Count;

    /// <summary>Ids forgotten before their horizon because the size cap was reached.</summary>
    public long EvictedEarly { get; private set; }

    /// <summary>Returns true the first time (account, id) is seen within the horizon, false for a repeat.</summary>
    public bool TryAdd(string account, string id, DateTimeOffset eventTime) => TryAdd(account, Key(account, id), eventTime);

    /// <summary><see cref="TryAdd(string, string, DateTimeOffset)"/> for an id as the model keeps it: the same key, read from its bytes.</summary>
    internal bool TryAdd(string account, EventIdValue id, DateTimeOffset eventTime) => TryAdd(account, Key(account, id), eventTime);

    private bool TryAdd(string account, UInt128 hash, DateTimeOffset eventTime)
    {
        long ticks = eventTime.UtcTicks;
        int accountIndex = IndexOf(account);
        if (_restored) RecomputeWatermark();
        if (ticks > _watermarkTicks) Advance(ticks, accountIndex);

        if (!_ids.TryEnqueue(new Slot(Key128.From(hash), ticks, accountIndex))) return false;
        while (_ids.Count > _options.MaxEntries)
        {
            _ids.Dequeue();
            EvictedEarly++;
        }
        return true;
    }

    /// <summary>The remembered ids in arrival order, for carrying the memory across Lambda invocations.</summary>
    public IEnumerable<Entry> Entries => _ids.InOrder().Select(slot => new Entry(slot.Key.ToUInt128(), slot.TimeTicks, _accounts[slot.Account]));

    /// <summary><see cref="Entries"/> in an array of their number (a window's state is written from it after every batch).</summary>
    public Entry[] CopyEntries()
    {
        var entries = new Entry[Count];
        int i = 0;
        foreach (var entry in Entries) entries[i++] = entry;
        return entries;
    }

    /// <summary>Room for <paramref name="records"/> more ids (a batch about to be added), made in one step: see <see cref="IdQueue.EnsureCapacity"/>.</summary>
    public void Reserve(int records) => _ids.EnsureCapacity((int)Math.Min((long)Count + records, _options.MaxEntries + 1L));

    /// <summary>
    /// Restores ids saved from <see cref="Entries"/> (in one call or several, e.g. one per account's carry). The watermark
    /// is not saved with them: it is worked out again from every id held, at the next <see cref="TryAdd"/>, so that an
    /// unconfirmed claim far ahead (<see cref="RecomputeWatermark"/>) stays unconfirmed across a save and restore.
    /// </summary>
    public void Restore(IEnumerable<Entry> entries)
    {
        foreach (var entry in entries)
        {
            if (!_ids.TryEnqueue(new Slot(Key128.From(entry.Key), entry.TimeTicks, IndexOf(entry.Account)))) continue;
            _restored = true;
        }
    }

    private bool _restored;

    /// <summary>
    /// After a restore: puts the ids in time order (carries come one account at a time, which would let one account's
    /// recent ids hold back the forgetting of every later account's) and works the watermark out from their times.
    /// The newest ids count only if they are believable: a group of ids more than the horizon beyond all the others, of
    /// one account and fewer than <see cref="ConfirmAfter"/>, is the unconfirmed jump it was before the save. It is held
    /// again as the pending jump, and the watermark stands at the newest of the rest. Erring low only remembers longer.
    /// </summary>
    private void RecomputeWatermark()
    {
        _restored = false;
        var slots = _ids.InOrder().OrderBy(s => s.TimeTicks).ToArray(); // stable: equal times keep their arrival order
        _ids.Replace(slots);
        if (slots.Length == 0) return;

        long horizon = _options.Horizon.Ticks;
        int top = slots.Length; // slots[..top] are still candidates for the watermark
        (long Ticks, int Account, int Records)? held = null;
        while (top > 0)
        {
            // The newest group: the ids above the highest gap wider than the horizon.
            int start = top - 1;
            while (start > 0 && slots[start].TimeTicks - slots[start - 1].TimeTicks <= horizon) start--;
            if (start == 0) break; // nothing below it: it is the rest
            int account = slots[start].Account;
            int records = top - start;
            bool oneAccount = true;
            for (int i = start; i < top && oneAccount; i++) oneAccount = slots[i].Account == account;
            if (!oneAccount || records >= ConfirmAfter) break; // confirmed, as it would have been live
            held = (slots[start].TimeTicks, account, records);
            top = start;
        }
        long restoredTicks = slots[top - 1].TimeTicks;
        if (restoredTicks > _watermarkTicks) _watermarkTicks = restoredTicks;
        if (_jump is null && held is { } jump && jump.Ticks - _watermarkTicks > horizon) _jump = jump;
    }

    private void Advance(long ticks, int account)
    {
        // The first event sets the watermark; after it, a step within the horizon is ordinary time passing.
        if (_watermarkTicks != long.MinValue && ticks - _watermarkTicks > _options.Horizon.Ticks)
        {
            if (_jump is not { } held)
            {
                _jump = (ticks, account, 1); // one record's word: remembered, nothing forgotten yet
                return;
            }
            if (held.Account == account && held.Records + 1 < ConfirmAfter)
            {
                _jump = (Math.Min(held.Ticks, ticks), account, held.Records + 1);
                return;
            }
            ticks = Math.Min(held.Ticks, ticks); // confirmed: time really moved, as far as the records agree
        }
        _jump = null; // caught up with, or confirmed
        _watermarkTicks = ticks;
        ForgetOlderThan(ticks - _options.Horizon.Ticks);
    }

    private void ForgetOlderThan(long cutoffTicks)
    {
        // Out-of-order arrivals make the queue only roughly time-sorted; an id that arrived late but is old
        // is forgotten when the entries before it are, which errs on the side of remembering longer.
        // An id dated ahead of the watermark (an unconfirmed claim far ahead, or one left above a confirmed jump) must not
        // stop the forgetting of every id that arrived after it: it goes to the back, as if it had just arrived. Each such
        // id moves once per pass through the queue, so this costs O(1) per id forgotten.
        int requeued = 0;
        while (_ids.Count > 0)
        {
            var head = _ids.Peek();
            if (head.TimeTicks < cutoffTicks)
            {
                _ids.Dequeue();
                continue;
            }
            if (head.TimeTicks <= _watermarkTicks || ++requeued > _ids.Count) break;
            _ids.Requeue();
        }
    }

    /// <summary><see cref="Key(string, string)"/> of the id's text, without making it: the bytes are the same.</summary>
    internal static UInt128 Key(string account, EventIdValue id)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (Encoding.UTF8.TryGetBytes(account, buffer, out int n) && n < buffer.Length)
        {
            buffer[n++] = (byte)'|';
            if (id.TryWriteUtf8(buffer[n..], out int written)) return XxHash128.HashToUInt128(buffer[..(n + written)]);
        }
        return Key(account, id.Text ?? ""); // too long for the buffer: the text's way
    }

    internal static UInt128 Key(string account, string id)
    {
        Span<byte> buffer = stackalloc byte[256];
        int max = Encoding.UTF8.GetMaxByteCount(account.Length + id.Length + 1);
        byte[]? rented = max > buffer.Length ? new byte[max] : null;
        var bytes = rented ?? buffer;
        int n = Encoding.UTF8.GetBytes(account, bytes);
        bytes[n++] = (byte)'|';
        n += Encoding.UTF8.GetBytes(id, bytes[n..]);
        return XxHash128.HashToUInt128(bytes[..n]);
    }
}
