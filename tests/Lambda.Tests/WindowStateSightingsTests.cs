using System.Buffers.Text;
using System.IO.Compression;
using Pipeline.Aggregator.Silence;
using Pipeline.Lambda.Windows;

namespace Pipeline.Lambda.Tests;

/// <summary>The window's sightings ride in its state as a trailer: they round-trip, and a state written without them still reads.</summary>
public sealed class WindowStateSightingsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Sightings_round_trip_through_the_window_state()
    {
        Sighting[] sightings = [new("111111111111", "us-east-1", T0, T0.AddMinutes(9), 42), new("222222222222", "eu-west-1\u001b", T0.AddSeconds(1), T0.AddSeconds(1), 1)];
        var state = WindowState.Empty(T0) with { Claimed = ["111111111111"], Sightings = sightings };

        var read = WindowStateCodec.Decode(WindowStateCodec.Encode(state))!;

        Assert.Equal(sightings, read.Sightings);
        Assert.Equal(["111111111111"], read.Claimed);
    }

    [Fact]
    public void A_state_written_before_sightings_reads_as_none()
    {
        var state = WindowState.Empty(T0) with { Claimed = ["111111111111"], Sightings = [new("111111111111", "us-east-1", T0, T0, 3)] };
        var encoded = WindowStateCodec.Encode(state);
        // Cut the trailer off, as the format was before it: the claimed account's string is the last thing left.
        var packed = Base64Url.DecodeFromChars(encoded[WindowStateCodec.Key]);
        using var plain = new MemoryStream();
        using (var z = new ZLibStream(new MemoryStream(packed), CompressionMode.Decompress)) z.CopyTo(plain);
        int trailer = 1 + 1 + "111111111111".Length + 1 + "us-east-1".Length + 8 + 8 + 8; // count, account, region, first, last, count
        using var repacked = new MemoryStream();
        using (var z = new ZLibStream(repacked, CompressionLevel.Fastest, leaveOpen: true)) z.Write(plain.GetBuffer(), 0, (int)plain.Length - trailer);
        var old = new Dictionary<string, string> { [WindowStateCodec.Key] = Base64Url.EncodeToString(repacked.ToArray()) };

        var read = WindowStateCodec.Decode(old)!;

        Assert.Empty(read.Sightings);
        Assert.Equal(["111111111111"], read.Claimed);
    }
}
