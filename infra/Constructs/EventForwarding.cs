using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.IAM;
using Constructs;
using CfnRule = Amazon.CDK.AWS.Events.CfnRule;
using CfnRuleProps = Amazon.CDK.AWS.Events.CfnRuleProps;
using Pipeline.Infra.Settings;

namespace Pipeline.Infra.Constructs;

internal sealed record EventForwardingProps
{
    /// <summary>The central bus (another account, maybe another region).</summary>
    public required string CentralBusArn { get; init; }
    public required IReadOnlyList<ForwardedEventKind> Kinds { get; init; }
    public required bool IncludeReadOnlyEvents { get; init; }
}

/// <summary>
/// One account-region's forwarding: a rule on the default bus sending the chosen AWS events to the central bus,
/// and the role EventBridge needs for it (the central bus admits the organization, so the target must carry a
/// role allowed to put events there). Used in the member StackSet template and in the management-account stacks.
/// </summary>
internal sealed class EventForwarding : Construct
{
    public static readonly IReadOnlyDictionary<ForwardedEventKind, string> DetailTypes = new Dictionary<ForwardedEventKind, string>
    {
        [ForwardedEventKind.CloudTrailApiCalls] = "AWS API Call via CloudTrail",
        [ForwardedEventKind.ConsoleSignIns] = "AWS Console Signin via CloudTrail",
        [ForwardedEventKind.GuardDutyFindings] = "GuardDuty Finding",
        [ForwardedEventKind.SecurityHubFindings] = "Security Hub Findings - Imported",
    };

    public EventForwarding(Construct scope, string id, EventForwardingProps props) : base(scope, id)
    {
        Role = new Role(this, "Role", new RoleProps
        {
            AssumedBy = new ServicePrincipal("events.amazonaws.com"),
            Description = "Lets this account's default bus forward security events to the organization's central bus.",
        });
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "PutOnCentralBus",
            Actions = ["events:PutEvents"],
            Resources = [props.CentralBusArn],
        }));

        Rule = new CfnRule(this, "Rule", new CfnRuleProps
        {
            Description = "Security events of this account, to the organization's central security bus.",
            // ENABLED leaves out read-only CloudTrail calls (Get/Describe/List…); the other state adds them.
            State = props.IncludeReadOnlyEvents ? "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" : "ENABLED",
            EventPattern = new Dictionary<string, object>
            {
                ["source"] = new object[] { new Dictionary<string, object> { ["prefix"] = "aws." } },
                ["detail-type"] = props.Kinds.Select(k => DetailTypes[k]).ToArray(),
            },
            Targets = new object[]
            {
                new CfnRule.TargetProperty
                {
                    Id = "central-bus",
                    Arn = props.CentralBusArn,
                    RoleArn = Role.RoleArn,
                    RetryPolicy = new CfnRule.RetryPolicyProperty { MaximumRetryAttempts = 185, MaximumEventAgeInSeconds = 86_400 },
                },
            },
        });
        Rule.Node.AddDependency(Role);
    }

    public Role Role { get; }
    public CfnRule Rule { get; }
}
