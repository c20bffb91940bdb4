using System.Globalization;
using System.Text;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Parsing;

/// <summary>The parser's shortcuts (one-pass field scan, string cache, timestamp fast path) must read exactly what the general path reads.</summary>
public sealed class FastPathTests
{
    private static OrgEvent Parse(string json)
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

    [Theory]
    [InlineData(0L)]                 // whole seconds: no fraction written
    [InlineData(1_230_000L)]         // milliseconds
    [InlineData(1_234_567L)]         // ticks below a millisecond: still three digits, as Format writes them
    [InlineData(-1L)]                // the last tick of a second
    public void Times_formatted_as_bytes_are_the_formatted_texts_bytes(long ticksIntoSecond)
    {
        var times = new[] { DateTimeOffset.UnixEpoch, new DateTimeOffset(2026, 11, 24, 9, 0, 7, TimeSpan.FromHours(2)), EventTime.Earliest, EventTime.Latest.AddSeconds(-1) };
        Span<byte> bytes = stackalloc byte[40];
        foreach (var second in times)
        {
            var time = ticksIntoSecond >= 0 ? second.AddTicks(ticksIntoSecond) : second.AddSeconds(1).AddTicks(-1);
            Assert.True(EventTime.TryFormatUtf8(time, bytes, out int written));
            Assert.Equal(EventTime.Format(time), System.Text.Encoding.UTF8.GetString(bytes[..written]));
        }
    }

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
    public void A_long_value_is_kept_only_by_a_cache_made_for_long_values()
    {
        var message = Encoding.ASCII.GetBytes("User: arn:aws:sts::123456789012:assumed-role/deployer/ci is not authorized " + new string('x', 400));
        var names = new StringCache(16);
        Assert.NotSame(names.Get(message), names.Get(message)); // past 256 characters: decoded every time
        var messages = new StringCache(16, maxLength: 2048);
        var first = messages.Get(message);
        Assert.Equal(Encoding.ASCII.GetString(message), first);
        Assert.Same(first, messages.Get(message));
        Assert.NotSame(messages.Get(new byte[2049]), messages.Get(new byte[2049]));
    }

    [Fact]
    public void Error_messages_of_retried_calls_share_one_string()
    {
        // As CloudTrail writes them: the caller's ARN, the action and the resource, ~300 characters.
        const string Message = "User: arn:aws:sts::123456789012:assumed-role/deployer/ci is not authorized to perform: s3:PutBucketPolicy on " +
            "resource: arn:aws:s3:::example-logs-123456789012 with an explicit deny in a service control policy: " +
            "arn:aws:organizations::111111111111:policy/o-exampleorgid/service_control_policy/p-examplepolicyid111";
        OrgEvent Refused()
        {
            var envelope = Events.ApiCall(errorCode: "AccessDenied");
            envelope["detail"]!["errorMessage"] = Message;
            return Parse(envelope.Line());
        }
        var (first, retry) = (Refused(), Refused());
        Assert.Equal(Message, first.CloudTrail!.ErrorMessage);
        Assert.Same(first.CloudTrail.ErrorMessage, retry.CloudTrail!.ErrorMessage);
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
