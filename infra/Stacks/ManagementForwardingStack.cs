using Amazon.CDK;
using Constructs;
using Pipeline.Infra.Constructs;

namespace Pipeline.Infra.Stacks;

/// <summary>
/// The management account's forwarding rule in one region: service-managed StackSets never deploy to the
/// management account, yet it is the account whose events matter most.
/// </summary>
internal sealed class ManagementForwardingStack : Stack
{
    public ManagementForwardingStack(Construct scope, string id, EventForwardingProps forwarding, IStackProps props) : base(scope, id, props)
    {
        Forwarding = new EventForwarding(this, "Forwarding", forwarding);
    }

    public EventForwarding Forwarding { get; }
}
