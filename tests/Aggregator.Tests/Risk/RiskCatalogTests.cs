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

    // EventBridge delivers "AWS Console Sign In via CloudTrail"; older rules and documents spell it "Signin".
    // Either way a root sign-in and a sign-in without MFA must be flagged.
    [Theory]
    [InlineData("AWS Console Sign In via CloudTrail")]
    [InlineData("AWS Console Signin via CloudTrail")]
    public void Console_sign_ins_are_flagged_in_either_spelling(string detailType)
    {
        static OrgEvent SignIn(string detailType, JsonObject? identity, string mfa)
        {
            var env = Events.ApiCall(eventName: "ConsoleLogin", eventSource: "signin.amazonaws.com", identity: identity);
            env["detail-type"] = detailType;
            env["detail"]!["eventType"] = "AwsConsoleSignIn";
            env["detail"]!["additionalEventData"] = new JsonObject { ["MFAUsed"] = mfa };
            env["detail"]!["responseElements"] = new JsonObject { ["ConsoleLogin"] = "Success" };
            Assert.True(EventParser.TryParse(env.Utf8(), out var parsed, out var reason), reason);
            using (parsed)
            {
                Assert.Equal(detailType, parsed!.Event.DetailType);
                return parsed.Event;
            }
        }

        var root = Assess(SignIn(detailType, Events.Root("111122223333"), mfa: "Yes"));
        Assert.Equal((RiskSeverity.Critical, "root user activity"), (root!.Severity, root.Reason));
        var noMfa = Assess(SignIn(detailType, identity: null, mfa: "No"));
        Assert.Equal((RiskSeverity.High, "console sign-in without MFA"), (noMfa!.Severity, noMfa.Reason));
        Assert.Null(Assess(SignIn(detailType, identity: null, mfa: "Yes")));
    }

    // Going dark on purpose: each of these stops or re-points a member account's forwarding (or the StackSet that
    // keeps it in place); the call itself is the last thing the digest can show.
    [Theory]
    [InlineData("events.amazonaws.com", "DisableRule", """{"name":"security-pipeline-forwarding","eventBusName":"default"}""", RiskSeverity.Critical)]
    [InlineData("events.amazonaws.com", "DeleteRule", """{"name":"security-pipeline-forwarding","force":true}""", RiskSeverity.Critical)]
    [InlineData("events.amazonaws.com", "RemoveTargets", """{"rule":"security-pipeline-forwarding","ids":["central-bus"]}""", RiskSeverity.Critical)]
    [InlineData("events.amazonaws.com", "PutRule", """{"name":"security-pipeline-forwarding","state":"DISABLED"}""", RiskSeverity.High)]
    [InlineData("events.amazonaws.com", "PutTargets", """{"rule":"security-pipeline-forwarding","targets":[{"id":"central-bus","arn":"arn:aws:events:us-east-1:999999999999:event-bus/elsewhere"}]}""", RiskSeverity.High)]
    [InlineData("events.amazonaws.com", "RemovePermission", """{"statementId":"org","eventBusName":"security-pipeline"}""", RiskSeverity.Critical)]
    [InlineData("cloudformation.amazonaws.com", "DeleteStackInstances", """{"stackSetName":"security-pipeline-member-forwarding","regions":["us-east-1"],"retainStacks":false}""", RiskSeverity.Critical)]
    [InlineData("cloudformation.amazonaws.com", "DeleteStack", """{"stackName":"StackSet-security-pipeline-member-forwarding-0c4b1e2a-7d6f"}""", RiskSeverity.Critical)]
    [InlineData("cloudformation.amazonaws.com", "DeleteStack", """{"stackName":"SecurityPipeline-Central"}""", RiskSeverity.Critical)]
    [InlineData("cloudformation.amazonaws.com", "UpdateStackSet", """{"stackSetName":"security-pipeline-member-forwarding"}""", RiskSeverity.High)]
    [InlineData("iam.amazonaws.com", "DeleteRolePolicy", """{"roleName":"security-pipeline-forwarding-us-east-1","policyName":"p"}""", RiskSeverity.Critical)]
    [InlineData("kinesis.amazonaws.com", "DeleteStream", """{"streamName":"security-pipeline","enforceConsumerDeletion":true}""", RiskSeverity.Critical)]
    [InlineData("dynamodb.amazonaws.com", "DeleteTable", """{"tableName":"security-pipeline-digest-ledger"}""", RiskSeverity.Critical)]
    [InlineData("events.amazonaws.com", "DisableRule", """{"name":"security-pipeline-to-kinesis","eventBusName":"security-pipeline"}""", RiskSeverity.Critical)]
    // Lambda's CloudTrail event names carry the API version.
    [InlineData("lambda.amazonaws.com", "DeleteFunction20150331", """{"functionName":"SecurityPipeline-Central-DigestsFunction1A2B3C-x9y8z7"}""", RiskSeverity.Critical)]
    [InlineData("lambda.amazonaws.com", "UpdateEventSourceMapping20150331", """{"uUID":"6d1c-…","functionName":"SecurityPipeline-Central-DigestsFunction1A2B3C-x9y8z7","enabled":false}""", RiskSeverity.Critical)]
    public void Tampering_with_the_pipelines_own_forwarding_is_risky(string source, string name, string request, RiskSeverity severity)
    {
        var rule = Assess(At(Events.T0, eventName: name, eventSource: source, request: JsonNode.Parse(request)!.AsObject()));
        Assert.NotNull(rule);
        Assert.Equal(severity, rule.Severity);
        Assert.StartsWith("the pipeline's", rule.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CloudFormation_replacing_the_rule_while_deploying_the_StackSet_is_not_tampering()
    {
        // The StackSet update that renames the rule makes CloudFormation delete the old one in every account: the
        // person's UpdateStackSet is what the digest flags (High); CloudFormation's own DeleteRule is a routine medium.
        var identity = new JsonObject
        {
            ["type"] = "AssumedRole", ["principalId"] = "AROAEXAMPLE:stacksets", ["accountId"] = "111122223333",
            ["arn"] = "arn:aws:sts::111122223333:assumed-role/stacksets-exec-0123/stacksets", ["invokedBy"] = "cloudformation.amazonaws.com",
        };
        var byCloudFormation = Assess(At(Events.T0, eventName: "DeleteRule", eventSource: "events.amazonaws.com", identity: identity,
            request: JsonNode.Parse("""{"name":"security-pipeline-forwarding"}""")!.AsObject()));
        Assert.Equal((RiskSeverity.Medium, "EventBridge rule disabled or removed"), (byCloudFormation!.Severity, byCloudFormation.Reason));
    }

    [Fact]
    public void Another_rule_disabled_is_worth_a_look_but_not_an_alarm()
    {
        var other = Assess(At(Events.T0, eventName: "DisableRule", eventSource: "events.amazonaws.com",
            request: JsonNode.Parse("""{"name":"nightly-cleanup"}""")!.AsObject()));
        Assert.Equal((RiskSeverity.Medium, "EventBridge rule disabled or removed"), (other!.Severity, other.Reason));
        // Changing some other rule or table is routine.
        Assert.Null(Assess(At(Events.T0, eventName: "PutRule", eventSource: "events.amazonaws.com",
            request: JsonNode.Parse("""{"name":"nightly-cleanup"}""")!.AsObject())));
        Assert.Null(Assess(At(Events.T0, eventName: "DeleteTable", eventSource: "dynamodb.amazonaws.com",
            request: JsonNode.Parse("""{"tableName":"orders"}""")!.AsObject())));
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
