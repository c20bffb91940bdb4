using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.Slack.Rendering;

/// <summary>
/// Link to the CloudTrail console's Event history, filtered to a time span, for one region. Event history is
/// per region and per account: the link opens in whichever account the reader is signed in to, which is why
/// the digest header names the account id.
/// </summary>
internal static partial class CloudTrailConsoleLink
{
    /// <summary>Event history only resolves to the minute; a minute either side keeps edge events in view.</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

    public static string EventHistory(string region, DateTimeOffset start, DateTimeOffset end)
    {
        if (!RegionPattern().IsMatch(region)) region = "us-east-1";
        if (end < start) (start, end) = (end, start);
        var from = Floor(start.ToUniversalTime()) - Margin;
        var to = Floor(end.ToUniversalTime()) + Margin + Margin;
        // Console host by partition: China and GovCloud have their own consoles.
        string host = region.StartsWith("cn-", StringComparison.Ordinal) ? $"{region}.console.amazonaws.cn"
            : region.StartsWith("us-gov-", StringComparison.Ordinal) ? "console.amazonaws-us-gov.com"
            : $"{region}.console.aws.amazon.com";
        return $"https://{host}/cloudtrail/home?region={region}#/events?StartTime={Iso(from)}&EndTime={Iso(to)}";
    }

    public static bool IsRegion(string? region) => region is not null && RegionPattern().IsMatch(region);

    private static DateTimeOffset Floor(DateTimeOffset t) => new(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero);

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Region names only (us-east-1, ap-southeast-2, us-gov-west-1): the region ends up inside a URL.</summary>
    // \z, not $: in .NET, $ also matches before a final newline, and "us-east-1\n" would pass.
    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}\\z")]
    private static partial Regex RegionPattern();
}
