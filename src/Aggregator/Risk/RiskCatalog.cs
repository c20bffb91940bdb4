using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Risk;

/// <summary>What, besides the event's name, must hold for a rule to flag it.</summary>
public enum RiskCondition
{
    /// <summary>The event name alone is enough.</summary>
    Always,
    /// <summary>The caller is the account's root user.</summary>
    RootIdentity,
    /// <summary>A successful console sign-in that did not use MFA.</summary>
    ConsoleLoginWithoutMfa,
    /// <summary>A failed console sign-in.</summary>
    ConsoleLoginFailed,
    /// <summary>The request opens an ingress range to the whole internet (0.0.0.0/0 or ::/0).</summary>
    OpensToWorld,
    /// <summary>A policy in the request grants to everyone (<c>"Principal":"*"</c>).</summary>
    GrantsToEveryone,
    /// <summary>A finding (GuardDuty, Security Hub) at or above the rule's minimum severity (0–10).</summary>
    FindingSeverity,
    /// <summary>
    /// The call's target is one of the pipeline's own resources: its name holds <see cref="RiskCatalog.PipelineNamePrefix"/>
    /// (the forwarding rule and role in every member account, the StackSet and its instances' stacks, the central bus,
    /// stream and tables).
    /// </summary>
    TargetsPipeline,
}

/// <summary>
/// One entry of the risk catalog. <see cref="EventNames"/> empty means any event name;
/// <see cref="EventSource"/> null means any source (for findings: the detail-type to match).
/// </summary>
public sealed record RiskRule(
    RiskSeverity Severity,
    string Reason,
    string? EventSource,
    IReadOnlyList<string> EventNames,
    RiskCondition Condition = RiskCondition.Always,
    double MinFindingSeverity = 0);

/// <summary>
/// The events a digest lists first. This table is the single place that says what is risky: add a line,
/// not an if-statement. Failed attempts stay risky (an attacker probing is news), marked as failed.
/// </summary>
public sealed class RiskCatalog
{
    /// <summary>
    /// Every resource the pipeline deploys is named with this prefix (infra/ names the member forwarding rule
    /// <c>security-pipeline-forwarding</c>, its role <c>security-pipeline-forwarding-…</c>, the StackSet
    /// <c>security-pipeline-member-forwarding</c>, whose instances are stacks named <c>StackSet-security-pipeline-…</c>).
    /// A call that touches one of them is how an account goes dark on purpose.
    /// </summary>
    public const string PipelineNamePrefix = "security-pipeline";

    /// <summary>The CDK app's stacks (<c>SecurityPipeline-Central</c>, <c>SecurityPipeline-MemberForwarding</c>, …) and what CDK names after them.</summary>
    public const string PipelineStackPrefix = "SecurityPipeline";

