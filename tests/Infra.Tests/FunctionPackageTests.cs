extern alias function;

using System.Text.Json.Nodes;
using Pipeline.Enricher.Muting;
using static Pipeline.Infra.Tests.Cfn;
using LambdaOptions = function::Pipeline.Lambda.Configuration.LambdaOptions;
using SlackMode = Pipeline.Slack.Delivery.SlackMode;

namespace Pipeline.Infra.Tests;

/// <summary>
/// What the function receives from the stack, checked against the function's own code: the package (bootstrap and
/// mute rules) and the environment, in both Slack modes, read by <see cref="LambdaOptions.FromEnvironment"/> as the
/// function reads it at start-up.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed class FunctionPackageTests(SynthesizedApp app)
{
    private static readonly string DemoRules = Path.Combine(Pipeline.TestSupport.SharedCorpus.RepositoryRoot, "samples", "demo", "mute-rules.json");

    private (JsonObject Function, string Outdir) Build(params (string Key, object Value)[] changes)
    {
        var context = SynthesizedApp.BaseContext();
        foreach (var (key, value) in changes)
            context[key] = value;
        var outdir = Path.Combine(Path.GetTempPath(), "package-" + Guid.NewGuid().ToString("N"));
        var (stacks, templates) = app.Build(context, outdir);
        return (Props(Single(templates[stacks.Central.StackName], "AWS::Lambda::Function").Resource), outdir);
    }

    /// <summary>The folder CDK staged for the function's code (cdk.out/asset.HASH), found by the template's S3 key.</summary>
    private static string StagedPackage(JsonObject function, string outdir)
    {
        var key = (string)function["Code"]!["S3Key"]!;
        return Path.Combine(outdir, "asset." + Path.GetFileNameWithoutExtension(key));
    }

    private static JsonObject Variables(JsonObject function) => function["Environment"]!["Variables"]!.AsObject();

    [Fact]
    public void Mute_rules_travel_in_the_function_package_beside_the_bootstrap_where_MUTE_RULES_points()
    {
        var (function, outdir) = Build(("muteRulesFile", "../samples/demo/mute-rules.json"));
        Equal(JsonValue.Create("/var/task/mute-rules.json"), Variables(function)["MUTE_RULES"]);

        var package = StagedPackage(function, outdir);
        Assert.Equal(File.ReadAllBytes(DemoRules), File.ReadAllBytes(Path.Combine(package, "mute-rules.json")));
        var bootstrap = Path.Combine(package, "bootstrap");
        Assert.Equal(File.ReadAllBytes(Path.Combine(app.InfraDirectory, "placeholder-asset", "bootstrap")), File.ReadAllBytes(bootstrap));
        if (!OperatingSystem.IsWindows())
            Assert.True(File.GetUnixFileMode(bootstrap).HasFlag(UnixFileMode.UserExecute), "Lambda starts bootstrap: it must stay executable");
        // The file the function will load is one its own loader accepts.
        Assert.Equal(MuteRuleSet.Load(DemoRules).RuleNames, MuteRuleSet.Load(Path.Combine(package, "mute-rules.json")).RuleNames);
        // The user's asset folder is left as it was.
        Assert.False(File.Exists(Path.Combine(app.InfraDirectory, "placeholder-asset", "mute-rules.json")));
    }

    [Fact]
    public void Without_mute_rules_the_package_is_the_asset_folder_and_MUTE_RULES_is_unset()
    {
        var (function, outdir) = Build();
        Assert.False(Variables(function).ContainsKey("MUTE_RULES"));
        Assert.Equal(["bootstrap"], Directory.GetFiles(StagedPackage(function, outdir)).Select(Path.GetFileName));
    }

    /// <summary>The function's environment as Lambda would set it: CloudFormation references become plausible values.</summary>
    private static Func<string, string?> AsDeployed(JsonObject variables) => name =>
        name == "AWS_REGION" ? SynthesizedApp.Region
        : variables[name] switch
        {
            null => null,
            JsonValue value => (string?)value,
            // Ref/GetAtt of a table or a queue: a name, or the queue's URL.
            _ when name == "OUTBOX_QUEUE_URL" => $"https://sqs.{SynthesizedApp.Region}.amazonaws.com/{SynthesizedApp.SecurityAccount}/outbox",
            _ => "resolved-" + name.ToLowerInvariant(),
        };

    [Fact]
    public void The_function_accepts_the_webhook_environment_the_stack_writes()
    {
        var (function, _) = Build(("muteRulesFile", "../samples/demo/mute-rules.json"));
        var options = LambdaOptions.FromEnvironment(AsDeployed(Variables(function)));
        Assert.Equal(SlackMode.Webhook, options.SlackMode);
        Assert.Equal("/security-pipeline/slack-webhook", options.SlackWebhookParameter);
        Assert.Equal("/var/task/mute-rules.json", options.MuteRulesPath);
        Assert.Equal("resolved-accounts_table", options.AccountsTable);
    }

    [Fact]
    public void The_function_accepts_the_bot_token_environment_and_routes_by_the_channels_the_settings_name()
    {
        var (function, _) = Build(("slackMode", "bot-token"), ("slackDefaultChannel", "#aws-activity"), ("slackAlertChannel", "C0123ABCD"),
            ("slackBotTokenParameterName", "/org/slack/bot"));
        var options = LambdaOptions.FromEnvironment(AsDeployed(Variables(function)));
        Assert.Equal(SlackMode.BotToken, options.SlackMode);
        Assert.Equal("/org/slack/bot", options.SlackBotTokenParameter);
        Assert.Equal(("#aws-activity", "C0123ABCD"), (options.SlackDefaultChannel, options.SlackAlertChannel));
        // Per-account channels come from the accounts table, which the function may read.
        Assert.Equal("resolved-accounts_table", options.AccountsTable);
        Assert.Null(options.MuteRulesPath);
    }
}
