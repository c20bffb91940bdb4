using Amazon.CDK;
using Pipeline.Infra.Constructs;
using Pipeline.Infra.Settings;
using Pipeline.Infra.Stacks;

namespace Pipeline.Infra;

/// <summary>The stacks of one deployment, as <see cref="InfraApp.Build"/> made them.</summary>
internal sealed record PipelineStacks(
    CentralStack Central,
    MemberForwardingStack MemberForwarding,
    IReadOnlyList<ManagementForwardingStack> ManagementForwarding);

/// <summary>The CDK app: settings from the context, then one stack per deployment unit.</summary>
internal static class InfraApp
{
    public const string CentralStackName = "SecurityPipeline-Central";
    public const string MemberForwardingStackName = "SecurityPipeline-MemberForwarding";
    public const string ManagementForwardingStackPrefix = "SecurityPipeline-ManagementForwarding-";

    /// <summary>Entry point for <c>cdk synth</c> (cdk.json runs the app from infra/).</summary>
    public static int Run()
    {
        var infraDirectory = Directory.GetCurrentDirectory();
        using var temp = JsiiTempDirectory.Claim(Path.Combine(infraDirectory, ".jsii-tmp"));
        try
        {
            var app = new App();
            Build(app, SettingsReader.Read(key => app.Node.TryGetContext(key), infraDirectory));
            app.Synth();
            return 0;
        }
        catch (SettingsException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    public static PipelineStacks Build(App app, PipelineSettings settings)
    {
        if (settings.UsesPlaceholderAsset)
            Console.Error.WriteLine("note: bootstrapAsset=placeholder-asset: the function is a shell script that fails every invocation on purpose "
                + "(records wait in the stream, the errors alarm fires). Fine for cdk synth and the checks; to deploy, build the real one "
                + "from the repository root with scripts/publish-lambda.sh and leave bootstrapAsset unset.");

        var central = new CentralStack(app, CentralStackName, settings, new StackProps
        {
            Env = new Amazon.CDK.Environment { Account = settings.SecurityAccountId, Region = settings.CentralRegion },
            Description = "Security pipeline: the organization's central bus, stream, function and tables.",
        });

        var forwarding = new EventForwardingProps
        {
            CentralBusArn = $"arn:{Aws.PARTITION}:events:{settings.CentralRegion}:{settings.SecurityAccountId}:event-bus/{settings.EventBusName}",
            Kinds = settings.ForwardedEvents,
            IncludeReadOnlyEvents = settings.IncludeReadOnlyEvents,
        };

        var stackSetAccount = settings.StackSetAdministrator == StackSetAdministrator.DelegatedAdministrator
            ? settings.SecurityAccountId
            : settings.ManagementAccountId;
        var member = new MemberForwardingStack(app, MemberForwardingStackName, settings, forwarding, new StackProps
        {
            Env = new Amazon.CDK.Environment { Account = stackSetAccount, Region = settings.CentralRegion },
            Description = "Security pipeline: StackSet forwarding member accounts' security events to the central bus.",
        });
        // Members start forwarding only once the bus (and its organization policy) exists.
        member.AddDependency(central);

        var management = settings.MemberRegions.Select(region =>
        {
            var stack = new ManagementForwardingStack(app, ManagementForwardingStackPrefix + region, forwarding, new StackProps
            {
                Env = new Amazon.CDK.Environment { Account = settings.ManagementAccountId, Region = region },
                Description = "Security pipeline: forward the management account's security events to the central bus.",
            });
            stack.AddDependency(central);
            return stack;
        }).ToArray();

        return new PipelineStacks(central, member, management);
    }
}
