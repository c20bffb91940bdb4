using System.IO.Hashing;
using System.Text;

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
/// chance far below any real risk. Arrival order is kept in a queue so eviction is O(1) per id.
/// The hash is stored as two <see cref="ulong"/>s, not as a <see cref="UInt128"/>: UInt128 is 16-byte aligned,
/// which pads every set entry and queue slot by 8 bytes (84 instead of ~64 bytes per id; see `pipeline bench`).
/// </remarks>
public sealed class Deduplicator
{
    private readonly DedupeOptions _options;
    private readonly HashSet<Key128> _seen = [];
    private readonly Queue<Slot> _order = new();
    private long _watermarkTicks = long.MinValue;
    /// <summary>Records of one account, dated beyond the horizon ahead of the watermark, that confirm the jump on their own (a quiet account's real gap).</summary>
    public const int ConfirmAfter = 8;
    /// <summary>A time beyond the horizon ahead of the watermark, its account's index and how many of its records claim it, waiting for confirmation.</summary>
    private (long Ticks, int Account, int Records)? _jump;

    /// <summary>One remembered id: its key, the time it was first seen at (for the horizon) and its account (to carry it with the account).</summary>
    public readonly record struct Entry(UInt128 Key, long TimeTicks, string Account);

    /// <summary>A 128-bit key with 8-byte alignment.</summary>
    private readonly record struct Key128(ulong Low, ulong High)
    {
        public static Key128 From(UInt128 key) => new((ulong)key, (ulong)(key >> 64));
        public UInt128 ToUInt128() => new(High, Low);
    }

    // The account as an index into _accounts, not a reference: a queue of millions of slots without references is
    // not scanned by the GC, and 4 bytes fill the struct's padding (measured: the dedupe stage lost ~15% with a string).
    private readonly record struct Slot(Key128 Key, long TimeTicks, int Account);

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
    public int Count => _seen.Count;

    /// <summary>Ids forgotten before their horizon because the size cap was reached.</summary>
    public long EvictedEarly { get; private set; }

    /// <summary>Returns true the first time (account, id) is seen within the horizon, false for a repeat.</summary>
    public bool TryAdd(string account, string id, DateTimeOffset eventTime)
    {
        long ticks = eventTime.UtcTicks;
        int accountIndex = IndexOf(account);
        if (ticks > _watermarkTicks) Advance(ticks, accountIndex);

        var key = Key128.From(Key(account, id));
        if (!_seen.Add(key)) return false;

        _order.Enqueue(new Slot(key, ticks, accountIndex));
        while (_seen.Count > _options.MaxEntries)
        {
            _seen.Remove(_order.Dequeue().Key);
            EvictedEarly++;
        }
        return true;
    }

    /// <summary>The remembered ids in arrival order, for carrying the memory across Lambda invocations.</summary>
    public IEnumerable<Entry> Entries => _order.Select(slot => new Entry(slot.Key.ToUInt128(), slot.TimeTicks, _accounts[slot.Account]));

    /// <summary>Restores ids saved from <see cref="Entries"/>.</summary>
    public void Restore(IEnumerable<Entry> entries)
    {
        foreach (var entry in entries)
        {
            var key = Key128.From(entry.Key);
            if (!_seen.Add(key)) continue;
            _order.Enqueue(new Slot(key, entry.TimeTicks, IndexOf(entry.Account)));
            if (entry.TimeTicks > _watermarkTicks) _watermarkTicks = entry.TimeTicks;
        }
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
        while (_order.Count > 0 && _order.Peek().TimeTicks < cutoffTicks)
            _seen.Remove(_order.Dequeue().Key);
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
