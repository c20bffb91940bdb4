using System.Text.Json;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Model;
using Pipeline.Slack.Rendering;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests.Rendering;

/// <summary>Roll-ups, alerts and digests a roll-up took part of, as Slack shows them: within limits, inert, and saying where things went.</summary>
public sealed class SlackNoticeRendererTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 2, 11, TimeSpan.Zero);

    private static Rollup StackSet(string actor = "role/stacksets-exec-9f8e7d6c", int accounts = 54) => new()
    {
        RollupId = "ab95072a0123456789abcdef01234567",
        ActorKey = actor,
        Accounts = [.. Enumerable.Range(0, accounts).Select(i => new RollupAccount($"1000000000{i:00}", i < 2 ? new AccountInfo($"1000000000{i:00}", i == 0 ? "prod-pay-01" : "stage-web-07") : null, $"d{i}", 5))],
        FirstEventTime = T0,
        LastEventTime = T0.AddMinutes(12),
        EventCount = accounts * 5,
        ErrorCount = 2,
        EventNames = [new("CreateRole", accounts), new("PutRolePolicy", accounts)],
        Principals = [new("StackSets: stacksets-exec-9f8e7d6c…", accounts * 5)],
        Regions = [new("us-east-1", accounts * 5)],
        Failures = [new RollupFailure("PutRolePolicy", "AccessDenied", "explicit deny", ["100000000001", "100000000017"], 2)],
        Risky = [new RollupRisk("PutRolePolicy", "IAM permissions changed", RiskSeverity.High, [.. Enumerable.Range(0, accounts).Select(i => $"1000000000{i:00}")], accounts, "SecurityAudit")],
        RiskyCount = accounts,
        ClosedAt = T0.AddMinutes(20),
    };

    private static string AllText(byte[] payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return string.Join("\n", SlackPayloadValidator.Texts(doc.RootElement, "$").Select(t => t.Text));
    }

    [Fact]
    public void A_roll_up_names_its_actor_a_few_accounts_and_the_rest_as_a_count_and_says_where_it_failed()
    {
        var payload = SlackDigestRenderer.Render(StackSet()).ToPayload();
        var text = AllText(payload);

        Assert.Contains("StackSets: stacksets-exec-9f8e7d6c… in 54 accounts", text);
        Assert.Contains("by `role/stacksets-exec-9f8e7d6c`", text);
        Assert.Contains("prod-pay-01, stage-web-07, 100000000002 and 51 more", text);
        Assert.Contains("2 accounts refused `PutRolePolicy`: `AccessDenied` (`stage-web-07`, `100000000017`)", text);
        Assert.Contains("`PutRolePolicy` in 54 accounts", text);
        Assert.Empty(SlackPayloadValidator.LimitProblems(payload));
        Assert.Empty(SlackPayloadValidator.InjectionProblems(payload));
    }

    [Fact]
    public void A_hostile_actor_name_stays_inert_in_a_roll_up_and_an_alert()
    {
        const string hostile = "role/<!channel> *bold* <https://evil.example|click> @here *evil* :evil: _evil_ evil.example";
        var rollup = SlackDigestRenderer.Render(StackSet(actor: hostile)).ToPayload();
        var alert = SlackDigestRenderer.Render(new Alert
        {
            AlertId = "a1",
            Account = "111122223333",
            AccountInfo = new AccountInfo("111122223333", "<!here> prod *evil* :evil: @channel"),
            Event = new RiskyEvent("StopLogging", hostile, T0, "CloudTrail logging stopped or removed", RiskSeverity.Critical, "<@U123>", "198.51.100.23", null, "us-east-1"),
            DigestId = "d1",
            RaisedAt = T0,
        }).ToPayload();

        foreach (var payload in new[] { rollup, alert })
        {
            Assert.Empty(SlackPayloadValidator.InjectionProblems(payload));
            Assert.Empty(SlackPayloadValidator.MarkupProblems(payload));
            Assert.Empty(SlackPayloadValidator.LimitProblems(payload));
        }
    }

    [Theory]
    [InlineData(SilenceState.Silent)]
    [InlineData(SilenceState.Back)]
    public void A_silence_notice_says_which_account_and_region_since_when_and_stays_inert_with_forged_names(SilenceState state)
    {
        SilenceNotice Notice(string region, string? name) => new()
        {
            State = state,
            Account = "111122223333",
            AccountInfo = name is null ? null : new AccountInfo("111122223333", name),
            Region = region,
            LastEventTime = T0,
            EventCount = 1234,
            ObservedAt = T0.AddHours(7),
        };
        var plain = SlackDigestRenderer.Render(Notice("eu-west-1", "prod-payments")).ToPayload();
        var text = AllText(plain);
        Assert.Contains(state == SilenceState.Silent ? ":mute: Silent: eu-west-1 in prod-payments (111122223333)" : ":loud_sound: Back: eu-west-1 in prod-payments (111122223333)", text);
        Assert.Contains("<!date^" + T0.ToUnixTimeSeconds(), text, StringComparison.Ordinal); // the silence's start, in the reader's time zone
        Assert.Contains("7 h", text, StringComparison.Ordinal);
        if (state == SilenceState.Silent) Assert.Contains("1,234 events before", text, StringComparison.Ordinal);

        var hostile = SlackDigestRenderer.Render(Notice("eu-west-1 <!channel> *evil* :evil: <https://evil.example|click> " + new string('r', 500), "<!here> <@U123> prod *evil* :evil: @here")).ToPayload();
        Assert.Empty(SlackPayloadValidator.InjectionProblems(hostile));
        Assert.Empty(SlackPayloadValidator.MarkupProblems(hostile));
        Assert.Empty(SlackPayloadValidator.LimitProblems(hostile));
        Assert.Empty(SlackPayloadValidator.LimitProblems(plain));
    }

    [Fact]
    public void An_alert_says_what_who_where_and_why_with_the_time_as_a_date_token()
    {
        var payload = SlackDigestRenderer.Render(new Alert
        {
            AlertId = "a1",
            Account = "111122223333",
            AccountInfo = new AccountInfo("111122223333", "prod-payments"),
            Event = new RiskyEvent("StopLogging", "root", T0, "CloudTrail logging stopped or removed", RiskSeverity.Critical, "org-trail", "198.51.100.23", null, "us-east-1"),
            DigestId = "d1",
            RaisedAt = T0,
        }).ToPayload();
        var text = AllText(payload);

        Assert.Contains("CRITICAL: StopLogging in prod-payments (111122223333)", text);
        Assert.Contains("`StopLogging` by `root`", text);
        Assert.Contains($"<!date^{T0.ToUnixTimeSeconds()}^", text);
        Assert.Contains("CloudTrail logging stopped or removed · on `org-trail` · from `198.51.100.23`", text);
    }

    [Fact]
    public void An_alert_header_with_a_long_account_name_and_event_name_still_ends_with_the_account_id()
    {
        // Was: the name was cut at 60 and the whole header at 150, so a 70-character name and a 60-character event name
        // cut off the id, the one part that says which account it is.
        var payload = SlackDigestRenderer.Render(new Alert
        {
            AlertId = "a1",
            Account = "333333333333",
            AccountInfo = new AccountInfo("333333333333", new string('n', 70)),
            Event = new RiskyEvent(new string('E', 60), "root", T0, "CloudTrail logging stopped or removed", RiskSeverity.Critical, null, null, null, "us-east-1"),
            DigestId = "d1",
            RaisedAt = T0,
        }).ToPayload();
        using var doc = JsonDocument.Parse(payload);
        var header = doc.RootElement.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString()!;

        Assert.True(header.Length <= 150, header);
        Assert.EndsWith(" (333333333333)", header, StringComparison.Ordinal);
        Assert.Contains("nnnnnnnn", header, StringComparison.Ordinal); // the name keeps what room is left
    }

    [Fact]
    public void A_channel_from_the_accounts_table_is_written_with_every_character_beyond_ascii_escaped()
    {
        // The channel is the only payload text not cleaned by SlackText: a member account's table row may carry anything,
        // and `--format slack` prints the payload to a terminal.
        const string channel = "#sec\u202eops\u001b[2J-é";
        var payload = SlackDigestRenderer.Render(SampleDigests.Busy()).ToPayload(channel: channel);

        var text = System.Text.Encoding.UTF8.GetString(payload);
        Assert.DoesNotContain('\u202e', text); // neither the bidi override nor the escape is there as itself
        Assert.DoesNotContain('\u001b', text);
        Assert.Contains("\"channel\":\"#sec\\u202Eops\\u001B[2J-\\u00E9\"", text, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(payload);
        Assert.Equal(channel, doc.RootElement.GetProperty("channel").GetString()); // Slack reads the same channel
    }

    [Fact]
    public void A_digest_a_roll_up_took_part_of_shows_what_is_left_and_where_the_rest_went()
    {
        var busy = SampleDigests.Busy();
        DigestPart Part(string? actor, string principal, string name, int count, string? rollupId) => new()
        {
            ActorKey = actor,
            RollupId = rollupId,
            FirstEventTime = busy.FirstEventTime,
            LastEventTime = busy.LastEventTime,
            EventCount = count,
            ReadOnlyCount = busy.ReadOnlyCount,
            EventNames = [new(name, count)],
            Principals = [new(principal, count)],
            Regions = busy.Regions,
            Sources = busy.Sources,
            DetailTypes = busy.DetailTypes,
            ErrorCodes = busy.ErrorCodes,
            SourceIps = busy.SourceIps,
            Risky = [],
            RiskyCount = 0,
            Failures = [],
            ErrorCount = 0,
        };
        var person = Part(null, "alice@example.com via AdministratorAccess", "AuthorizeSecurityGroupIngress", 3, null);
        var stackSet = Part("role/stacksets-exec-9f8e7d6c", "StackSets: stacksets-exec-9f8e7d6c…", "CreateRole", 40, "ab95072a0123");
        var whole = SampleDigests.Busy() with { Parts = [person, stackSet], RollupId = "ab95072a0123", FoldedEventCount = 40, EventCount = 43 };

        var text = AllText(SlackDigestRenderer.Render(whole).ToPayload());

        Assert.True(whole.Posted);
        Assert.Contains("alice@example.com via AdministratorAccess", text);
        Assert.DoesNotContain("`CreateRole`", text);
        Assert.Contains("40 events by `role/stacksets-exec-9f8e7d6c` are in roll-up `ab95072a`", text);
        Assert.Contains("3 events", text);
    }
}
