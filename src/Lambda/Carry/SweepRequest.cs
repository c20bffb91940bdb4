using System.Text;
using System.Text.Json;

namespace Pipeline.Lambda.Carry;

/// <summary>The sweeper's invocation: the schedule sends <c>{"action":"sweep"}</c>; anything else is a Kinesis batch.</summary>
internal static class SweepRequest
{
    public const string Json = """{"action":"sweep"}""";

    /// <summary>
    /// Whether the body is the sweeper's request: its first top-level <c>"action"</c> is <c>"sweep"</c>. The function
    /// decides this while it reads a batch (<see cref="Windows.KinesisWindowEvent.ParseInPlaceOrSweep"/>), by this rule.
    /// </summary>
    public static bool IsSweep(ReadOnlyMemory<byte> body)
    {
        // Only a property named "action" makes a sweep, and its name is in the bytes between quotes, or written with an
        // escape (a backslash). A Kinesis batch has neither, and reading it through (megabytes of JSON) to find no
        // "action" cost as much as reading its records; two byte searches give the same answer in a fraction of the time.
        if (body.Span.IndexOf("\"action\""u8) < 0 && body.Span.IndexOf((byte)'\\') < 0) return false;
        try
        {
            var reader = new Utf8JsonReader(body.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isAction = reader.ValueTextEquals("action"u8);
                if (!reader.Read()) return false;
                if (isAction) return reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("sweep"u8);
                reader.Skip();
            }
            return false;
        }
        catch (JsonException)
        {
            return false; // not JSON: the Kinesis parser says what is wrong with it
        }
    }

    public static byte[] ResponseJson(SweepResult result)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("due", result.Due);
            w.WriteNumber("swept", result.Swept);
            w.WriteNumber("conflicts", result.Conflicts);
            w.WriteNumber("digestsPosted", result.DigestsPosted);
            w.WriteNumber("digestsAlreadyPosted", result.DigestsAlreadyPosted);
            w.WriteNumber("digestsHeld", result.DigestsHeld);
            w.WriteNumber("alertsPosted", result.AlertsPosted);
            if (result.Rollups is { } r)
            {
                w.WriteNumber("heldReleased", r.Released);
                w.WriteNumber("heldWaiting", r.Waiting);
                w.WriteNumber("rollupsPosted", r.RollupsPosted);
                w.WriteNumber("rollupDigestsPosted", r.DigestsPosted);
                w.WriteNumber("rollupDigestsFolded", r.Folded);
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
