using Pipeline.Slack.Rendering;

namespace Pipeline.Slack.Tests.Rendering;

public sealed class CloudTrailConsoleLinkTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);

    [Fact]
    public void Link_covers_the_span_with_a_minute_either_side()
    {
        Assert.Equal("https://eu-west-1.console.aws.amazon.com/cloudtrail/home?region=eu-west-1#/events?StartTime=2026-11-25T14:01:00.000Z&EndTime=2026-11-25T14:21:00.000Z",
            CloudTrailConsoleLink.EventHistory("eu-west-1", Start, Start.AddMinutes(17).AddSeconds(29)));
    }

    [Fact]
    public void Times_are_converted_to_utc()
    {
        var local = new DateTimeOffset(2026, 11, 25, 16, 2, 11, TimeSpan.FromHours(2));
        Assert.Contains("StartTime=2026-11-25T14:01:00.000Z", CloudTrailConsoleLink.EventHistory("us-east-1", local, local), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("us-east-1\n", false)] // $ would have let a final newline through
    [InlineData("us-east-1 ", false)]
    [InlineData("US-EAST-1", false)]
    [InlineData("eu-central-2", true)]
    [InlineData("us-gov-west-1", true)]
    public void Regions_are_validated_strictly(string region, bool valid)
    {
        Assert.Equal(valid, CloudTrailConsoleLink.IsRegion(region));
        if (!valid) Assert.DoesNotContain(region, CloudTrailConsoleLink.EventHistory(region, Start, Start), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cn-north-1", "https://cn-north-1.console.amazonaws.cn/cloudtrail/home?region=cn-north-1#")]
    [InlineData("us-gov-west-1", "https://console.amazonaws-us-gov.com/cloudtrail/home?region=us-gov-west-1#")]
    [InlineData("evil.com/x?", "https://us-east-1.console.aws.amazon.com/cloudtrail/home?region=us-east-1#")]
    public void Partition_decides_the_console_host_and_odd_regions_fall_back(string region, string prefix)
    {
        Assert.StartsWith(prefix, CloudTrailConsoleLink.EventHistory(region, Start, Start), StringComparison.Ordinal);
    }
}
