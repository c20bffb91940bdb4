using System.Text.Json.Nodes;

namespace Pipeline.TestSupport;

/// <summary>One event of a generated organisation stream: its account, its own time and its envelope.</summary>
public sealed record OrgStreamEvent(string Account, DateTimeOffset Time, JsonObject Envelope)
{
    public string Line => Envelope.ToJsonString();
}

/// <summary>
/// A synthetic organisation: accounts that act in bursts (calls a few seconds apart) separated by quiet spells, as
/// deploys and console sessions do. Deterministic for a seed. Spacing inside a burst stays below a quarter of
/// <paramref name="gap"/> and quiet spells above three gaps, so every host, clock and lag the time model promises to
/// absorb must find exactly the same bursts.
/// </summary>
public static class OrgStream
{
    public static IReadOnlyList<OrgStreamEvent> Generate(int accounts, TimeSpan length, TimeSpan gap, int seed = 7, DateTimeOffset? start = null)
    {
        var random = new Random(seed);
        var origin = start ?? Events.T0;
        var events = new List<OrgStreamEvent>();
        long unit = Math.Max(1, gap.Ticks / 20); // times are whole multiples of 1/20 of the gap
        for (int a = 0; a < accounts; a++)
        {
            var account = (100000000000L + a * 7919L).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var t = origin + TimeSpan.FromTicks(unit * random.Next(0, 60));
            int n = 0;
            while (t < origin + length)
            {
                int size = random.Next(2, 15);
                for (int i = 0; i < size && t < origin + length; i++)
                {
                    var when = Whole(t);
                    var envelope = Events.ApiCall(account: account, time: when, eventName: Names[random.Next(Names.Length)],
                        eventId: $"{account}-{n++}", envelopeId: $"env-{account}-{n}");
                    WithTime(envelope, when);
                    events.Add(new OrgStreamEvent(account, when, envelope));
                    t += TimeSpan.FromTicks(unit * random.Next(1, 5)); // at most 4/20 of the gap apart
                }
                t += TimeSpan.FromTicks(unit * random.Next(60, 200)); // 3 to 10 gaps of quiet
            }
        }
        // Stable order: by time, then account, then the order generated.
        return [.. events.Select((e, i) => (e, i)).OrderBy(x => x.e.Time).ThenBy(x => x.e.Account, StringComparer.Ordinal).ThenBy(x => x.i).Select(x => x.e)];
    }

    /// <summary>Sets an envelope's time (and its CloudTrail eventTime) to <paramref name="time"/>, to the millisecond.</summary>
    public static JsonObject WithTime(JsonObject envelope, DateTimeOffset time)
    {
        var text = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        envelope["time"] = text;
        if (envelope["detail"] is JsonObject detail && detail.ContainsKey("eventTime")) detail["eventTime"] = text;
        return envelope;
    }

    // Times are kept to the millisecond, as the envelopes write them.
    private static DateTimeOffset Whole(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    private static readonly string[] Names = ["CreateTags", "PutObject", "RunInstances", "UpdateFunctionCode", "PutRolePolicy", "DescribeInstances", "AttachRolePolicy"];
}
