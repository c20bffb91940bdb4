using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using Pipeline.Infra.Settings;
using Pipeline.TestSupport;

namespace Pipeline.Infra.Tests;

/// <summary>
/// The CDK app built once for all infra tests (jsii start-up and synthesis cost seconds): the stacks of a
/// typical organization, synthesized into a private folder, with their templates as JSON for exact assertions.
/// Also claims a private TMPDIR for jsii (removed on dispose), whatever TMPDIR the runner set.
/// </summary>
public sealed class SynthesizedApp : IDisposable
{
    public const string OrgId = "o-abc123def456";
    public const string SecurityAccount = "111111111111";
    public const string ManagementAccount = "222222222222";
    public const string Region = "eu-west-1";
    public const string TopicArn = "arn:aws:sns:eu-west-1:111111111111:security-alarms";

    private readonly JsiiTempDirectory _temp;

    public SynthesizedApp()
    {
        RepositoryRoot = SharedCorpus.RepositoryRoot;
        InfraDirectory = Path.Combine(RepositoryRoot, "infra");
        _temp = JsiiTempDirectory.Claim(Path.Combine(RepositoryRoot, ".tmp", "infra-tests-jsii"));
        Outdir = Path.Combine(_temp.Path, "cdk.out");

        var built = Build(BaseContext(), Outdir);
        Stacks = built.Stacks;
        Central = built.Templates[Stacks.Central.StackName];
        Member = built.Templates[Stacks.MemberForwarding.StackName];
        Management = Stacks.ManagementForwarding.Select(s => built.Templates[s.StackName]).ToArray();
        Built.Synth();
    }

    public string RepositoryRoot { get; }
    public string InfraDirectory { get; }
    /// <summary>Where the whole app was synthesized (the input of the cdk-nag check).</summary>
    public string Outdir { get; }
    internal PipelineStacks Stacks { get; }
    private App Built => (App)Stacks.Central.Node.Root;

    public JsonObject Central { get; }
    public JsonObject Member { get; }
    public IReadOnlyList<JsonObject> Management { get; }

    /// <summary>Context of a typical deployment: two OUs, two regions, an alarm topic.</summary>
    public static Dictionary<string, object> BaseContext() => new()
    {
        // The CDK CLI sets this; the tests find resources by construct path, so they set it too.
        ["aws:cdk:enable-path-metadata"] = true,
        ["orgId"] = OrgId,
        ["securityAccountId"] = SecurityAccount,
        ["managementAccountId"] = ManagementAccount,
        ["centralRegion"] = Region,
        ["memberOrganizationalUnitIds"] = new[] { "ou-ab12-cdefgh34", "ou-ab12-ijklmn56" },
        ["memberRegions"] = new[] { "eu-west-1", "us-east-1" },
        ["burstGapSeconds"] = 120,
        ["burstMaxWindowSeconds"] = 600,
        ["alarmTopicArn"] = TopicArn,
        // Named, as the checks name it: no NativeAOT build in the infra tests (BootstrapAssetTests cover the real asset).
        ["bootstrapAsset"] = SettingsReader.PlaceholderAssetFolder,
    };

    /// <summary>Builds another app (a variant of the settings) and returns its templates by stack name.</summary>
    internal (PipelineStacks Stacks, IReadOnlyDictionary<string, JsonObject> Templates) Build(Dictionary<string, object> context, string? outdir = null)
    {
        var app = new App(new AppProps
        {
            Context = context,
            Outdir = outdir ?? Path.Combine(_temp.Path, "variant-" + Guid.NewGuid().ToString("N")),
            AnalyticsReporting = false,
        });
        var settings = SettingsReader.Read(key => app.Node.TryGetContext(key), InfraDirectory);
        var stacks = InfraApp.Build(app, settings);
        var all = new Stack[] { stacks.Central, stacks.MemberForwarding }.Concat(stacks.ManagementForwarding);
        var templates = all.ToDictionary(s => s.StackName, s => ToJson(Template.FromStack(s)));
        return (stacks, templates);
    }

    private static JsonObject ToJson(Template template) =>
        JsonNode.Parse(JsonSerializer.Serialize(template.ToJSON()))!.AsObject();

    public void Dispose() => _temp.Dispose();
}

[CollectionDefinition(Name)]
public sealed class CdkCollection : ICollectionFixture<SynthesizedApp>
{
    /// <summary>All tests that touch CDK types share one app and run one at a time (one jsii process).</summary>
    public const string Name = "cdk";
}
