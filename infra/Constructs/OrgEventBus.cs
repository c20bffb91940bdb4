using Amazon.CDK;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Kinesis;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.SQS;
using Constructs;
using CfnRule = Amazon.CDK.AWS.Events.CfnRule;
using CfnRuleProps = Amazon.CDK.AWS.Events.CfnRuleProps;

namespace Pipeline.Infra.Constructs;

internal sealed record OrgEventBusProps
{
    public required string BusName { get; init; }
    /// <summary>Only principals of this organization may put events on the bus.</summary>
    public required string OrganizationId { get; init; }
    public required IStream Stream { get; init; }
    /// <summary>The stream's key (the rule's role encrypts with it) and the dead-letter queue's.</summary>
    public required IKey Key { get; init; }
    /// <summary>Read-only CloudTrail calls are matched only by rules in the ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS state.</summary>
    public required bool IncludeReadOnlyEvents { get; init; }
}

/// <summary>
/// The organization's central custom event bus and its one rule: every AWS-sourced event goes to the Kinesis
/// stream, partitioned by account so each account's events stay on one shard in order. Deliveries that keep
/// failing (24 hours, 185 attempts) land in an encrypted dead-letter queue instead of being dropped.
/// </summary>
internal sealed class OrgEventBus : Construct
{
    /// <summary>The Kinesis partition key: the member account id of the event.</summary>
    public const string PartitionKeyPath = "$.account";
    public const string RuleName = "security-pipeline-to-kinesis"; // the prefix lets the risk catalog see tampering with it
    public const int RetryAttempts = 185;
    public const int MaximumEventAgeSeconds = 86_400;

    public OrgEventBus(Construct scope, string id, OrgEventBusProps props) : base(scope, id)
    {
        var stack = Amazon.CDK.Stack.Of(this);
        Bus = new EventBus(this, "Bus", new EventBusProps { EventBusName = props.BusName });

        new CfnEventBusPolicy(this, "OrganizationMayPutEvents", new CfnEventBusPolicyProps
        {
            EventBusName = Bus.EventBusName,
            StatementId = "OrganizationMayPutEvents",
            Statement = new Dictionary<string, object>
            {
                ["Sid"] = "OrganizationMayPutEvents",
                ["Effect"] = "Allow",
                ["Principal"] = "*",
                ["Action"] = "events:PutEvents",
                ["Resource"] = Bus.EventBusArn,
                ["Condition"] = new Dictionary<string, object>
                {
                    ["StringEquals"] = new Dictionary<string, object> { ["aws:PrincipalOrgID"] = props.OrganizationId },
                },
            },
        });

        // Built from names, not from the rule resource: the key policy and the queue policy name the rule,
        // and the rule names the queue, which names the key.
        RuleArn = stack.FormatArn(new ArnComponents
        {
            Service = "events",
            Resource = "rule",
            ResourceName = props.BusName + "/" + RuleName,
        });

        DeadLetterQueue = EncryptedQueues.CreateDeadLetter(this, "DeadLetterQueue", props.Key,
            "events the bus could not put on the stream after 24 hours of retries");
        DeadLetterQueue.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "RuleMaySendDeadLetters",
            Principals = [new ServicePrincipal("events.amazonaws.com")],
            Actions = ["sqs:SendMessage"],
            Resources = [DeadLetterQueue.QueueArn],
            Conditions = new Dictionary<string, object>
            {
                ["ArnEquals"] = new Dictionary<string, object> { ["aws:SourceArn"] = RuleArn },
            },
        }));
        // EventBridge itself writes the dead letters, so the key must let it encrypt them.
        props.Key.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EventBridgeMayEncryptDeadLetters",
            Principals = [new ServicePrincipal("events.amazonaws.com")],
            Actions = ["kms:GenerateDataKey", "kms:Decrypt"],
            Resources = ["*"],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = stack.Account },
            },
        }));

        TargetRole = new Role(this, "TargetRole", new RoleProps
        {
            AssumedBy = new ServicePrincipal("events.amazonaws.com"),
            Description = "Lets the central bus rule put events on the pipeline's Kinesis stream.",
        });
        TargetRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "PutOnStream",
            Actions = ["kinesis:PutRecord", "kinesis:PutRecords"],
            Resources = [props.Stream.StreamArn],
        }));
        TargetRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "EncryptForStream",
            Actions = ["kms:GenerateDataKey"],
            Resources = [props.Key.KeyArn],
        }));

        Rule = new CfnRule(this, "ToKinesis", new CfnRuleProps
        {
            Name = RuleName,
            EventBusName = Bus.EventBusName,
            Description = "Every AWS service event forwarded by the organization's accounts, to the pipeline's stream.",
            State = props.IncludeReadOnlyEvents ? "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" : "ENABLED",
            // Only events whose source is an AWS service: PutEvents refuses "aws." sources from callers,
            // so an org principal cannot forge CloudTrail records onto the stream through this bus.
            EventPattern = new Dictionary<string, object>
            {
                ["source"] = new object[] { new Dictionary<string, object> { ["prefix"] = "aws." } },
            },
            Targets = new object[]
            {
                new CfnRule.TargetProperty
                {
                    Id = "stream",
                    Arn = props.Stream.StreamArn,
                    RoleArn = TargetRole.RoleArn,
                    KinesisParameters = new CfnRule.KinesisParametersProperty { PartitionKeyPath = PartitionKeyPath },
                    RetryPolicy = new CfnRule.RetryPolicyProperty
                    {
                        MaximumRetryAttempts = RetryAttempts,
                        MaximumEventAgeInSeconds = MaximumEventAgeSeconds,
                    },
                    DeadLetterConfig = new CfnRule.DeadLetterConfigProperty { Arn = DeadLetterQueue.QueueArn },
                },
            },
        });
        Rule.Node.AddDependency(TargetRole);
    }

    public EventBus Bus { get; }
    public string RuleArn { get; }
    public CfnRule Rule { get; }
    public Role TargetRole { get; }
    public Queue DeadLetterQueue { get; }
}
