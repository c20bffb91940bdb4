using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// The binary forms of the records a burst and a digest share (account info, risky events, failures), written and read
/// alike by <see cref="BurstStateCodec"/> (carries, window state) and <see cref="DigestCodec"/> (held digests).
/// The order of the fields is the format.
/// </summary>
internal static class CodecFields
{
    public static void WriteOptional(BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    public static string? ReadOptional(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    public static void WriteAccountInfo(BinaryWriter w, AccountInfo? info)
    {
        w.Write(info is not null);
        if (info is null) return;
        w.Write(info.Id);
        w.Write(info.Name);
        WriteOptional(w, info.State);
        WriteOptional(w, info.Environment);
        WriteOptional(w, info.Owner);
        WriteOptional(w, info.SlackChannel);
    }

    public static AccountInfo? ReadAccountInfo(BinaryReader r) => !r.ReadBoolean() ? null :
        new AccountInfo(r.ReadString(), r.ReadString())
        {
            State = ReadOptional(r),
            Environment = ReadOptional(r),
            Owner = ReadOptional(r),
            SlackChannel = ReadOptional(r),
        };

    public static void WriteRisky(BinaryWriter w, RiskyEvent risky)
    {
        w.Write(risky.EventName);
        WriteOptional(w, risky.Principal);
        w.Write(risky.EventTime.UtcTicks);
        w.Write(risky.Reason);
        w.Write((byte)risky.Severity);
        WriteOptional(w, risky.Target);
        WriteOptional(w, risky.SourceIp);
        WriteOptional(w, risky.ErrorCode);
        w.Write(risky.Region);
    }

    public static RiskyEvent ReadRisky(BinaryReader r, Func<long, DateTimeOffset> time) => new(
        EventName: r.ReadString(),
        Principal: ReadOptional(r),
        EventTime: time(r.ReadInt64()),
        Reason: r.ReadString(),
        Severity: (RiskSeverity)r.ReadByte(),
        Target: ReadOptional(r),
        SourceIp: ReadOptional(r),
        ErrorCode: ReadOptional(r),
        Region: r.ReadString());

    public static void WriteFailure(BinaryWriter w, FailedCall failure)
    {
        w.Write(failure.EventName);
        WriteOptional(w, failure.Principal);
        w.Write(failure.ErrorCode);
        WriteOptional(w, failure.ErrorMessage);
        w.Write7BitEncodedInt(failure.Count);
    }

    public static FailedCall ReadFailure(BinaryReader r) =>
        new(r.ReadString(), ReadOptional(r), r.ReadString(), ReadOptional(r), r.Read7BitEncodedInt());
}
