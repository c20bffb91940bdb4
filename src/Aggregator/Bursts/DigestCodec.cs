using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Writes and reads a closed <see cref="Digest"/> as compact binary, every field included (its parts by actor, the
/// account's details with its Slack channel, the alert ids), so a digest parked in a shared store (the Lambda's held
/// digests, waiting for a roll-up decision) comes back as the very digest that closed: same id, same rendering.
/// </summary>
public static class DigestCodec
{
    // The order of the fields is the format: a change gets a new version byte, and old bytes are refused, not misread.
    private const byte FormatVersion = 1;

    public static byte[] Encode(Digest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(FormatVersion);
            Write(w, digest);
        }
        return buffer.ToArray();
    }

    /// <summary>Throws <see cref="FormatException"/> for bytes that are not a digest of this format.</summary>
    public static Digest Decode(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
            var version = r.ReadByte();
            if (version != FormatVersion) throw new FormatException($"unknown digest format {version}");
            var digest = Read(r);
            if (r.BaseStream.Position != bytes.Length) throw new FormatException("trailing bytes after the digest");
            return digest;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidCastException)
        {
            throw new FormatException("not an encoded digest: " + e.Message, e);
        }
    }

    private static void Write(BinaryWriter w, Digest d)
    {
        Write(w, d, PartOf(d, actorKey: null), d.FoldedEventCount);
        w.Write7BitEncodedInt(d.Parts.Count);
        // A part is written as a digest of its own, with the burst's fields and no parts: the format from before parts
        // had a type of their own, so carries written then still read.
        foreach (var part in d.Parts)
        {
            Write(w, d, part, folded: 0);
            w.Write7BitEncodedInt(0);
        }
    }

    /// <summary>
    /// Every field but the parts: the burst's from <paramref name="d"/>; the counts, the actor and the roll-up from
    /// <paramref name="counts"/> (a part, or the whole digest's own as <see cref="PartOf"/> gives them).
    /// </summary>
    private static void Write(BinaryWriter w, Digest d, DigestPart counts, int folded)
    {
        w.Write(d.DigestId);
        w.Write(d.Account);
        CodecFields.WriteAccountInfo(w, d.AccountInfo);
        w.Write(counts.FirstEventTime.UtcTicks);
        w.Write(counts.LastEventTime.UtcTicks);
        w.Write7BitEncodedInt(counts.EventCount);
        w.Write7BitEncodedInt(counts.ErrorCount);
        w.Write7BitEncodedInt(counts.ReadOnlyCount);
        foreach (var list in new[] { counts.EventNames, counts.Principals, counts.Regions, counts.Sources, counts.DetailTypes, counts.ErrorCodes, counts.SourceIps, d.Muted })
            WriteCounts(w, list);
        w.Write7BitEncodedInt(counts.Risky.Count);
        foreach (var risky in counts.Risky) CodecFields.WriteRisky(w, risky);
        w.Write7BitEncodedInt(counts.RiskyCount);
        w.Write7BitEncodedInt(counts.Failures.Count);
        foreach (var failure in counts.Failures) CodecFields.WriteFailure(w, failure);
        w.Write7BitEncodedInt(d.Duplicates);
        w.Write((byte)d.ClosedBy);
        w.Write7BitEncodedInt(d.SkewedCount);
        w.Write(d.SkewedLatestTime is not null);
        if (d.SkewedLatestTime is { } skewed) w.Write(skewed.UtcTicks);
        w.Write7BitEncodedInt(d.LateCount);
        w.Write(d.LateMaxDelay.Ticks);
        w.Write(d.ClosedAt.UtcTicks);
        WriteOptional(w, counts.ActorKey);
        w.Write7BitEncodedInt(d.AlertIds.Count);
        foreach (var id in d.AlertIds) w.Write(id);
        WriteOptional(w, counts.RollupId);
        w.Write7BitEncodedInt(folded);
    }

    private static Digest Read(BinaryReader r) => Read(r, out _);

    /// <summary>A digest as written, with the actor key it was written with (a part's; null for a whole digest).</summary>
    private static Digest Read(BinaryReader r, out string? actorKey)
    {
        var digestId = r.ReadString();
        var account = r.ReadString();
        var info = CodecFields.ReadAccountInfo(r);
        var first = Time(r.ReadInt64());
        var last = Time(r.ReadInt64());
        int events = r.Read7BitEncodedInt(), errors = r.Read7BitEncodedInt(), readOnly = r.Read7BitEncodedInt();
        var counts = new IReadOnlyList<KeyValuePair<string, int>>[8];
        for (int i = 0; i < counts.Length; i++) counts[i] = ReadCounts(r);
        var risky = new RiskyEvent[Count(r)];
        for (int i = 0; i < risky.Length; i++) risky[i] = CodecFields.ReadRisky(r, Time);
        int riskyCount = r.Read7BitEncodedInt();
        var failures = new FailedCall[Count(r)];
        for (int i = 0; i < failures.Length; i++)
            failures[i] = CodecFields.ReadFailure(r);
        int duplicates = r.Read7BitEncodedInt();
        var closedBy = (BurstCloseReason)r.ReadByte();
        if (!Enum.IsDefined(closedBy)) throw new FormatException($"unknown close reason {(int)closedBy}");
        int skewedCount = r.Read7BitEncodedInt();
        DateTimeOffset? skewedLatest = r.ReadBoolean() ? Time(r.ReadInt64()) : null;
        int lateCount = r.Read7BitEncodedInt();
        var lateMax = TimeSpan.FromTicks(r.ReadInt64());
        var closedAt = Time(r.ReadInt64());
        actorKey = ReadOptional(r);
        var alertIds = new string[Count(r)];
        for (int i = 0; i < alertIds.Length; i++) alertIds[i] = r.ReadString();
        var rollupId = ReadOptional(r);
        int folded = r.Read7BitEncodedInt();
        var parts = new DigestPart[Count(r)];
        for (int i = 0; i < parts.Length; i++) parts[i] = PartOf(Read(r, out var actor), actor);
        return new Digest
        {
            DigestId = digestId,
            Account = account,
            AccountInfo = info,
            FirstEventTime = first,
            LastEventTime = last,
            EventCount = events,
            ErrorCount = errors,
            ReadOnlyCount = readOnly,
            EventNames = counts[0],
            Principals = counts[1],
            Regions = counts[2],
            Sources = counts[3],
            DetailTypes = counts[4],
            ErrorCodes = counts[5],
            SourceIps = counts[6],
            Muted = counts[7],
            Risky = risky,
            RiskyCount = riskyCount,
            Failures = failures,
            Duplicates = duplicates,
            ClosedBy = closedBy,
            SkewedCount = skewedCount,
            SkewedLatestTime = skewedLatest,
            LateCount = lateCount,
            LateMaxDelay = lateMax,
            ClosedAt = closedAt,
            AlertIds = alertIds,
            RollupId = rollupId,
            FoldedEventCount = folded,
            Parts = parts,
        };
    }

    /// <summary>The counts of a digest as a part holds them: a part read as a digest (its burst's fields are the whole digest's), or a whole digest's own.</summary>
    private static DigestPart PartOf(Digest d, string? actorKey) => new()
    {
        ActorKey = actorKey,
        FirstEventTime = d.FirstEventTime,
        LastEventTime = d.LastEventTime,
        EventCount = d.EventCount,
        ErrorCount = d.ErrorCount,
        ReadOnlyCount = d.ReadOnlyCount,
        EventNames = d.EventNames,
        Principals = d.Principals,
        Regions = d.Regions,
        Sources = d.Sources,
        DetailTypes = d.DetailTypes,
        ErrorCodes = d.ErrorCodes,
        SourceIps = d.SourceIps,
        Risky = d.Risky,
        RiskyCount = d.RiskyCount,
        Failures = d.Failures,
        RollupId = d.RollupId,
    };

    private static void WriteCounts(BinaryWriter w, IReadOnlyList<KeyValuePair<string, int>> counts)
    {
        w.Write7BitEncodedInt(counts.Count);
        foreach (var (key, n) in counts)
        {
            w.Write(key);
            w.Write7BitEncodedInt(n);
        }
    }

    // Lists keep their order (highest first, as the burst ranked them): re-ranking here could reorder ties.
    private static KeyValuePair<string, int>[] ReadCounts(BinaryReader r)
    {
        var counts = new KeyValuePair<string, int>[Count(r)];
        for (int i = 0; i < counts.Length; i++) counts[i] = new(r.ReadString(), r.Read7BitEncodedInt());
        return counts;
    }

    /// <summary>A list length, bounded by what is left to read (one byte per item at least), so damaged bytes cannot ask for gigabytes.</summary>
    private static int Count(BinaryReader r)
    {
        int n = r.Read7BitEncodedInt();
        if (n < 0 || n > r.BaseStream.Length - r.BaseStream.Position) throw new FormatException($"list length {n} beyond the data");
        return n;
    }

    private static void WriteOptional(BinaryWriter w, string? value) => CodecFields.WriteOptional(w, value);

    private static string? ReadOptional(BinaryReader r) => CodecFields.ReadOptional(r);

    private static DateTimeOffset Time(long utcTicks) =>
        utcTicks is >= 0 and <= 3155378975999999999 ? new(utcTicks, TimeSpan.Zero) : throw new FormatException($"time out of range ({utcTicks} ticks)");
}
