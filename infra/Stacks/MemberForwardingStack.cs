using Amazon.CDK;
using Amazon.CDK.AWS.CloudFormation;
using Constructs;
using CfnStackSet = Amazon.CDK.AWS.CloudFormation.CfnStackSet;
using CfnStackSetProps = Amazon.CDK.AWS.CloudFormation.CfnStackSetProps;
using Pipeline.Infra.Constructs;
using Pipeline.Infra.Settings;

namespace Pipeline.Infra.Stacks;

/// <summary>
/// A service-managed StackSet that gives every account of the chosen OUs, in the chosen regions, the
/// <see cref="EventForwarding"/> rule and role, and follows accounts that join or leave those OUs.
/// Deployed in the management account (or in a StackSets delegated administrator account).
/// </summary>
internal sealed class MemberForwardingStack : Stack
{
    public const string StackSetName = "security-pipeline-member-forwarding";

    public MemberForwardingStack(Construct scope, string id, PipelineSettings settings, EventForwardingProps forwarding, IStackProps props)
        : base(scope, id, props)
    {
        TemplateBody = ForwardingTemplate.Render(forwarding);
        StackSet = new CfnStackSet(this, "StackSet", new CfnStackSetProps
        {
            StackSetName = StackSetName,
            Description = "Security pipeline: forward security events of every member account to the central bus.",
            PermissionModel = "SERVICE_MANAGED",
            CallAs = settings.StackSetAdministrator == StackSetAdministrator.DelegatedAdministrator ? "DELEGATED_ADMIN" : "SELF",
            AutoDeployment = new CfnStackSet.AutoDeploymentProperty { Enabled = true, RetainStacksOnAccountRemoval = false },
            // The template creates a named IAM role (security-pipeline-forwarding-REGION).
            Capabilities = ["CAPABILITY_NAMED_IAM"],
            ManagedExecution = new Dictionary<string, object> { ["Active"] = true },
            // Each account's forwarding is independent of every other's: one account that refuses it (an SCP on
            // events:PutRule or iam:CreateRole, a suspended account, a region not enabled there) must not leave the
            // rest of its OU unmonitored. CloudFormation rounds a percentage tolerance down (10 % of an OU of 9
            // accounts is 0: the first failure stopped the region). 99 % rounds down to every account but one up
            // to 100 accounts (all of a one-account OU): a region fails, and cdk deploy with it, only when (nearly)
            // all its accounts fail, as they do on a template error; isolated failures are looked up afterwards
            // (docs/deploying.md, step 8). SOFT_FAILURE_TOLERANCE keeps the concurrency at MaxConcurrentPercentage
            // instead of lowering it as failures come in. These preferences apply to create, update and delete
            // operations; accounts that join an OU later are deployed by auto-deployment, which ignores them.
            OperationPreferences = new CfnStackSet.OperationPreferencesProperty
            {
                RegionConcurrencyType = "PARALLEL",
                ConcurrencyMode = "SOFT_FAILURE_TOLERANCE",
                MaxConcurrentPercentage = 100,
                FailureTolerancePercentage = 99,
            },
            StackInstancesGroup = new object[]
            {
                new CfnStackSet.StackInstancesProperty
                {
                    DeploymentTargets = new CfnStackSet.DeploymentTargetsProperty
                    {
                        OrganizationalUnitIds = settings.MemberOrganizationalUnitIds.ToArray(),
                    },
                    Regions = settings.MemberRegions.ToArray(),
                },
            },
            TemplateBody = TemplateBody,
        });
    }

    public CfnStackSet StackSet { get; }

    /// <summary>The CloudFormation template each member account receives (JSON).</summary>
    public string TemplateBody { get; }
}
