using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Pipeline.Aggregator.Bursts;
using Pipeline.Slack.Rendering;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests.Rendering;

/// <summary>Random digests full of hostile text always give payloads Slack accepts and that cannot mention or link.</summary>
public sealed class SlackRenderingProperties
{
    private static readonly string[] Hostile =
    [
        "<!channel>", "<!here>", "<!everyone>", "<@U012AB3CD>", "<#C012AB3CD>", "<https://evil.example|click>",
        "&", "&amp;", "&lt;", "<", ">", "`", "*", "_", "~", "\n", "\r\n", "\t", "\u202E", "\u200B", "\uD83D\uDE00",
        "\uD800", "\uDC00", "|", "'", "\"", "\\", "\0", "🔥", "é", "<<<>>>", "&&&&", "https://evil.example",
        "*evil*", "_evil_", "~evil~", ":evil:", "@here", "@channel", "evil.example", "x:evil:y", " _evil_ ", "*", ":",
    ];

    private static Gen<string> HostileString(int maxPieces) =>
        from pieces in Gen.Choose(0, maxPieces)
        from parts in Gen.ArrayOf(Gen.OneOf(Gen.Elements(Hostile), ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "")), pieces)
        select string.Concat(parts);

    private static Gen<string> LongOrShort => Gen.Frequency(
        (12, HostileString(6)),
        (1, from s in HostileString(3) from n in Gen.Choose(100, 2_500) select string.Concat(Enumerable.Repeat(s.Length == 0 ? "<" : s, n))));

    private static Gen<List<KeyValuePair<string, int>>> Counts =>
        from n in Gen.Frequency((5, Gen.Choose(0, 8)), (1, Gen.Choose(9, 200)))
        from keys in Gen.ArrayOf(LongOrShort, n)
        from counts in Gen.ArrayOf(Gen.Choose(1, 1_000_000), n)
        select keys.Zip(counts, (k, c) => new KeyValuePair<string, int>(k, c)).ToList();

    private static Gen<string?> MaybeNull(Gen<string> g) => Gen.Frequency((1, Gen.Constant<string?>(null)), (4, g.Select(s => (string?)s)));

    private static Gen<RiskyEvent> Risky =>
        from name in LongOrShort
        from principal in MaybeNull(LongOrShort)
        from seconds in Gen.Choose(0, 86_400)
        from reason in LongOrShort
        from severity in Gen.Elements(RiskSeverity.Medium, RiskSeverity.High, RiskSeverity.Critical)
        from target in MaybeNull(LongOrShort)
        from ip in MaybeNull(LongOrShort)
        from error in MaybeNull(LongOrShort)
        from region in Gen.OneOf(Gen.Elements("us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"), LongOrShort)
        select new RiskyEvent(name, principal, SampleDigests.T0.AddSeconds(seconds), reason, severity, target, ip, error, region);

    private static Gen<FailedCall> Failure =>
        from name in LongOrShort
        from principal in MaybeNull(LongOrShort)
        from code in LongOrShort
        from message in MaybeNull(LongOrShort)
        from count in Gen.Choose(1, 10_000)
        select new FailedCall(name, principal, code, message, count);

    private static Gen<Digest> Digests =>
        from account in LongOrShort
        from name in MaybeNull(LongOrShort)
        from env in MaybeNull(LongOrShort)
        from events in Gen.Choose(1, int.MaxValue)
        from spanSeconds in Gen.Choose(0, 400_000)
        from names in Counts
        from principals in Counts
        from regions in Counts
        from sources in Counts
        from errors in Counts
        from muted in Counts
        from riskyCount in Gen.Frequency((3, Gen.Choose(0, 5)), (1, Gen.Choose(6, 600)))
        from risky in Gen.ArrayOf(Risky, Math.Min(riskyCount, 60))
        from failures in Gen.ArrayOf(Failure, Math.Min(riskyCount, 30))
        from id in LongOrShort
        from closed in Gen.Elements(Enum.GetValues<BurstCloseReason>())
        select SampleDigests.Quiet() with
        {
            DigestId = id,
            Account = account,
            AccountInfo = name is null ? null : new AccountInfo(account, name) { Environment = env, Owner = env, State = env },
            LastEventTime = SampleDigests.T0.AddSeconds(spanSeconds),
            EventCount = events,
            ErrorCount = errors.Count,
            EventNames = names,
            Principals = principals,
            Regions = regions,
            Sources = sources,
            DetailTypes = sources,
            ErrorCodes = errors,
            SourceIps = principals,
            Risky = risky.OrderByDescending(r => r.Severity).ToList(),
            RiskyCount = riskyCount,
            Failures = failures,
            Muted = muted,
            Duplicates = riskyCount,
            ClosedBy = closed,
        };

    [Property(MaxTest = 200)]
    public Property Any_digest_renders_within_slacks_limits() =>
        Prop.ForAll(Digests.ToArbitrary(), d =>
        {
            var message = SlackDigestRenderer.Render(d);
            var blocks = SlackPayloadValidator.LimitProblems(message.ToPayload());
            var plain = SlackPayloadValidator.LimitProblems(message.ToPayload(plainTextOnly: true));
            return (blocks.Count == 0 && plain.Count == 0).Label(string.Join("; ", blocks.Concat(plain)));
        });

    [Property(MaxTest = 200)]
    public Property Hostile_text_never_reaches_slack_unescaped() =>
        Prop.ForAll(Digests.ToArbitrary(), d =>
        {
            var message = SlackDigestRenderer.Render(d);
            var problems = SlackPayloadValidator.InjectionProblems(message.ToPayload())
                .Concat(SlackPayloadValidator.InjectionProblems(message.ToPayload(channel: "#c", plainTextOnly: true))).ToList();
            return (problems.Count == 0).Label(string.Join("; ", problems));
        });

    [Property(MaxTest = 200)]
    public Property Hostile_text_is_never_formatted_linked_or_turned_into_emoji_or_a_mention() =>
        Prop.ForAll(Digests.ToArbitrary(), d =>
        {
            var message = SlackDigestRenderer.Render(d);
            var problems = SlackPayloadValidator.MarkupProblems(message.ToPayload())
                .Concat(SlackPayloadValidator.MarkupProblems(message.ToPayload(channel: "#c", plainTextOnly: true))).ToList();
            return (problems.Count == 0).Label(string.Join("; ", problems));
        });

    [Property(MaxTest = 500)]
    public Property Escape_leaves_no_angle_bracket_and_round_trips() =>
        Prop.ForAll(HostileString(8).ToArbitrary(), s =>
        {
            var escaped = SlackText.Escape(s);
            var back = escaped.Replace("&lt;", "<", StringComparison.Ordinal).Replace("&gt;", ">", StringComparison.Ordinal).Replace("&amp;", "&", StringComparison.Ordinal);
            return !escaped.Contains('<', StringComparison.Ordinal) && !escaped.Contains('>', StringComparison.Ordinal) && back == s;
        });
}
