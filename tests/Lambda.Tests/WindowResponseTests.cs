using System.Text;
using System.Text.Json;
using Pipeline.Lambda.Windows;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The response is written once per state: measured against the budget, then sent, from the same bytes; a copy with
/// another state is written afresh.
/// </summary>
public sealed class WindowResponseTests
{
    private static Dictionary<string, string> State(string value) => new(StringComparer.Ordinal) { ["digests.v3"] = value, ["a"] = "1" };

    [Fact]
    public void The_JSON_is_written_once_and_a_copy_with_the_same_state_sends_the_same_bytes()
    {
        var measured = new WindowResponse(State(new string('x', 300_000)), []);
        int size = measured.SizeInBytes();
        var sent = measured with { Summary = null };
        Assert.Same(measured.ToJson(), sent.ToJson());
        Assert.Equal(size, sent.ToJson().Length);
    }

    [Fact]
    public void A_copy_with_another_state_or_other_failures_is_written_afresh()
    {
        var first = new WindowResponse(State("one"), []);
        var json = first.ToJson();
        var other = first with { State = State("two") };
        var failed = first with { BatchItemFailures = ["49590338271490256608559692538361571095921575989136588898"] };

        Assert.Equal("one", Read(json).GetProperty("state").GetProperty("digests.v3").GetString());
        Assert.Equal("two", Read(other.ToJson()).GetProperty("state").GetProperty("digests.v3").GetString());
        Assert.Equal("49590338271490256608559692538361571095921575989136588898",
            Read(failed.ToJson()).GetProperty("batchItemFailures")[0].GetProperty("itemIdentifier").GetString());
        Assert.Equal(other.ToJson().Length, other.SizeInBytes());
    }

    [Fact]
    public void Values_that_need_escaping_outgrow_the_estimate_and_still_read_back_as_they_were()
    {
        // Quotes, a control character and non-ASCII text take more bytes than characters: the one buffer grows. The value
        // is written in segments of 8,192 characters: at seven characters a repeat, the third segment ends inside a surrogate pair.
        var value = string.Concat(Enumerable.Repeat("\"é\u0001<x\U0001F600", 5_000));
        Assert.True(char.IsHighSurrogate(value[3 * 8_192 - 1]));
        var response = new WindowResponse(State(value), []);
        var json = response.ToJson();
        Assert.True(json.Length > value.Length * 2, $"{json.Length} bytes");
        Assert.Equal(value, Read(json).GetProperty("state").GetProperty("digests.v3").GetString());
        Assert.Equal(json.Length, response.SizeInBytes());
    }

    [Fact]
    public void Writing_the_JSON_changes_neither_equality_nor_the_hash()
    {
        var state = State("one");
        var written = new WindowResponse(state, []);
        var fresh = written with { };
        int hash = written.GetHashCode();
        written.ToJson();
        var other = new WindowResponse(state, written.BatchItemFailures);
        Assert.Equal(written, other);
        Assert.Equal(hash, written.GetHashCode());
        Assert.Equal(other.GetHashCode(), written.GetHashCode());
        Assert.Equal(fresh, written);
        Assert.NotEqual(written, written with { State = State("two") });
    }

    [Fact]
    public void No_state_writes_no_state_object()
    {
        var json = Encoding.UTF8.GetString(new WindowResponse(null, []).ToJson());
        Assert.Equal("""{"batchItemFailures":[]}""", json);
    }

    private static JsonElement Read(byte[] json) => JsonDocument.Parse(json).RootElement;
}
