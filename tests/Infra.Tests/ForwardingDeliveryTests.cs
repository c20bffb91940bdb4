using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Enricher.Muting;
using Pipeline.Infra.Constructs;
using static Pipeline.Infra.Tests.Cfn;

namespace Pipeline.Infra.Tests;

/// <summary>
/// Issue 15 on the forwarding side: console sign-ins reach the central bus whatever their spelling, the rule and
/// role carry names the pipeline can watch, and events the central bus refuses wait in a dead-letter queue whose
/// alarm reaches the security team.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed class ForwardingDeliveryTests(SynthesizedApp app)
{
    private JsonObject MemberTemplate =>
        JsonNode.Parse((string)Props(Single(app.Member, "AWS::CloudFormation::StackSet").Resource)["TemplateBody"]!)!.AsObject();

    /// <summary>The member template and every management-account template: all forward the same way.</summary>
    private IEnumerable<JsonObject> AllForwardingTemplates => app.Management.Prepend(MemberTemplate);

    private static (string Id, JsonObject Rule) RuleNamed(JsonObject template, string name) =>
        Resources(template, "AWS::Events::Rule").Single(r => (string?)Props(r.Resource)["Name"] == name);

    /// <summary>
    /// Runs the synthesized pattern through the pipeline's own EventBridge matcher (conformance-tested against
    /// AWS's event-ruler) on a console sign-in event with the given detail-type.
    /// </summary>
    private static bool PatternMatchesSignIn(JsonObject template, string detailType)
    {
        var pattern = Props(RuleNamed(template, EventForwarding.RuleName).Rule)["EventPattern"]!.ToJsonString();
        var rules = MuteRuleSet.Parse("""{"rules":[{"name":"forwarding","pattern":""" + pattern + "}]}", "synthesized forwarding rule");
        using var signIn = JsonDocument.Parse($$"""
            {"version":"0","id":"6f1c1a3e-0000-0000-0000-000000000001","detail-type":"{{detailType}}","source":"aws.signin",
             "account":"123456789012","time":"2026-11-30T09:00:00Z","region":"us-east-1","resources":[],
             "detail":{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn",
                       "responseElements":{"ConsoleLogin":"Success"} } }
            """);
        return rules.FirstMatch(signIn.RootElement) is not null;
    }

    [Fact]
    public void Console_sign_ins_spelled_Sign_In_as_EventBridge_delivers_them_are_forwarded()
    {
        Assert.All(AllForwardingTemplates, t => Assert.True(PatternMatchesSignIn(t, "AWS Console Sign In via CloudTrail")));
    }

    [Fact]
    public void Console_sign_ins_spelled_Signin_as_one_documentation_page_has_it_are_forwarded()
    {
        Assert.All(AllForwardingTemplates, t => Assert.True(PatternMatchesSignIn(t, "AWS Console Signin via CloudTrail")));
    }

    [Fact]
    public void Without_console_sign_ins_in_the_settings_neither_spelling_is_forwarded()
    {
        // The check above can fail: a rule without the sign-in kind matches neither spelling.
        var context = SynthesizedApp.BaseContext();
        context["forwardedEvents"] = new[] { "cloudtrail-api-calls" };
        var (stacks, templates) = app.Build(context);
        var management = templates[stacks.ManagementForwarding[0].StackName];
        Assert.False(PatternMatchesSignIn(management, "AWS Console Sign In via CloudTrail"));
        Assert.False(PatternMatchesSignIn(management, "AWS Console Signin via CloudTrail"));
    }

    [Fact]
    public void The_forwarding_rule_and_its_role_have_fixed_names_starting_with_security_pipeline()
    {
        Assert.All(AllForwardingTemplates, t => Assert.NotNull(RuleNamed(t, "security-pipeline-forwarding").Rule));

        // The StackSet's template names the region it is deployed in: one role per region, IAM being global.
        var memberRole = Props(Single(MemberTemplate, "AWS::IAM::Role").Resource);
        Equal(JsonNode.Parse("""{"Fn::Join": ["", ["security-pipeline-forwarding-", {"Ref": "AWS::Region"}]]}"""), memberRole["RoleName"]);
        foreach (var (stack, template) in app.Stacks.ManagementForwarding.Zip(app.Management))
            Equal(JsonValue.Create("security-pipeline-forwarding-" + stack.Region), Props(Single(template, "AWS::IAM::Role").Resource)["RoleName"]);
        // Named IAM resources need the named capability, or the StackSet's instances fail to create.
        Equal(Strings("CAPABILITY_NAMED_IAM"), Props(Single(app.Member, "AWS::CloudFormation::StackSet").Resource)["Capabilities"]);
    }

    [Theory]
    [InlineData("ap-southeast-2")]
    [InlineData("us-gov-west-1")]
    [InlineData("ap-northeast-3")]
    public void The_role_name_fits_IAMs_64_characters_in_the_longest_regions(string region)
    {
        Assert.InRange(EventForwarding.RoleName(region).Length, 1, EventForwarding.MaxRoleNameLength);
        Assert.StartsWith("security-pipeline", EventForwarding.RoleName(region), StringComparison.Ordinal);
    }

    [Fact]
    public void Both_rules_send_what_the_central_bus_refuses_for_24_hours_to_the_dead_letter_queue()
    {
        foreach (var template in AllForwardingTemplates)
        {
            var (queueId, _) = Single(template, "AWS::SQS::Queue");
            foreach (var name in new[] { EventForwarding.RuleName, EventForwarding.AlarmRuleName })
            {
                var target = Props(RuleNamed(template, name).Rule)["Targets"]![0]!;
                Equal(new JsonObject { ["Arn"] = GetAtt(queueId) }, target["DeadLetterConfig"]);
                Equal(JsonNode.Parse("""{"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}"""), target["RetryPolicy"]);
            }
        }
    }

    [Fact]
    public void The_dead_letter_queue_is_encrypted_keeps_14_days_and_only_the_two_rules_may_send_to_it()
    {
        foreach (var template in AllForwardingTemplates)
        {
            var (queueId, queue) = Single(template, "AWS::SQS::Queue");
            Equal(JsonValue.Create(true), Props(queue)["SqsManagedSseEnabled"]);
            Equal(JsonValue.Create(14 * 24 * 3600), Props(queue)["MessageRetentionPeriod"]);

            var statements = Props(Single(template, "AWS::SQS::QueuePolicy").Resource)["PolicyDocument"]!["Statement"]!.AsArray();
            var send = statements.Single(s => (string?)s!["Sid"] == "ForwardingRulesMaySendDeadLetters")!;
            Equal(JsonNode.Parse("""{"Service": "events.amazonaws.com"}"""), send["Principal"]);
            Equal(JsonValue.Create("sqs:SendMessage"), send["Action"]);
            Equal(GetAtt(queueId), send["Resource"]);
            var sources = send["Condition"]!["ArnEquals"]!["aws:SourceArn"]!.AsArray().Select(a => a!.ToJsonString()).ToArray();
            Assert.Equal(2, sources.Length);
            Assert.Contains(sources, s => s.Contains(":rule/security-pipeline-forwarding\"", StringComparison.Ordinal));
            Assert.Contains(sources, s => s.Contains(":rule/security-pipeline-forwarding-alarm\"", StringComparison.Ordinal));
            // TLS only, as every queue of the pipeline.
            Assert.Contains(statements, s => (string?)s!["Effect"] == "Deny" && s["Condition"]?["Bool"]?["aws:SecureTransport"]?.ToString() == "false");
        }
    }

    [Fact]
    public void A_non_empty_dead_letter_queue_raises_an_alarm_whose_state_changes_are_forwarded_to_the_central_bus()
    {
        foreach (var template in AllForwardingTemplates)
        {
            var (queueId, _) = Single(template, "AWS::SQS::Queue");
            var (alarmId, alarmResource) = Single(template, "AWS::CloudWatch::Alarm");
            var alarm = Props(alarmResource);
            Equal(JsonValue.Create("security-pipeline-forwarding-dead-letters"), alarm["AlarmName"]);
            Equal(JsonValue.Create("ApproximateNumberOfMessagesVisible"), alarm["MetricName"]);
            Equal(GetAtt(queueId, "QueueName"), alarm["Dimensions"]![0]!["Value"]);
            Equal(JsonValue.Create(1), alarm["Threshold"]);
            Equal(JsonValue.Create("GreaterThanOrEqualToThreshold"), alarm["ComparisonOperator"]);

            var rule = Props(RuleNamed(template, EventForwarding.AlarmRuleName).Rule);
            var pattern = rule["EventPattern"]!;
            Equal(Strings("aws.cloudwatch"), pattern["source"]);
            Equal(Strings("CloudWatch Alarm State Change"), pattern["detail-type"]);
            Equal(new JsonArray(GetAtt(alarmId)), pattern["resources"]);
            var target = rule["Targets"]![0]!;
            Assert.Contains(":event-bus/security-pipeline", target["Arn"]!.ToJsonString(), StringComparison.Ordinal);
            Equal(GetAtt(Single(template, "AWS::IAM::Role").Id), target["RoleArn"]);
        }
    }
}
