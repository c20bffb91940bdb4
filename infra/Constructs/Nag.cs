using Amazon.CDK;
using Constructs;

namespace Pipeline.Infra.Constructs;

/// <summary>One cdk-nag finding accepted on purpose, with the reason a reviewer reads.</summary>
/// <param name="RuleId">e.g. AwsSolutions-IAM5.</param>
/// <param name="Reason">Why the finding does not apply or is accepted (cdk-nag wants at least 10 characters).</param>
/// <param name="AppliesTo">The finding's details (e.g. "Resource::arn:...:key/*") when only some of them are accepted.</param>
internal sealed record NagSuppression(string RuleId, string Reason, params string[] AppliesTo);

/// <summary>
/// Writes cdk-nag suppressions as CloudFormation metadata (<c>Metadata.cdk_nag.rules_to_suppress</c>) on the
/// resource itself. cdk-nag has no .NET package; the node check (infra/nag/check.js) loads the synthesized
/// templates and honours this metadata, so the suppression and its reason live in the C# next to the resource.
/// </summary>
internal static class Nag
{
    /// <summary>Sets all suppressions of one resource (call once per resource: the metadata key is replaced, not merged).</summary>
    public static void Suppress(IConstruct construct, params NagSuppression[] suppressions)
    {
        var resource = construct as CfnResource
            ?? construct.Node.DefaultChild as CfnResource
            ?? throw new ArgumentException($"{construct.Node.Path} is not a CloudFormation resource.", nameof(construct));
        var rules = suppressions.Select(s =>
        {
            var rule = new Dictionary<string, object> { ["id"] = s.RuleId, ["reason"] = s.Reason };
            if (s.AppliesTo.Length > 0)
                rule["applies_to"] = s.AppliesTo;
            return rule;
        }).ToArray();
        resource.AddMetadata("cdk_nag", new Dictionary<string, object> { ["rules_to_suppress"] = rules });
    }
}
