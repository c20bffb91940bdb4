using System.Text.Json;
using Pipeline.Infra.Settings;

namespace Pipeline.Infra.Tests;

/// <summary>Settings are validated before any construct exists, every problem named by its context key.</summary>
public sealed class SettingsReaderTests
{
    private static readonly string InfraDirectory = Path.Combine(Pipeline.TestSupport.SharedCorpus.RepositoryRoot, "infra");

    private static Dictionary<string, object?> Valid() => new()
    {
        ["orgId"] = "o-abc123def456",
        ["securityAccountId"] = "111111111111",
        ["managementAccountId"] = "222222222222",
        ["centralRegion"] = "eu-west-1",
        ["memberOrganizationalUnitIds"] = "ou-ab12-cdefgh34, r-ab12",
        ["memberRegions"] = "[\"eu-west-1\",\"us-east-1\"]",
        // The asset has tests of its own (BootstrapAssetTests); this keeps the rest independent of a built bootstrap.
        ["bootstrapAsset"] = SettingsReader.PlaceholderAssetFolder,
    };

    private static PipelineSettings Read(Dictionary<string, object?> context) =>
        SettingsReader.Read(key => context.GetValueOrDefault(key), InfraDirectory);

    private static IReadOnlyList<string> Problems(Dictionary<string, object?> context) =>
        Assert.Throws<SettingsException>(() => Read(context)).Problems;

    [Fact]
    public void Defaults_fill_everything_but_the_organization()
    {
        var settings = Read(Valid());
        Assert.Equal(["ou-ab12-cdefgh34", "r-ab12"], settings.MemberOrganizationalUnitIds);
        Assert.Equal(["eu-west-1", "us-east-1"], settings.MemberRegions);
        Assert.Equal(Enum.GetValues<ForwardedEventKind>(), settings.ForwardedEvents);
        Assert.Equal((120, 600), (settings.BurstGapSeconds, settings.BurstMaxWindowSeconds));
        Assert.Equal((300, 60), (settings.BurstLatenessSeconds, settings.WindowSeconds));
        Assert.Equal((3, 180, "critical"), (settings.RollupMinAccounts, settings.RollupWindowSeconds, settings.AlertSeverity));
        Assert.True(settings.UsesPlaceholderAsset);
        Assert.True(File.Exists(Path.Combine(settings.BootstrapAssetDirectory, "bootstrap")));
    }

