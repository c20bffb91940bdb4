using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Slack.Tests.Rendering;

/// <summary>Digests for the Slack rendering and delivery tests.</summary>
internal static class SampleDigests
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);

    public static Digest Quiet(string account = "111122223333", string? name = "prod-payments", int events = 12, string? id = null) =>
        Digests.Plain(id ?? $"{account}-{T0.ToUnixTimeSeconds()}", account, T0, closed: default, events) with
        {
            AccountInfo = name is null ? null : new AccountInfo(account, name) { Environment = "prod", Owner = "team-payments" },
            LastEventTime = T0.AddMinutes(17).AddSeconds(29),
            EventNames = [new("RunInstances", events)],
            Principals = [new("role/Deploy/ci", events)],
            Regions = [new("eu-west-1", events)],
            Sources = [new("ec2.amazonaws.com", events)],
            DetailTypes = [new("AWS API Call via CloudTrail", events)],
        };

    /// <summary>A busy burst with risky events, failures, muted and duplicate counts: every section of the message.</summary>
    public static Digest Busy(string account = "111122223333", string? id = null) => Quiet(account, id: id) with
    {
        EventCount = 1_234,
        ErrorCount = 12,
        ReadOnlyCount = 300,
        EventNames = [new("RunInstances", 700), new("CreateTags", 300), new("PutBucketPolicy", 100), new("AuthorizeSecurityGroupIngress", 80), new("StopLogging", 1), new("AssumeRole", 40), new("GetObject", 13)],
        Principals = [new("role/Deploy/ci", 1_100), new("user/bob", 120), new("root", 14)],
        Regions = [new("eu-west-1", 1_000), new("us-east-1", 234)],
        Sources = [new("ec2.amazonaws.com", 1_080), new("s3.amazonaws.com", 113), new("cloudtrail.amazonaws.com", 1), new("sts.amazonaws.com", 40)],
        ErrorCodes = [new("AccessDenied", 10), new("Client.UnauthorizedOperation", 2)],
        SourceIps = [new("203.0.113.5", 1_100), new("198.51.100.7", 134)],
        Risky =
        [
            new("StopLogging", "root", T0.AddMinutes(1), "CloudTrail logging stopped", RiskSeverity.Critical, "org-trail", "203.0.113.5", null, "us-east-1"),
            new("AuthorizeSecurityGroupIngress", "role/Deploy/ci", T0.AddMinutes(3), "Ingress opened to 0.0.0.0/0", RiskSeverity.High, "sg-0123", "203.0.113.5", null, "eu-west-1"),
            new("PutBucketPolicy", "user/bob", T0.AddMinutes(4), "Bucket policy grants to everyone", RiskSeverity.High, "payments-exports", "198.51.100.7", "AccessDenied", "eu-west-1"),
        ],
        RiskyCount = 3,
        Failures = [new("PutBucketPolicy", "user/bob", "AccessDenied", "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: s3:PutBucketPolicy", 10)],
        Muted = [new("ci-describe-noise", 40), new("config-recorder", 7)],
        Duplicates = 5,
    };

    /// <summary>A digest of <paramref name="events"/> events with long lists everywhere (the 100,000-event case).</summary>
    public static Digest Huge(int events = 100_000, int distinct = 5_000, string? hostile = null)
    {
        string V(string kind, int i) => hostile is null ? $"{kind}{i}" : $"{hostile}{kind}{i}{hostile}";
        List<KeyValuePair<string, int>> List(string kind) =>
            Enumerable.Range(0, distinct).Select(i => new KeyValuePair<string, int>(V(kind, i), Math.Max(1, events / distinct))).ToList();
        var longText = string.Concat(Enumerable.Repeat(hostile ?? "x", 2_000));
        return Busy() with
        {
            EventCount = events,
            ErrorCount = events / 10,
            EventNames = List("Action"),
            Principals = List("role/Principal/"),
            Regions = List("region-"),
            Sources = List("source"),
            DetailTypes = List("type"),
            ErrorCodes = List("Error"),
            SourceIps = List("ip"),
            Risky = Enumerable.Range(0, 500).Select(i => new RiskyEvent(longText, longText, T0.AddSeconds(i), longText, RiskSeverity.Critical, longText, longText, longText, longText)).ToList(),
            RiskyCount = 20_000,
            Failures = Enumerable.Range(0, 200).Select(i => new FailedCall(longText, longText, longText, longText, i + 1)).ToList(),
            Muted = List("rule"),
            Duplicates = 42_000,
            AccountInfo = new AccountInfo("111122223333", longText) { Environment = longText, Owner = longText, State = longText },
            DigestId = longText,
        };
    }
}
