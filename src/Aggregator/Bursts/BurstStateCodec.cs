using Pipeline.Aggregator.Rollups;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Writes and reads a <see cref="BurstAggregatorState"/> as compact binary, so a host can carry open bursts
/// between invocations (the Lambda's tumbling-window state). Every field of a burst is kept, so a restored
/// burst renders the same digest as one that never left memory. The caller owns versioning and compression.
/// </summary>
public static class BurstStateCodec
{
    public static void Write(BinaryWriter w, BurstAggregatorState state)
    {
        w.Write(state.Clock.UtcTicks);
        w.Write7BitEncodedInt(state.Open.Count);
        foreach (var burst in state.Open) WriteBurst(w, burst);
        w.Write7BitEncodedInt(state.Pending.Count);
        foreach (var burst in state.Pending) WriteBurst(w, burst);
    }

    public static BurstAggregatorState Read(BinaryReader r)
    {
        var clock = Time(r.ReadInt64());
        var open = new BurstBuilder[r.Read7BitEncodedInt()];
        for (int i = 0; i < open.Length; i++) open[i] = ReadBurst(r);
        var pending = new BurstBuilder[r.Read7BitEncodedInt()];
        for (int i = 0; i < pending.Length; i++) pending[i] = ReadBurst(r);
        return new BurstAggregatorState(clock, open, pending);
    }

    private static void WriteBurst(BinaryWriter w, BurstBuilder b)
    {
        w.Write(b.Account);
        w.Write(b.OpenedAt.UtcTicks);
        w.Write(b.LastSeenAt.UtcTicks);
        WriteOptional(w, b.FirstEventId);
        CodecFields.WriteAccountInfo(w, b.AccountInfo);
        w.Write7BitEncodedInt(b.Duplicates);
        WriteCounts(w, b.Muted);
        w.Write7BitEncodedInt(b.SkewedCount);
        w.Write(b.SkewedLatestTime?.UtcTicks ?? 0L);
        w.Write7BitEncodedInt(b.LateCount);
        w.Write(b.LateMaxDelay.Ticks);
        w.Write(b.LastArrivalAt.UtcTicks);
        w.Write7BitEncodedInt(b.AlertIds.Count);
        foreach (var id in b.AlertIds) w.Write(id);
        WriteChangeCounts(w, b);
        w.Write7BitEncodedInt(b.Lanes.Count);
        foreach (var ((kind, name), lane) in b.Lanes)
        {
            w.Write((byte)kind);
            w.Write(name);
            WriteChangeCounts(w, lane);
        }
    }

    private static void WriteChangeCounts(BinaryWriter w, ChangeCounts b)
    {
        w.Write(b.FirstEventTime.UtcTicks);
        w.Write(b.LastEventTime.UtcTicks);
        w.Write7BitEncodedInt(b.EventCount);
        w.Write7BitEncodedInt(b.ErrorCount);
        w.Write7BitEncodedInt(b.ReadOnlyCount);
        w.Write7BitEncodedInt(b.RiskyCount);
        foreach (var counter in Counters) WriteCounts(w, b.Counts, counter);
        w.Write7BitEncodedInt(b.Risky.Count);
        foreach (var risky in b.Risky) CodecFields.WriteRisky(w, risky);
        w.Write7BitEncodedInt(b.Failures.Count);
        foreach (var failure in b.Failures.Values) CodecFields.WriteFailure(w, failure);
    }

    /// <summary>One account's carry (its open burst and the counts waiting for one), for a carry store.</summary>
    public static void WriteCarry(BinaryWriter w, BurstBuilder? open, BurstBuilder? pending)
    {
        w.Write(open is not null);
        if (open is not null) WriteBurst(w, open);
        w.Write(pending is not null);
        if (pending is not null) WriteBurst(w, pending);
    }

    public static (BurstBuilder? Open, BurstBuilder? Pending) ReadCarry(BinaryReader r)
    {
        var open = r.ReadBoolean() ? ReadBurst(r) : null;
        var pending = r.ReadBoolean() ? ReadBurst(r) : null;
        return (open, pending);
    }

