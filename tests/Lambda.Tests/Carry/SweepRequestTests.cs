using System.Text;
using System.Text.Json;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>
/// The sweep is told from a batch without reading the batch through when no property can be named "action": the
/// answer is the one a full reading gives, on the schedule's request, escaped names, batches and mutations of both.
/// </summary>
public sealed class SweepRequestTests
{
    [Theory]
    [InlineData("""{"action":"sweep"}""", true)]
    [InlineData("""  {"action" : "sweep" , "extra":1}""", true)]
    [InlineData("""{"\u0061ction":"swe\u0065p"}""", true)]
    [InlineData("""{"Records":[{"kinesis":{"data":"QUJD"}}],"action":"sweep"}""", true)]
    [InlineData("""{"action":"sweep",""", true)]
    [InlineData("""{"action":"other","action":"sweep"}""", false)]
    [InlineData("""{"Records":[{"kinesis":{"data":"QUJD"}}]}""", false)]
    [InlineData("""{"Records":[{"kinesis":{"data":"YWN0aW9u\u002B"}}]}""", false)]
    [InlineData("""{"nested":{"action":"sweep"}}""", false)]
    [InlineData("""["action","sweep"]""", false)]
    [InlineData("not json", false)]
    [InlineData("", false)]
    public void A_request_is_a_sweep_as_a_full_reading_says(string json, bool sweep)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.Equal(sweep, SweepRequest.IsSweep(body));
        Assert.Equal(sweep, FullReading(body));
        Assert.Equal(sweep.ToString(), Outcome(SweepWhileReading, body));
    }

    [Fact]
    public void Mutated_requests_and_batches_are_told_apart_as_a_full_reading_tells_them()
    {
        var mutator = new Mutator(new Random(20261202));
        byte[][] seeds =
        [
            Encoding.UTF8.GetBytes(SweepRequest.Json),
            new KinesisBatch().Add(Events.ApiCall(account: "111111111111", time: Events.T0)).ToJson(),
            """{"Records":[],"action":"sweep","window":{"start":"2026-11-24T09:00:00Z"}}"""u8.ToArray(),
        ];
        for (int i = 0; i < 3000; i++)
        {
            var log = new List<string>();
            var input = mutator.MutateBytes(mutator.Pick(seeds), log);
            var expected = Outcome(FullReading, input);
            Assert.True(expected == Outcome(b => SweepRequest.IsSweep(b), input), $"mutation {i}: {string.Join("; ", log)}\n{Encoding.UTF8.GetString(input)}");
            // The function's one reading ends as the check followed by the batch's reading did, except that a property
            // name that is not text is passed over there.
            if (!HasNameThatIsNotText(input))
            {
                var before = Ending(() => FullReading(input) ? "sweep" : Describe(KinesisWindowEvent.Parse(input)));
                var now = Ending(() => KinesisWindowEvent.ParseInPlaceOrSweep(input.ToArray()) is { } evt ? Describe(evt) : "sweep");
                Assert.True(before == now, $"mutation {i}: {before} vs {now}: {string.Join("; ", log)}\n{Encoding.UTF8.GetString(input)}");
            }
        }
    }

    /// <summary>The decision as the function takes it, in its one reading of the body; anything but a sweep is a batch (or not an event).</summary>
    private static bool SweepWhileReading(byte[] body)
    {
        try
        {
            return KinesisWindowEvent.ParseInPlaceOrSweep(body.ToArray()) is null;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string Describe(KinesisWindowEvent evt) =>
        $"batch of {evt.Records.Count} in {evt.ShardId}: " + string.Join(",", evt.Records.Select(r => r.SequenceNumber + "/" + r.ReadError + "/" + Convert.ToHexString(r.Data.Span)));

    private static string Ending(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            return e.GetType().Name;
        }
    }

    private static bool HasNameThatIsNotText(byte[] json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName) reader.GetString();
            }
            return false;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>true, false, or the exception (a name that is not text, an escaped lone surrogate, throws in both).</summary>
    private static string Outcome(Func<byte[], bool> isSweep, byte[] body)
    {
        try
        {
            return isSweep(body).ToString();
        }
        catch (InvalidOperationException e)
        {
            return e.GetType().Name;
        }
    }

    /// <summary>The check as it was, reading every property until the first "action".</summary>
    private static bool FullReading(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
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
            return false;
        }
    }
}
