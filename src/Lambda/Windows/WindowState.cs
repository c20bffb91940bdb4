using System.Buffers.Text;
using System.IO.Compression;
using System.Text;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Dedupe;

namespace Pipeline.Lambda.Windows;

/// <summary>
/// What one shard's tumbling window carries from invocation to invocation: the processing core's whole state (the
/// running tally, the open bursts with the counts waiting for a burst, the dedupe memory), the window's counters, and
/// the accounts whose carries the window has claimed (it releases them with its final call).
/// </summary>
internal sealed record WindowState(DateTimeOffset? WindowStart, WindowCounters Counters, CoreState Core, IReadOnlyList<string> Claimed)
{
    /// <summary>
    /// What the window's calls saw of each account-region (first and last event time, how many): its final call writes
    /// them where the sweeper's silence check reads them (<see cref="Carry.ISilenceStore"/>).
    /// </summary>
    public IReadOnlyList<Aggregator.Silence.Sighting> Sightings { get; init; } = [];

    public static WindowState Empty(DateTimeOffset? windowStart) => new(
        windowStart,
        new WindowCounters(),
        new CoreState(new BurstAggregatorState(DateTimeOffset.MinValue, [], []), [], new RunSummary(0, 0, 0, 0, 0, 0, [], [])),
        []);
}

/// <summary>Window-level counts that are not part of the conservation identity: what the ledger and the size limit did.</summary>
internal sealed record WindowCounters
{
    public long Posted { get; init; }
    /// <summary>Digests the ledger had already recorded as posted (a retried batch): not posted again.</summary>
    public long AlreadyPosted { get; init; }
    public long ClosedEarly { get; init; }
    public long DedupeIdsDropped { get; init; }
    public long Invocations { get; init; }
    /// <summary>Carries another owner took while this window held them (a lease ran out): a sign the window took far too long.</summary>
    public long CarryConflicts { get; init; }
    /// <summary>Immediate alerts posted by this window's calls, and those the ledger already had (a retried batch).</summary>
    public long AlertsPosted { get; init; }
    public long AlertsAlreadyPosted { get; init; }
    /// <summary>Digests parked in the carry table for the sweeper's roll-up decision instead of posted.</summary>
    public long Held { get; init; }
}

/// <summary>
/// The state map Lambda stores between invocations of a window: one key, <see cref="Key"/>, whose value is the
/// state in binary, zlib-compressed, base64url (no characters JSON must escape). The version is in the key, so
/// a function that meets a state it cannot read (a newer format) says so and starts the window afresh.
/// Other keys are ignored; Lambda's own sample state (<c>{"1":282}</c>) reads as "no state of ours".
/// </summary>
internal static class WindowStateCodec
{
    public const string Key = "digests.v3";
    private const byte FormatVersion = 3; // 3: bursts carry actor lanes and alert ids; alert and held counters (one format, one issue)

    public static IReadOnlyDictionary<string, string> Encode(WindowState state) =>
        new Dictionary<string, string>(StringComparer.Ordinal) { [Key] = EncodeValue(state) };

