using System.Text.Json.Nodes;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Risk;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport;
using static Pipeline.Aggregator.Tests.TestEvents;

namespace Pipeline.Aggregator.Tests.Risk;

public sealed class RiskCatalogTests
{
    private static RiskRule? Assess(OrgEvent e) => RiskCatalog.Default.Assess(e);

    [Fact]
    public void Routine_calls_are_not_risky()
    {
        Assert.Null(Assess(At(Events.T0, eventName: "CreateTags")));
        Assert.Null(Assess(At(Events.T0, eventName: "StopLogging", eventSource: "ec2.amazonaws.com"))); // right name, wrong service
    }

    [Fact]
    public void Root_activity_is_critical()
    {
        var rule = Assess(At(Events.T0, identity: Events.Root("111122223333")));
        Assert.Equal((RiskSeverity.Critical, "root user activity"), (rule!.Severity, rule.Reason));
    }

    [Fact]
    public void Turning_off_cloudtrail_is_critical_even_when_it_failed()
    {
        var rule = Assess(At(Events.T0, eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com", errorCode: "AccessDenied"));
        Assert.Equal(RiskSeverity.Critical, rule!.Severity);
    }

    [Fact]
    public void Security_group_is_risky_only_when_opened_to_the_world()
    {
        static JsonObject Ingress(string cidr) => JsonNode.Parse($$$"""{"groupId":"sg-1","ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"{{{cidr}}}"}]}}]}}""")!.AsObject();
        Assert.Null(Assess(At(Events.T0, eventName: "AuthorizeSecurityGroupIngress", request: Ingress("10.0.0.0/8"))));
        Assert.Equal("security group opened to the world", Assess(At(Events.T0, eventName: "AuthorizeSecurityGroupIngress", request: Ingress("0.0.0.0/0")))!.Reason);
    }

    [Fact]
    public void Console_sign_in_without_mfa_is_flagged()
    {
        var env = Events.ApiCall(eventName: "ConsoleLogin", eventSource: "signin.amazonaws.com");
        env["detail"]!["additionalEventData"] = new JsonObject { ["MFAUsed"] = "No" };
        env["detail"]!["responseElements"] = new JsonObject { ["ConsoleLogin"] = "Success" };
        Assert.True(EventParser.TryParse(env.Utf8(), out var parsed, out _));
        using (parsed) Assert.Equal("console sign-in without MFA", Assess(parsed!.Event)!.Reason);
    }

    [Fact]
    public void Every_rule_has_a_reason_and_names_or_a_condition()
    {
        foreach (var rule in RiskCatalog.Default.Rules)
        {
            Assert.False(string.IsNullOrWhiteSpace(rule.Reason));
            Assert.True(rule.EventNames.Count > 0 || rule.Condition != RiskCondition.Always, rule.Reason);
        }
    }
}
