using System.Globalization;
using System.Text;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Enricher.Tests.Parsing;

/// <summary>The parser's shortcuts (one-pass field scan, string cache, timestamp fast path) must read exactly what the general path reads.</summary>
public sealed class FastPathTests
{
    private static Pipeline.Enricher.Model.OrgEvent Parse(string json)
    {
        Assert.True(EventParser.TryParse(Encoding.UTF8.GetBytes(json), out var parsed, out var reason), reason);
        using (parsed) return parsed!.Event;
    }

    [Theory]
    [InlineData("2024-05-01T10:00:03Z")]
    [InlineData("2024-05-01T10:00:03.5Z")]
    [InlineData("2024-05-01T10:00:03.123Z")]
    [InlineData("2024-05-01T10:00:03.1234567Z")]
    [InlineData("2024-02-29T23:59:59Z")]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:59.9999999Z")]
    public void Aws_timestamps_read_by_the_fast_path_equal_the_general_parser(string text)
    {
        Assert.True(EventTime.TryParseAwsFormat(text, out var fast));
        var general = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        Assert.Equal(general, fast);
        Assert.Equal(general.Offset, fast.Offset);
    }

    [Theory]
    [InlineData("2023-02-29T10:00:00Z")]     // no such day: the general parser rejects it too
    [InlineData("2024-05-01T24:00:00Z")]
    [InlineData("2024-05-01T10:00:60Z")]
    [InlineData("2024-13-01T10:00:00Z")]
    [InlineData("2024-05-01T10:00:03.Z")]
    [InlineData("2024-05-01T10:00:03.123456789Z")] // nanoseconds: left to the general path, which trims them
    [InlineData("2024-05-01 10:00:03Z")]
    [InlineData("2024-05-01T10:00:03+00:00")]
    [InlineData("2024-05-01T10:00:03z")]
    [InlineData("2024-0a-01T10:00:03Z")]
    public void Other_forms_are_left_to_the_general_parser(string text) =>
        Assert.False(EventTime.TryParseAwsFormat(text, out _));

    [Fact]
    public void Nanosecond_timestamps_still_parse_through_the_general_path()
    {
        Assert.True(EventTime.TryParse("2024-05-01T10:00:03.123456789Z", out var time));
        // Rounded to 100 ns, as .NET's parser does.
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 10, 0, 3, TimeSpan.Zero).AddTicks(1234568), time);
    }

    [Fact]
    public void Duplicate_property_names_read_the_last_occurrence_as_TryGetProperty_does()
    {
        var evt = Parse("""{"eventName":"A","eventName":"B","eventSource":"s3.amazonaws.com","recipientAccountId":"123456789012","eventTime":"2024-05-01T10:00:03Z","userIdentity":{"type":"Root","type":"IAMUser","userName":"alice"}}""");
        Assert.Equal("B", evt.CloudTrail!.EventName);
        Assert.Equal("user/alice", evt.Principal);
    }

    [Fact]
    public void Escaped_property_names_and_values_are_read_unescaped()
    {
        var evt = Parse("""{"event\u004eame":"Get\u004fbject","eventSource":"s3.amazonaws.com","recipientAccountId":"123456789012","eventTime":"2024-05-01T10:00:03Z","awsRegion":"eu-west-\u0031"}""");
        Assert.Equal("GetObject", evt.CloudTrail!.EventName);
        Assert.Equal("eu-west-1", evt.Region);
    }

    [Fact]
    public void Target_is_the_first_key_in_priority_order_with_a_string_value()
    {
        // roleName outranks name; bucketName outranks both but is not a string, so it is skipped.
        var evt = Parse("""{"eventName":"X","eventSource":"iam.amazonaws.com","recipientAccountId":"123456789012","eventTime":"2024-05-01T10:00:03Z","requestParameters":{"name":"n","roleName":"r","bucketName":{"x":1}}}""");
        Assert.Equal("r", evt.CloudTrail!.Target);
    }

    [Fact]
    public void Cached_strings_are_shared_and_equal_to_their_bytes()
    {
        var cache = new StringCache(16);
        var first = cache.Get("eu-west-1"u8);
        var second = cache.Get("eu-west-1"u8);
        Assert.Equal("eu-west-1", first);
        Assert.Same(first, second);
        Assert.Same(first, cache.Get("eu-west-1".AsSpan()));
        Assert.Equal("é", cache.Get("é"u8)); // non-ASCII: decoded, not kept
    }

    [Fact]
    public void String_cache_stays_bounded_under_many_distinct_values()
    {
        var cache = new StringCache(16);
        for (int i = 0; i < 10_000; i++)
            Assert.Equal("value-" + i, cache.Get(Encoding.ASCII.GetBytes("value-" + i)));
        // Still correct after every slot has been overwritten many times.
        Assert.Equal("value-42", cache.Get("value-42"u8));
    }
}