    /// <remarks>
    /// The fields are written to memory first and compressed in one call: written straight into the zlib stream, each
    /// 8-byte field was a call into zlib, and encoding a 10,000-record window's state took several times as long.
    /// </remarks>
    public static string EncodeValue(WindowState state)
    {
        using var plain = new MemoryStream();
        using (var w = new BinaryWriter(plain, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(FormatVersion);
            w.Write(state.WindowStart?.UtcTicks ?? 0L);
            WriteTally(w, state.Core.Tally);
            var c = state.Counters;
            w.Write(c.Posted);
            w.Write(c.AlreadyPosted);
            w.Write(c.ClosedEarly);
            w.Write(c.DedupeIdsDropped);
            w.Write(c.Invocations);
            w.Write(c.CarryConflicts);
            w.Write(c.AlertsPosted);
            w.Write(c.AlertsAlreadyPosted);
            w.Write(c.Held);
            BurstStateCodec.Write(w, state.Core.Bursts);
            WriteDedupe(w, state.Core.Dedupe);
            w.Write7BitEncodedInt(state.Claimed.Count);
            foreach (var account in state.Claimed) w.Write(account);
            // A trailer, not a new version: a state written before it has none (read as no sightings), and a reader
            // from before it stops at the claimed accounts, so a deployment mid-window loses nothing but sightings.
            w.Write7BitEncodedInt(state.Sightings.Count);
            foreach (var s in state.Sightings)
            {
                w.Write(s.Account);
                w.Write(s.Region);
                w.Write(s.First.UtcTicks);
                w.Write(s.Last.UtcTicks);
                w.Write(s.Count);
            }
        }
        using var packed = new MemoryStream(capacity: (int)plain.Length / 2 + 64);
        using (var z = new ZLibStream(packed, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(plain.GetBuffer(), 0, (int)plain.Length);
        return Base64Url.EncodeToString(packed.GetBuffer().AsSpan(0, (int)packed.Length));
    }

    /// <summary>
    /// The state of our key, or null when the map has none (the first invocation of a window).
    /// Throws <see cref="FormatException"/> when our key is there but unreadable.
    /// </summary>
    public static WindowState? Decode(IReadOnlyDictionary<string, string> map)
    {
        if (!map.TryGetValue(Key, out var value)) return null;
        try
        {
            var bytes = Base64Url.DecodeFromChars(value);
            // Inflated whole, then read from memory: a read of each field from the zlib stream was a call into zlib.
            using var plain = new MemoryStream(capacity: bytes.Length * 3);
            using (var z = new ZLibStream(new MemoryStream(bytes), CompressionMode.Decompress))
                z.CopyTo(plain);
            plain.Position = 0;
            using var r = new BinaryReader(plain, Encoding.UTF8);
            if (r.ReadByte() != FormatVersion) throw new FormatException("unknown state format version");
            long start = r.ReadInt64();
            var tally = ReadTally(r);
            var counters = new WindowCounters
            {
                Posted = r.ReadInt64(),
                AlreadyPosted = r.ReadInt64(),
                ClosedEarly = r.ReadInt64(),
                DedupeIdsDropped = r.ReadInt64(),
                Invocations = r.ReadInt64(),
                CarryConflicts = r.ReadInt64(),
                AlertsPosted = r.ReadInt64(),
                AlertsAlreadyPosted = r.ReadInt64(),
                Held = r.ReadInt64(),
            };
            var bursts = BurstStateCodec.Read(r);
            var dedupe = ReadDedupe(r);
            var claimed = new string[r.Read7BitEncodedInt()];
            for (int i = 0; i < claimed.Length; i++) claimed[i] = r.ReadString();
            var sightings = new List<Aggregator.Silence.Sighting>();
            if (plain.Position < plain.Length)
            {
                int n = r.Read7BitEncodedInt();
                for (int i = 0; i < n; i++)
                    sightings.Add(new Aggregator.Silence.Sighting(r.ReadString(), r.ReadString(),
                        new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero), new DateTimeOffset(r.ReadInt64(), TimeSpan.Zero), r.ReadInt64()));
            }
            return new WindowState(start == 0 ? null : new DateTimeOffset(start, TimeSpan.Zero), counters, new CoreState(bursts, dedupe, tally), claimed) { Sightings = sightings };
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or ArgumentException or OverflowException)
        {
            throw new FormatException($"window state '{Key}' is unreadable: {e.Message}", e);
        }
    }

    private static void WriteTally(BinaryWriter w, RunSummary s)
    {
        w.Write(s.Received);
        w.Write(s.Rejected);
        w.Write(s.Duplicates);
        w.Write(s.Muted);
        w.Write(s.Digested);
        w.Write(s.Digests);
        w.Write(s.OpenEvents);
        w.Write(s.CarriedIn);
        w.Write(s.CarriedOut);
        WriteCounts(w, s.MutedByRule);
        WriteCounts(w, s.RejectedByReason);
    }

    private static RunSummary ReadTally(BinaryReader r)
    {
        long received = r.ReadInt64(), rejected = r.ReadInt64(), duplicates = r.ReadInt64(), muted = r.ReadInt64();
        long digested = r.ReadInt64(), digests = r.ReadInt64(), open = r.ReadInt64(), carriedIn = r.ReadInt64(), carriedOut = r.ReadInt64();
        return new RunSummary(received, rejected, duplicates, muted, digested, digests, ReadCounts(r), ReadCounts(r), open)
        {
            CarriedIn = carriedIn,
            CarriedOut = carriedOut,
        };
    }

    private static void WriteCounts(BinaryWriter w, IReadOnlyList<KeyValuePair<string, long>> counts)
    {
        w.Write7BitEncodedInt(counts.Count);
        foreach (var (key, count) in counts)
        {
            w.Write(key);
            w.Write7BitEncodedInt64(count);
        }
    }

    private static KeyValuePair<string, long>[] ReadCounts(BinaryReader r)
    {
        var counts = new KeyValuePair<string, long>[r.Read7BitEncodedInt()];
        for (int i = 0; i < counts.Length; i++) counts[i] = new(r.ReadString(), r.Read7BitEncodedInt64());
        return counts;
    }

    // Keys are random (hashes) and do not compress; times are stored as differences, which are small; accounts as
    // indexes into a table written first (ids are carried per account at the window's end).
    private static void WriteDedupe(BinaryWriter w, IReadOnlyList<Deduplicator.Entry> entries)
    {
        var accounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in entries) accounts.TryAdd(entry.Account, accounts.Count);
        w.Write7BitEncodedInt(accounts.Count);
        foreach (var account in accounts.Keys) w.Write(account);
        w.Write7BitEncodedInt(entries.Count);
        long previous = 0;
        Span<byte> key = stackalloc byte[16];
        foreach (var entry in entries)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(key, entry.Key);
            w.Write(key);
            long delta = entry.TimeTicks - previous;
            w.Write7BitEncodedInt64((delta << 1) ^ (delta >> 63)); // zigzag: late events give negative deltas
            w.Write7BitEncodedInt(accounts[entry.Account]);
            previous = entry.TimeTicks;
        }
    }

    private static Deduplicator.Entry[] ReadDedupe(BinaryReader r)
    {
        var accounts = new string[r.Read7BitEncodedInt()];
        for (int i = 0; i < accounts.Length; i++) accounts[i] = r.ReadString();
        var entries = new Deduplicator.Entry[r.Read7BitEncodedInt()];
        long previous = 0;
        Span<byte> bytes = stackalloc byte[16];
        for (int i = 0; i < entries.Length; i++)
        {
            r.ReadExactly(bytes);
            var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(bytes);
            long zigzag = r.Read7BitEncodedInt64();
            previous += (long)((ulong)zigzag >> 1) ^ -(zigzag & 1);
            entries[i] = new Deduplicator.Entry(key, previous, accounts[r.Read7BitEncodedInt()]);
        }
        return entries;
    }

    /// <summary>Size estimate of one dedupe entry in the encoded state (16-byte key, ~2-byte time, 1-byte account, base64).</summary>
    public const int ApproxBytesPerDedupeEntry = 26;
}
