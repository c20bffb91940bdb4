using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Dedupe;

namespace Pipeline.Aggregator.Processing;

/// <summary>
/// What one account leaves open at the end of a window (or a run), for the next one to take over: its open burst,
/// the muted and duplicate counts waiting for its next burst, and the ids its dedupe memory still holds.
/// Kept per account, not per shard, so that after a reshard the child shard that gets the account finds it.
/// </summary>
public sealed record AccountCarry(string Account, BurstBuilder? Open, BurstBuilder? Pending, IReadOnlyList<Deduplicator.Entry> Dedupe)
{
    /// <summary>Nothing worth keeping: the carry can be deleted.</summary>
    public bool IsEmpty => Open is null && Pending is null && Dedupe.Count == 0;

    /// <summary>When the open burst falls due on the processing clock if its account says nothing more (the sweeper's cue); null when none is open.</summary>
    public DateTimeOffset? DueAt(BurstWindowOptions options) => Open?.DueAt(options);

    /// <summary>When nothing in the carry matters any more: the burst due plus a day, or the newest dedupe id past its horizon.</summary>
    public DateTimeOffset ExpiresAt(BurstWindowOptions window, DedupeOptions dedupe)
    {
        var newest = Dedupe.Count == 0 ? DateTimeOffset.MinValue : new DateTimeOffset(Dedupe.Max(e => e.TimeTicks), TimeSpan.Zero) + dedupe.Horizon;
        var due = Open is null ? DateTimeOffset.MinValue : Open.DueAt(window) + TimeSpan.FromDays(1);
        var pending = Pending is null ? DateTimeOffset.MinValue : Pending.OpenedAt + TimeSpan.FromDays(1);
        return new[] { newest, due, pending }.Max();
    }
}

/// <summary>
/// An <see cref="AccountCarry"/> as bytes: a format byte, then the bursts (<see cref="BurstStateCodec"/>) and the dedupe
/// ids, zlib-compressed. Stored whole in one DynamoDB item (400 KB at most) or one file entry.
/// </summary>
public static class AccountCarryCodec
{
    /// <summary>
    /// The most a carry may take encoded: a DynamoDB item holds at most 400 KB, and the carry table's item keeps the carry
    /// twice at a window's end (the new one and, for a retry of the call, the one it claimed).
    /// </summary>
    public const int MaxStoredBytes = 190_000;

    private const byte FormatVersion = 2; // 2: bursts carry actor lanes and alert ids

    public static byte[] Encode(AccountCarry carry)
    {
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Fastest, leaveOpen: true))
        using (var w = new BinaryWriter(z, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(FormatVersion);
            w.Write(carry.Account);
            BurstStateCodec.WriteCarry(w, carry.Open, carry.Pending);
            w.Write7BitEncodedInt(carry.Dedupe.Count);
            Span<byte> key = stackalloc byte[16];
            foreach (var entry in carry.Dedupe)
            {
                BinaryPrimitives.WriteUInt128LittleEndian(key, entry.Key);
                w.Write(key);
                w.Write(entry.TimeTicks);
            }
        }
        return raw.ToArray();
    }

    /// <summary>Reads a carry; throws <see cref="FormatException"/> when the bytes are not one.</summary>
    public static AccountCarry Decode(ReadOnlySpan<byte> bytes)
    {
        try
        {
            using var z = new ZLibStream(new MemoryStream(bytes.ToArray()), CompressionMode.Decompress);
            using var r = new BinaryReader(z, Encoding.UTF8);
            if (r.ReadByte() != FormatVersion) throw new FormatException("unknown carry format version");
            var account = r.ReadString();
            var (open, pending) = BurstStateCodec.ReadCarry(r);
            var dedupe = new Deduplicator.Entry[r.Read7BitEncodedInt()];
            for (int i = 0; i < dedupe.Length; i++)
                dedupe[i] = new Deduplicator.Entry(BinaryPrimitives.ReadUInt128LittleEndian(r.ReadBytes(16)), r.ReadInt64(), account);
            return new AccountCarry(account, open, pending, dedupe);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or ArgumentException or OverflowException)
        {
            throw new FormatException($"carry is unreadable: {e.Message}", e);
        }
    }
}