    private static BurstBuilder ReadBurst(BinaryReader r)
    {
        var b = new BurstBuilder(r.ReadString(), Time(r.ReadInt64()))
        {
            LastSeenAt = Time(r.ReadInt64()),
            FirstEventId = ReadOptional(r),
        };
        b.AccountInfo = CodecFields.ReadAccountInfo(r);
        b.Duplicates = r.Read7BitEncodedInt();
        ReadCounts(r, b.Muted);
        b.SkewedCount = r.Read7BitEncodedInt();
        long skewed = r.ReadInt64();
        b.SkewedLatestTime = skewed == 0 ? null : Time(skewed);
        b.LateCount = r.Read7BitEncodedInt();
        b.LateMaxDelay = TimeSpan.FromTicks(r.ReadInt64());
        b.LastArrivalAt = Time(r.ReadInt64());
        int alerts = r.Read7BitEncodedInt();
        for (int i = 0; i < alerts; i++) b.AlertIds.Add(r.ReadString());
        ReadChangeCounts(r, b);
        int lanes = r.Read7BitEncodedInt();
        for (int i = 0; i < lanes; i++)
        {
            var kind = (ActorKind)r.ReadByte();
            var name = r.ReadString();
            var lane = new ChangeCounts();
            ReadChangeCounts(r, lane);
            b.Lanes[(kind, name)] = lane;
        }
        return b;
    }

    private static void ReadChangeCounts(BinaryReader r, ChangeCounts b)
    {
        b.FirstEventTime = Time(r.ReadInt64());
        b.LastEventTime = Time(r.ReadInt64());
        b.EventCount = r.Read7BitEncodedInt();
        b.ErrorCount = r.Read7BitEncodedInt();
        b.ReadOnlyCount = r.Read7BitEncodedInt();
        b.RiskyCount = r.Read7BitEncodedInt();
        foreach (var counter in Counters) ReadCounts(r, b.Counts, counter);
        int risky = r.Read7BitEncodedInt();
        for (int i = 0; i < risky; i++) b.Risky.Add(CodecFields.ReadRisky(r, Time));
        int failures = r.Read7BitEncodedInt();
        for (int i = 0; i < failures; i++)
        {
            var failure = CodecFields.ReadFailure(r);
            b.Failures[(failure.EventName, failure.ErrorCode, failure.Principal)] = failure;
        }
    }

    // The order is the format: append new counters at the end only (and bump the caller's state version).
    private static readonly Counter[] Counters =
        [Counter.EventNames, Counter.Principals, Counter.Regions, Counter.Sources, Counter.DetailTypes, Counter.ErrorCodes, Counter.SourceIps];

    private static void WriteCounts(BinaryWriter w, CountTable counts, Counter counter)
    {
        w.Write7BitEncodedInt(counts.NamesIn(counter));
        foreach (var (key, count) in counts.Of(counter))
        {
            w.Write(key);
            w.Write7BitEncodedInt(count);
        }
    }

    private static void WriteCounts(BinaryWriter w, Dictionary<string, int> counts)
    {
        w.Write7BitEncodedInt(counts.Count);
        foreach (var (key, count) in counts)
        {
            w.Write(key);
            w.Write7BitEncodedInt(count);
        }
    }

    private static void ReadCounts(BinaryReader r, Dictionary<string, int> counts)
    {
        int n = r.Read7BitEncodedInt();
        for (int i = 0; i < n; i++) counts[r.ReadString()] = r.Read7BitEncodedInt();
    }

    private static void ReadCounts(BinaryReader r, CountTable counts, Counter counter)
    {
        int n = r.Read7BitEncodedInt();
        for (int i = 0; i < n; i++) counts.Set(counter, r.ReadString(), r.Read7BitEncodedInt());
    }

    private static void WriteOptional(BinaryWriter w, string? value) => CodecFields.WriteOptional(w, value);

    private static string? ReadOptional(BinaryReader r) => CodecFields.ReadOptional(r);

    private static DateTimeOffset Time(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