    public static RiskCatalog Default { get; } = new(
    [
        // Who: the root user should almost never act.
        new(RiskSeverity.Critical, "root user activity", null, [], RiskCondition.RootIdentity),
        new(RiskSeverity.High, "console sign-in without MFA", "signin.amazonaws.com", ["ConsoleLogin"], RiskCondition.ConsoleLoginWithoutMfa),
        new(RiskSeverity.Medium, "failed console sign-in", "signin.amazonaws.com", ["ConsoleLogin"], RiskCondition.ConsoleLoginFailed),

        // Logging and monitoring turned off: the classic first move after a compromise.
        new(RiskSeverity.Critical, "CloudTrail logging stopped or removed", "cloudtrail.amazonaws.com",
            ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors", "DeleteEventDataStore", "StopEventDataStoreIngestion"]),
        new(RiskSeverity.Critical, "GuardDuty disabled or weakened", "guardduty.amazonaws.com",
            ["DeleteDetector", "UpdateDetector", "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount", "DeleteMembers",
             "DisassociateMembers", "StopMonitoringMembers", "CreateFilter", "UpdateFilter", "DeletePublishingDestination", "CreateIPSet", "UpdateIPSet"]),
        new(RiskSeverity.High, "AWS Config recording stopped or removed", "config.amazonaws.com",
            ["StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel", "DeleteConfigRule"]),
        new(RiskSeverity.High, "Security Hub disabled or weakened", "securityhub.amazonaws.com",
            ["DisableSecurityHub", "BatchDisableStandards", "DisassociateFromAdministratorAccount", "DeleteMembers", "UpdateStandardsControl"]),
        new(RiskSeverity.High, "Access Analyzer removed", "access-analyzer.amazonaws.com", ["DeleteAnalyzer"]),
        // Going dark: the pipeline's own forwarding switched off, re-pointed or deleted. A member account that does
        // this stops reporting; this event is the last thing the security team hears from it.
        new(RiskSeverity.Critical, "the pipeline's forwarding disabled or removed", "events.amazonaws.com",
            ["DisableRule", "DeleteRule", "RemoveTargets", "DeleteEventBus", "RemovePermission", "DeleteArchive"], RiskCondition.TargetsPipeline),
        new(RiskSeverity.High, "the pipeline's forwarding changed", "events.amazonaws.com",
            ["PutRule", "PutTargets", "PutPermission", "UpdateEventBus"], RiskCondition.TargetsPipeline),
        new(RiskSeverity.Critical, "the pipeline's StackSet or its stacks removed", "cloudformation.amazonaws.com",
            ["DeleteStackInstances", "DeleteStackSet", "DeleteStack"], RiskCondition.TargetsPipeline),
        new(RiskSeverity.High, "StackSets' access to the organization turned off", "cloudformation.amazonaws.com", ["DeactivateOrganizationsAccess"]),
        new(RiskSeverity.High, "the pipeline's StackSet or its stacks changed", "cloudformation.amazonaws.com",
            ["UpdateStackSet", "UpdateStackInstances", "UpdateStack", "StopStackSetOperation", "SetStackPolicy", "CreateChangeSet", "ExecuteChangeSet"],
            RiskCondition.TargetsPipeline),
        new(RiskSeverity.Critical, "the pipeline's forwarding role broken", "iam.amazonaws.com",
            ["DeleteRole", "DeleteRolePolicy", "DetachRolePolicy", "PutRolePolicy", "UpdateAssumeRolePolicy", "PutRolePermissionsBoundary",
             "AttachRolePolicy"], RiskCondition.TargetsPipeline),
        new(RiskSeverity.Critical, "the pipeline's stream, tables or function removed", null,
            // Lambda's CloudTrail names carry an API version. An event source mapping call names its function only
            // when the caller gave one (a delete names only the mapping's UUID): those are caught by the silence check.
            ["DeleteStream", "StopStreamEncryption", "DeleteTable", "DeleteFunction20150331", "UpdateEventSourceMapping20150331",
             "PutFunctionConcurrency20171031"], RiskCondition.TargetsPipeline),
        new(RiskSeverity.Medium, "EventBridge rule disabled or removed", "events.amazonaws.com", ["DisableRule", "DeleteRule", "RemoveTargets"]),
        new(RiskSeverity.Medium, "monitoring removed", "monitoring.amazonaws.com", ["DeleteAlarms", "DisableAlarmActions"]),
        new(RiskSeverity.Medium, "logs deleted", "logs.amazonaws.com", ["DeleteLogGroup", "DeleteLogStream", "PutRetentionPolicy"]),
        new(RiskSeverity.High, "VPC flow logs deleted", "ec2.amazonaws.com", ["DeleteFlowLogs"]),

        // Credentials and permissions.
        new(RiskSeverity.High, "IAM credentials created or changed", "iam.amazonaws.com",
            ["CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "DeactivateMFADevice", "DeleteVirtualMFADevice",
             "CreateServiceSpecificCredential", "UploadSSHPublicKey", "UpdateAccessKey"]),
        new(RiskSeverity.High, "IAM permissions changed", "iam.amazonaws.com",
            ["AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy", "PutUserPolicy", "PutRolePolicy", "PutGroupPolicy",
             "CreatePolicyVersion", "SetDefaultPolicyVersion", "UpdateAssumeRolePolicy", "AddUserToGroup", "PutUserPermissionsBoundary",
             "DeleteRolePermissionsBoundary", "DeleteUserPermissionsBoundary"]),
        new(RiskSeverity.Medium, "IAM principal created", "iam.amazonaws.com", ["CreateUser", "CreateRole", "CreateSAMLProvider", "CreateOpenIDConnectProvider"]),
        new(RiskSeverity.High, "console sign-in token requested", "signin.amazonaws.com", ["GetSigninToken"]),

        // Keys and data exposure.
        new(RiskSeverity.Critical, "KMS key scheduled for deletion or disabled", "kms.amazonaws.com", ["ScheduleKeyDeletion", "DisableKey"]),
        new(RiskSeverity.High, "security group opened to the world", "ec2.amazonaws.com",
            ["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"], RiskCondition.OpensToWorld),
        new(RiskSeverity.Medium, "network ACL opened to the world", "ec2.amazonaws.com", ["CreateNetworkAclEntry", "ReplaceNetworkAclEntry"], RiskCondition.OpensToWorld),
        new(RiskSeverity.High, "resource policy grants access to everyone", null,
            ["PutBucketPolicy", "PutKeyPolicy", "SetQueueAttributes", "SetTopicAttributes", "AddPermission", "PutResourcePolicy", "PutRepositoryPolicy",
             "SetRepositoryPolicy", "CreateGrant"], RiskCondition.GrantsToEveryone),
        new(RiskSeverity.High, "S3 public access block removed", null,
            ["DeleteBucketPublicAccessBlock", "DeletePublicAccessBlock", "DeleteAccountPublicAccessBlock"]),
        new(RiskSeverity.Medium, "snapshot or image sharing changed", "ec2.amazonaws.com",
            ["ModifySnapshotAttribute", "ModifyImageAttribute", "DisableEbsEncryptionByDefault"]),
        new(RiskSeverity.Medium, "RDS snapshot sharing changed", "rds.amazonaws.com", ["ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"]),
        new(RiskSeverity.Medium, "secret deleted", "secretsmanager.amazonaws.com", ["DeleteSecret"]),

        // The organization itself.
        new(RiskSeverity.Critical, "leaving or dismantling the organization", "organizations.amazonaws.com",
            ["LeaveOrganization", "RemoveAccountFromOrganization", "DeleteOrganization", "DisableAWSServiceAccess", "DeregisterDelegatedAdministrator"]),
        new(RiskSeverity.High, "service control policy changed", "organizations.amazonaws.com", ["AttachPolicy", "DetachPolicy", "DeletePolicy", "UpdatePolicy"]),
        new(RiskSeverity.Medium, "account region or contact changed", "account.amazonaws.com", ["EnableRegion", "DisableRegion", "PutAlternateContact"]),

        // Findings from the detectors themselves.
        new(RiskSeverity.High, "high-severity GuardDuty finding", "GuardDuty Finding", [], RiskCondition.FindingSeverity, 7.0),
        new(RiskSeverity.Medium, "medium-severity GuardDuty finding", "GuardDuty Finding", [], RiskCondition.FindingSeverity, 4.0),
        new(RiskSeverity.High, "high-severity Security Hub finding", "Security Hub Findings - Imported", [], RiskCondition.FindingSeverity, 7.0),
    ]);

    private readonly IReadOnlyList<RiskRule> _rules;
    private readonly Dictionary<string, List<RiskRule>> _byName = new(StringComparer.Ordinal);
    private readonly List<RiskRule> _anyName = [];

    public RiskCatalog(IReadOnlyList<RiskRule> rules)
    {
        _rules = rules;
        foreach (var rule in rules)
        {
            if (rule.EventNames.Count == 0) { _anyName.Add(rule); continue; }
            foreach (var name in rule.EventNames)
            {
                if (!_byName.TryGetValue(name, out var list)) _byName[name] = list = [];
                list.Add(rule);
            }
        }
    }

    public IReadOnlyList<RiskRule> Rules => _rules;

    /// <summary>The most severe rule that flags <paramref name="evt"/>, or null when the event is routine.</summary>
    public RiskRule? Assess(OrgEvent evt)
    {
        RiskRule? worst = null;
        if (evt.CloudTrail is { } ct && _byName.TryGetValue(ct.EventName, out var named))
            foreach (var rule in named)
                if (Applies(rule, evt) && (worst is null || rule.Severity > worst.Severity)) worst = rule;
        foreach (var rule in _anyName)
            if (Applies(rule, evt) && (worst is null || rule.Severity > worst.Severity)) worst = rule;
        return worst;
    }

    /// <summary>Whether a call's target (a name or an ARN) is one of the pipeline's own resources.</summary>
    public static bool NamesPipelineResource(string? target) =>
        target is not null &&
        (target.Contains(PipelineNamePrefix, StringComparison.OrdinalIgnoreCase) || target.Contains(PipelineStackPrefix, StringComparison.OrdinalIgnoreCase));

    private static bool Applies(RiskRule rule, OrgEvent evt)
    {
        var ct = evt.CloudTrail;
        if (rule.Condition == RiskCondition.FindingSeverity)
            return evt.Finding?.Severity is double s && s >= rule.MinFindingSeverity && evt.DetailType == rule.EventSource;
        if (ct is null) return false;
        if (rule.EventSource is not null && !string.Equals(ct.EventSource, rule.EventSource, StringComparison.Ordinal)) return false;
        return rule.Condition switch
        {
            RiskCondition.Always => true,
            // Root acting through an AWS service (invokedBy set) is the service's doing, not a person's.
            RiskCondition.RootIdentity => ct.Identity.IsRoot && ct.Identity.InvokedBy is null,
            RiskCondition.ConsoleLoginWithoutMfa => ct.Facts.MfaUsed == "No" && ct.Facts.ConsoleLoginResult != "Failure" && ct.ErrorCode is null,
            RiskCondition.ConsoleLoginFailed => ct.Facts.ConsoleLoginResult == "Failure" || ct.ErrorCode is not null,
            RiskCondition.OpensToWorld => ct.Facts.IngressRanges.Any(r => r is "0.0.0.0/0" or "::/0"),
            RiskCondition.GrantsToEveryone => ct.Facts.GrantsToEveryone,
            // CloudFormation deleting or replacing the rule or role while it deploys the StackSet is the deployment's
            // doing: the StackSet or stack call that caused it (made by a person) is what gets flagged.
            RiskCondition.TargetsPipeline => NamesPipelineResource(ct.Target) && ct.Identity.InvokedBy != "cloudformation.amazonaws.com",
            _ => false,
        };
    }
}
