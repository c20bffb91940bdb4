using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.SQS;
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
/// Events the central bus refuses for 24 hours land in a dead-letter queue whose depth raises an alarm; the
/// alarm's own state changes are forwarded by a second rule, so the security team sees them as events of that
/// account. Every name starts with <see cref="NamePrefix"/>, so the pipeline can flag changes to its own plumbing.
/// </summary>
internal sealed class EventForwarding : Construct
{
    /// <summary>What every name of the forwarding starts with (the risk catalog flags changes to it by prefix).</summary>
    public const string NamePrefix = "security-pipeline-forwarding";
    /// <summary>The rule on the default bus that forwards the chosen events.</summary>
    public const string RuleName = NamePrefix;
    /// <summary>The rule that forwards the dead-letter alarm's state changes.</summary>
    public const string AlarmRuleName = NamePrefix + "-alarm";
    /// <summary>Alarm names are per account and region: one name fits every stack instance.</summary>
    public const string DeadLetterAlarmName = NamePrefix + "-dead-letters";
    /// <summary>IAM's limit on a role name; the role name is the prefix, a dash and the region.</summary>
    public const int MaxRoleNameLength = 64;
    public const int RetryAttempts = 185;
    public const int MaximumEventAgeSeconds = 86_400;

    // Both spellings of the console sign-in detail-type: the events EventBridge delivers (and the rules people
    // deploy) say "Sign In", one EventBridge documentation page says "Signin". A rule naming only the second
    // never saw a sign-in; naming both costs nothing.
    public static readonly IReadOnlyDictionary<ForwardedEventKind, IReadOnlyList<string>> DetailTypes =
        new Dictionary<ForwardedEventKind, IReadOnlyList<string>>
        {
            [ForwardedEventKind.CloudTrailApiCalls] = ["AWS API Call via CloudTrail"],
            [ForwardedEventKind.ConsoleSignIns] = ["AWS Console Sign In via CloudTrail", "AWS Console Signin via CloudTrail"],
            [ForwardedEventKind.GuardDutyFindings] = ["GuardDuty Finding"],
            [ForwardedEventKind.SecurityHubFindings] = ["Security Hub Findings - Imported"],
        };

    /// <summary>The role's name in a region: IAM is global, the StackSet puts one role per region in each account.</summary>
    public static string RoleName(string region) => NamePrefix + "-" + region;

    public EventForwarding(Construct scope, string id, EventForwardingProps props) : base(scope, id)
    {
        var stack = Amazon.CDK.Stack.Of(this);
        // A concrete region (the management-account stacks) is checked here; the StackSet's template names its
        // region at deploy time, and the longest region name today leaves the name far below the limit.
        if (!Token.IsUnresolved(stack.Region) && RoleName(stack.Region).Length > MaxRoleNameLength)
            throw new ArgumentException($"role name {RoleName(stack.Region)} is longer than IAM's {MaxRoleNameLength} characters.", nameof(scope));

        Role = new Role(this, "Role", new RoleProps
        {
            RoleName = RoleName(stack.Region),
            AssumedBy = new ServicePrincipal("events.amazonaws.com"),
            Description = "Lets this account's default bus forward security events to the organization's central bus.",
        });
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "PutOnCentralBus",
            Actions = ["events:PutEvents"],
            Resources = [props.CentralBusArn],
        }));

        // Built from the fixed names: the queue policy names the rules, and the rules name the queue.
        RuleArn = RuleArnOf(stack, RuleName);
        AlarmRuleArn = RuleArnOf(stack, AlarmRuleName);

        // SQS-managed encryption, not a KMS key: a customer managed key in every account and region of the
        // organization would cost a key each, and EventBridge needs no key grant to write an SSE-SQS queue.
        DeadLetterQueue = new Queue(this, "DeadLetterQueue", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });
        DeadLetterQueue.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ForwardingRulesMaySendDeadLetters",
            Principals = [new ServicePrincipal("events.amazonaws.com")],
            Actions = ["sqs:SendMessage"],
            Resources = [DeadLetterQueue.QueueArn],
            Conditions = new Dictionary<string, object>
            {
                ["ArnEquals"] = new Dictionary<string, object> { ["aws:SourceArn"] = new[] { RuleArn, AlarmRuleArn } },
            },
        }));
        Nag.Suppress(DeadLetterQueue, new NagSuppression("AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the forwarding rules (events the central bus refused for 24 hours); "
            + "its depth raises the " + DeadLetterAlarmName + " alarm instead."));

        DeadLetterAlarm = new Alarm(this, "DeadLetterAlarm", new AlarmProps
        {
            AlarmName = DeadLetterAlarmName,
            AlarmDescription = "Security events of this account and region could not reach the organization's central bus for 24 hours "
                + "and wait in the forwarding dead-letter queue (14 days). Tell the security team; see Alarms in docs/deploying.md.",
            Metric = DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Statistic = "Maximum", Period = Duration.Minutes(5) }),
            Threshold = 1,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            EvaluationPeriods = 1,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });

        Rule = ForwardingRule("Rule", RuleName,
            "Security events of this account, to the organization's central security bus.",
            // ENABLED leaves out read-only CloudTrail calls (Get/Describe/List…); the other state adds them.
            props.IncludeReadOnlyEvents ? "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" : "ENABLED",
            new Dictionary<string, object>
            {
                ["source"] = new object[] { new Dictionary<string, object> { ["prefix"] = "aws." } },
                ["detail-type"] = props.Kinds.SelectMany(k => DetailTypes[k]).ToArray(),
            },
            props.CentralBusArn);

        // The alarm's state changes are events of this account: once the central bus takes events again (the
        // usual end of an outage), the security team sees in the digests which account and region hold dead
        // letters to redrive. A path that stays broken is caught centrally by the silence alarm instead.
        AlarmRule = ForwardingRule("AlarmRule", AlarmRuleName,
            "State changes of the " + DeadLetterAlarmName + " alarm, to the organization's central security bus.",
            "ENABLED",
            new Dictionary<string, object>
            {
                ["source"] = new[] { "aws.cloudwatch" },
                ["detail-type"] = new[] { "CloudWatch Alarm State Change" },
                ["resources"] = new[] { DeadLetterAlarm.AlarmArn },
            },
            props.CentralBusArn);
    }

    public Role Role { get; }
    public CfnRule Rule { get; }
    public string RuleArn { get; }
    public CfnRule AlarmRule { get; }
    public string AlarmRuleArn { get; }
    public Queue DeadLetterQueue { get; }
    public Alarm DeadLetterAlarm { get; }

    private static string RuleArnOf(Amazon.CDK.Stack stack, string name) =>
        stack.FormatArn(new ArnComponents { Service = "events", Resource = "rule", ResourceName = name });

    private CfnRule ForwardingRule(string id, string name, string description, string state, Dictionary<string, object> pattern, string centralBusArn)
    {
        var rule = new CfnRule(this, id, new CfnRuleProps
        {
            Name = name,
            Description = description,
            State = state,
            EventPattern = pattern,
            Targets = new object[]
            {
                new CfnRule.TargetProperty
                {
                    Id = "central-bus",
                    Arn = centralBusArn,
                    RoleArn = Role.RoleArn,
                    RetryPolicy = new CfnRule.RetryPolicyProperty { MaximumRetryAttempts = RetryAttempts, MaximumEventAgeInSeconds = MaximumEventAgeSeconds },
                    DeadLetterConfig = new CfnRule.DeadLetterConfigProperty { Arn = DeadLetterQueue.QueueArn },
                },
            },
        });
        rule.Node.AddDependency(Role);
        return rule;
    }
}