    [Fact]
    public void Bot_token_mode_reads_its_parameter_and_channels_and_needs_a_default_channel()
    {
        var context = Valid();
        context["slackMode"] = "bot-token";
        context["slackDefaultChannel"] = "#aws-activity";
        context["slackAlertChannel"] = "C0123ABCD";
        var settings = Read(context);
        Assert.Equal(SlackDeliveryMode.BotToken, settings.SlackMode);
        Assert.Equal(("/security-pipeline/slack-bot-token", "#aws-activity", "C0123ABCD"),
            (settings.SlackBotTokenParameterName, settings.SlackDefaultChannel, settings.SlackAlertChannel));
        Assert.Equal(SlackDeliveryMode.Webhook, Read(Valid()).SlackMode);

        context.Remove("slackDefaultChannel");
        context["slackAlertChannel"] = "#Not A Channel";
        context["slackWebhookParameterName"] = "/old/webhook";
        var problems = Problems(context);
        Assert.Contains(problems, p => p.StartsWith("slackDefaultChannel: missing; with slackMode bot-token", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("slackAlertChannel: \"#Not A Channel\" is not valid", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("slackWebhookParameterName: only with slackMode webhook", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_missing_required_setting_is_reported_at_once()
    {
        // The asset is the one setting with a default that may be missing on disk: BootstrapAssetTests cover it.
        var problems = Problems(new() { ["bootstrapAsset"] = SettingsReader.PlaceholderAssetFolder });
        Assert.Equal(
            ["orgId", "securityAccountId", "managementAccountId", "centralRegion", "memberOrganizationalUnitIds", "memberRegions"],
            problems.Select(p => p[..p.IndexOf(':', StringComparison.Ordinal)]));
    }

    [Theory]
    [InlineData("orgId", "o-short")]
    [InlineData("securityAccountId", "12345")]
    [InlineData("centralRegion", "Europe")]
    [InlineData("memberOrganizationalUnitIds", "ou-bad")]
    [InlineData("memberRegions", "eu-west-1,eu-west-1")]
    [InlineData("forwardedEvents", "cloudtrail-api-calls,everything")]
    [InlineData("burstMaxWindowSeconds", "86401")]
    [InlineData("burstGapSeconds", "0")]
    [InlineData("maxRecordAgeSeconds", "30")]
    [InlineData("streamMode", "fast")]
    [InlineData("slackWebhookParameterName", "/aws/reserved")]
    [InlineData("slackWebhookParameterName", "has space")]
    [InlineData("slackMode", "token")]
    [InlineData("slackBotTokenParameterName", "/ssm/reserved")]
    [InlineData("slackDefaultChannel", "#security")] // webhook mode: a webhook has its own channel
    [InlineData("slackAlertChannel", "#alerts")]
    [InlineData("alarmTopicArn", "arn:aws:sqs:eu-west-1:111111111111:queue")]
    [InlineData("eventBusName", "default")]
    [InlineData("includeReadOnlyEvents", "yes")]
    [InlineData("functionArchitecture", "riscv")]
    public void A_wrong_value_is_rejected_naming_its_key(string key, string value)
    {
        var context = Valid();
        context[key] = value;
        Assert.Contains(Problems(context), p => p.StartsWith(key + ":", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("burstLatenessSeconds", "-1", "burstLatenessSeconds: \"-1\" is not a whole number from 0 to 3600.")]
    [InlineData("burstLatenessSeconds", "3601", "burstLatenessSeconds: \"3601\" is not a whole number from 0 to 3600.")]
    [InlineData("windowSeconds", "0", "windowSeconds: \"0\" is not a whole number from 1 to 900.")]
    [InlineData("windowSeconds", "901", "windowSeconds: \"901\" is not a whole number from 1 to 900.")]
    [InlineData("rollupMinAccounts", "1", "rollupMinAccounts: 1 is not allowed: write 0 (roll-ups off) or 2–100000 (one account is not a roll-up).")]
    [InlineData("rollupMinAccounts", "-1", "rollupMinAccounts: \"-1\" is not a whole number from 0 to 100000.")]
    [InlineData("rollupWindowSeconds", "0", "rollupWindowSeconds: \"0\" is not a whole number from 1 to 3600.")]
    [InlineData("alertSeverity", "medium", "alertSeverity: \"medium\" is not one of critical, high, off.")]
    [InlineData("windowSeconds", "1m", "windowSeconds: \"1m\" is not a whole number from 1 to 900.")]
    public void Lateness_and_tumbling_window_out_of_range_are_rejected_with_their_range(string key, string value, string message)
    {
        var context = Valid();
        context[key] = value;
        Assert.Equal([message], Problems(context));
    }

    [Fact]
    public void Max_window_may_exceed_the_tumbling_window_limit_and_leaves_the_window_alone()
    {
        var context = Valid();
        context["burstMaxWindowSeconds"] = "3600";
        var settings = Read(context);
        Assert.Equal((3600, 60), (settings.BurstMaxWindowSeconds, settings.WindowSeconds));
    }

    [Fact]
    public void Gap_must_be_shorter_than_the_max_window()
    {
        var context = Valid();
        context["burstGapSeconds"] = 300;
        context["burstMaxWindowSeconds"] = 300;
        Assert.Contains(Problems(context), p => p.StartsWith("burstGapSeconds:", StringComparison.Ordinal) && p.Contains("below burstMaxWindowSeconds", StringComparison.Ordinal));
    }

    [Fact]
    public void Security_account_must_not_be_the_management_account()
    {
        var context = Valid();
        context["securityAccountId"] = "222222222222";
        Assert.Contains(Problems(context), p => p.StartsWith("securityAccountId:", StringComparison.Ordinal));
    }

    [Fact]
    public void Bootstrap_asset_folder_must_hold_a_bootstrap_file()
    {
        var context = Valid();
        context["bootstrapAsset"] = "Settings"; // exists, has no bootstrap
        Assert.Contains(Problems(context), p => p.StartsWith("bootstrapAsset:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_kept_key_must_be_in_the_security_accounts_central_region()
    {
        var context = Valid();
        context["retainedKeyArn"] = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        Assert.Contains(Problems(context), p => p.StartsWith("retainedKeyArn: ", StringComparison.Ordinal) && p.Contains("(111111111111, eu-west-1)", StringComparison.Ordinal));
        context["retainedKeyArn"] = "alias/security-pipeline";
        Assert.Contains(Problems(context), p => p.StartsWith("retainedKeyArn: \"alias/security-pipeline\" is not valid", StringComparison.Ordinal));
        context["retainedKeyArn"] = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        Assert.Equal(context["retainedKeyArn"], Read(context).RetainedKeyArn);
    }

    [Fact]
    public void The_committed_cdk_json_only_lacks_the_organization_specific_settings()
    {
        using var cdkJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(InfraDirectory, "cdk.json")));
        var context = cdkJson.RootElement.GetProperty("context").EnumerateObject()
            .ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        Assert.False(context.ContainsKey("bootstrapAsset"), "cdk.json leaves the asset at its default, where scripts/publish-lambda.sh writes");
        context["bootstrapAsset"] = SettingsReader.PlaceholderAssetFolder; // whether artifacts/lambda is built is not cdk.json's business
        var problems = Problems(context);
        Assert.Equal(
            ["orgId", "securityAccountId", "managementAccountId", "centralRegion", "memberOrganizationalUnitIds", "memberRegions"],
            problems.Select(p => p[..p.IndexOf(':', StringComparison.Ordinal)]));

        foreach (var (key, value) in Valid())
            context[key] = value;
        Assert.Equal(600, Read(context).BurstMaxWindowSeconds);
    }
}
