using System.Text.Json.Nodes;
using static Pipeline.Infra.Tests.Cfn;

namespace Pipeline.Infra.Tests;

/// <summary>Settings that change the templates: each variant is a second, small app in the same jsii process.</summary>
[Collection(CdkCollection.Name)]
public sealed class VariantTests(SynthesizedApp app)
{
    private (Pipeline.Infra.PipelineStacks Stacks, IReadOnlyDictionary<string, JsonObject> Templates) Build(params (string Key, object Value)[] changes)
    {
        var context = SynthesizedApp.BaseContext();
        foreach (var (key, value) in changes)
            context[key] = value;
        return app.Build(context);
    }

    [Fact]
    public void Read_only_events_switch_every_forwarding_rule_and_the_bus_rule_to_all_management_events()
    {
        var (stacks, templates) = Build(("includeReadOnlyEvents", true), ("forwardedEvents", new[] { "cloudtrail-api-calls" }));
        const string all = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";
        var pattern = JsonNode.Parse("""{"source": [{"prefix": "aws."}], "detail-type": ["AWS API Call via CloudTrail"]}""")!;
        var set = Props(Single(templates[stacks.MemberForwarding.StackName], "AWS::CloudFormation::StackSet").Resource);
        ForwardingTests.AssertForwarding(JsonNode.Parse((string)set["TemplateBody"]!)!.AsObject(), all, pattern);
        foreach (var management in stacks.ManagementForwarding)
            ForwardingTests.AssertForwarding(templates[management.StackName], all, pattern);
        var busRule = Props(Single(templates[stacks.Central.StackName], "AWS::Events::Rule").Resource);
        Equal(JsonValue.Create(all), busRule["State"]);
    }

    [Fact]
    public void Provisioned_stream_takes_the_shard_count()
    {
        var (stacks, templates) = Build(("streamMode", "provisioned"), ("streamShardCount", "4"));
        var stream = Props(Single(templates[stacks.Central.StackName], "AWS::Kinesis::Stream").Resource);
        Equal(JsonValue.Create(4), stream["ShardCount"]);
        Equal(JsonNode.Parse("""{"StreamMode": "PROVISIONED"}"""), stream["StreamModeDetails"]);
        Assert.Equal("KMS", (string?)stream["StreamEncryption"]!["EncryptionType"]);
    }

    [Fact]
    public void Burst_settings_reach_the_function_and_leave_the_tumbling_window_alone()
    {
        var (stacks, templates) = Build(("burstGapSeconds", "60"), ("burstMaxWindowSeconds", "3600"), ("burstLatenessSeconds", "120"));
        var central = templates[stacks.Central.StackName];
        Equal(JsonValue.Create(60), Props(Single(central, "AWS::Lambda::EventSourceMapping").Resource)["TumblingWindowInSeconds"]);
        var variables = Props(Single(central, "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!;
        Equal(JsonValue.Create("60"), variables["BURST_GAP"]);
        Equal(JsonValue.Create("3600"), variables["BURST_MAX_WINDOW"]);
        Equal(JsonValue.Create("120"), variables["BURST_LATENESS"]);
    }

    [Fact]
    public void Rollup_and_alert_settings_reach_the_function()
    {
        var (stacks, templates) = Build(("rollupMinAccounts", "5"), ("rollupWindowSeconds", "300"), ("alertSeverity", "high"));
        var variables = Props(Single(templates[stacks.Central.StackName], "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!;
        Equal(JsonValue.Create("5"), variables["ROLLUP_MIN_ACCOUNTS"]);
        Equal(JsonValue.Create("300"), variables["ROLLUP_WINDOW"]);
        Equal(JsonValue.Create("high"), variables["ALERT_SEVERITY"]);

        var (offStacks, offTemplates) = Build(("rollupMinAccounts", "0"), ("alertSeverity", "off"));
        var off = Props(Single(offTemplates[offStacks.Central.StackName], "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!;
        Equal(JsonValue.Create("0"), off["ROLLUP_MIN_ACCOUNTS"]);
        Equal(JsonValue.Create("180"), off["ROLLUP_WINDOW"]);
        Equal(JsonValue.Create("off"), off["ALERT_SEVERITY"]);
    }

    [Fact]
    public void The_no_events_alarm_follows_its_setting_and_is_gone_at_zero()
    {
        static JsonObject[] NoEvents(IReadOnlyDictionary<string, JsonObject> templates, Pipeline.Infra.PipelineStacks stacks) =>
            [.. Resources(templates[stacks.Central.StackName], "AWS::CloudWatch::Alarm").Select(a => Props(a.Resource))
                .Where(a => ((string?)a["AlarmName"])?.EndsWith("-no-events", StringComparison.Ordinal) == true)];
        var (stacks, templates) = Build(("noEventsAlarmMinutes", "180"));
        Equal(JsonValue.Create(36), Assert.Single(NoEvents(templates, stacks))["EvaluationPeriods"]);
        var (offStacks, offTemplates) = Build(("noEventsAlarmMinutes", "0"));
        Assert.Empty(NoEvents(offTemplates, offStacks));
        var error = Assert.Throws<Pipeline.Infra.Settings.SettingsException>(() => Build(("noEventsAlarmMinutes", "7")));
        Assert.Contains("noEventsAlarmMinutes: 7 is not allowed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_silence_threshold_reaches_the_function_and_a_few_seconds_is_refused()
    {
        var (stacks, templates) = Build(("silenceAfterSeconds", "0"));
        var variables = Props(Single(templates[stacks.Central.StackName], "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!;
        Equal(JsonValue.Create("0"), variables["SILENCE_AFTER"]);
        var error = Assert.Throws<Pipeline.Infra.Settings.SettingsException>(() => Build(("silenceAfterSeconds", "30")));
        Assert.Contains("silenceAfterSeconds: 30 is too short", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Window_seconds_alone_set_the_tumbling_window_and_the_iterator_age_alarm()
    {
        var (stacks, templates) = Build(("windowSeconds", "900"), ("burstLatenessSeconds", "0"));
        var central = templates[stacks.Central.StackName];
        Equal(JsonValue.Create(900), Props(Single(central, "AWS::Lambda::EventSourceMapping").Resource)["TumblingWindowInSeconds"]);
        var variables = Props(Single(central, "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!;
        Equal(JsonValue.Create("600"), variables["BURST_MAX_WINDOW"]);
        var iteratorAge = Resources(central, "AWS::CloudWatch::Alarm").Select(a => Props(a.Resource))
            .Single(a => (string?)a["MetricName"] == "IteratorAge");
        Equal(JsonValue.Create((900 + 0 + 600) * 1000), iteratorAge["Threshold"]);
    }

    [Fact]
    public void A_customer_key_for_the_Slack_parameter_replaces_the_any_key_statement()
    {
        const string keyArn = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        var (stacks, templates) = Build(("slackWebhookParameterKeyArn", keyArn));
        var central = templates[stacks.Central.StackName];
        var policy = Resources(central, "AWS::IAM::Policy").Select(p => p.Resource)
            .Single(p => Statements(p).Any(s => (string?)s["Sid"] == "DecryptSlackWebhook"));
        var decrypt = Statements(policy).Single(s => (string?)s["Sid"] == "DecryptSlackWebhook");
        Equal(JsonValue.Create(keyArn), decrypt["Resource"]);
        Assert.Null(decrypt["Condition"]);
        // No wildcard left, so no cdk-nag suppression either.
        Assert.Null(policy["Metadata"]?["cdk_nag"]);
    }

    [Fact]
    public void Bot_token_mode_sets_the_mode_token_parameter_and_channels_and_lets_the_function_read_only_the_token()
    {
        var (stacks, templates) = Build(("slackMode", "bot-token"), ("slackDefaultChannel", "#aws-activity"), ("slackAlertChannel", "#security-alerts"));
        var central = templates[stacks.Central.StackName];
        var variables = Props(Single(central, "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!.AsObject();
        Equal(JsonValue.Create("bot-token"), variables["SLACK_MODE"]);
        Equal(JsonValue.Create("/security-pipeline/slack-bot-token"), variables["SLACK_BOT_TOKEN_PARAMETER"]);
        Equal(JsonValue.Create("#aws-activity"), variables["SLACK_DEFAULT_CHANNEL"]);
        Equal(JsonValue.Create("#security-alerts"), variables["SLACK_ALERT_CHANNEL"]);
        Assert.False(variables.ContainsKey("SLACK_WEBHOOK_PARAMETER"));

        var statements = Resources(central, "AWS::IAM::Policy").SelectMany(p => Statements(p.Resource)).ToList();
        var read = statements.Single(s => (string?)s["Sid"] == "ReadSlackBotToken");
        Assert.Equal(["ssm:GetParameter"], AsArray(read["Action"]).Select(a => (string?)a));
        Assert.EndsWith(":parameter/security-pipeline/slack-bot-token\"]]}", read["Resource"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.NotNull(statements.Single(s => (string?)s["Sid"] == "DecryptSlackBotToken")["Condition"]?["StringEquals"]?["kms:ViaService"]);
        Assert.DoesNotContain(statements, s => ((string?)s["Sid"])?.Contains("SlackWebhook", StringComparison.Ordinal) == true);

        // Without an alert channel the variable is not set at all.
        var (plain, plainTemplates) = Build(("slackMode", "bot-token"), ("slackDefaultChannel", "#aws-activity"));
        var plainVariables = Props(Single(plainTemplates[plain.Central.StackName], "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!.AsObject();
        Assert.False(plainVariables.ContainsKey("SLACK_ALERT_CHANNEL"));
    }

    [Fact]
    public void The_function_can_run_on_x86_64_when_the_bootstrap_is_built_for_it()
    {
        var (stacks, templates) = Build(("functionArchitecture", "x86_64"));
        var function = Props(Single(templates[stacks.Central.StackName], "AWS::Lambda::Function").Resource);
        Equal(Strings("x86_64"), function["Architectures"]);
    }

    [Fact]
    public void Delegated_administrator_deploys_the_StackSet_from_the_security_account()
    {
        var (stacks, templates) = Build(("stackSetAdministrator", "delegated-admin"));
        Assert.Equal(SynthesizedApp.SecurityAccount, stacks.MemberForwarding.Account);
        var set = Props(Single(templates[stacks.MemberForwarding.StackName], "AWS::CloudFormation::StackSet").Resource);
        Equal(JsonValue.Create("DELEGATED_ADMIN"), set["CallAs"]);
    }

    [Fact]
    public void A_redeploy_over_a_removal_reuses_the_kept_key_alias_and_tables_instead_of_creating_them()
    {
        const string kept = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        var (stacks, templates) = Build(("retainedKeyArn", kept));
        var central = templates[stacks.Central.StackName];
        Assert.Empty(Resources(central, "AWS::KMS::Key"));
        Assert.Empty(Resources(central, "AWS::KMS::Alias"));
        // Only the carry table is new (its old one went with the removal).
        var table = Props(Single(central, "AWS::DynamoDB::Table").Resource);
        Assert.Null(table["TableName"]);
        Equal(JsonValue.Create(kept), table["SSESpecification"]!["KMSMasterKeyId"]);

        var variables = Props(Single(central, "AWS::Lambda::Function").Resource)["Environment"]!["Variables"]!;
        Equal(JsonValue.Create("security-pipeline-accounts"), variables["ACCOUNTS_TABLE"]);
        Equal(JsonValue.Create("security-pipeline-digest-ledger"), variables["LEDGER_TABLE"]);
        var statements = Resources(central, "AWS::IAM::Policy").SelectMany(p => Statements(p.Resource)).ToList();
        Equal(JsonValue.Create(kept), statements.Single(s => (string?)s["Sid"] == "UsePipelineKey")["Resource"]);
        Assert.EndsWith(":table/security-pipeline-accounts\"]]}", statements.Single(s => (string?)s["Sid"] == "ReadAccountNames")["Resource"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.EndsWith(":table/security-pipeline-digest-ledger\"]]}", statements.Single(s => (string?)s["Sid"] == "KeepDigestLedger")["Resource"]!.ToJsonString(), StringComparison.Ordinal);

        Equal(JsonValue.Create(kept), Props(Single(central, "AWS::Kinesis::Stream").Resource)["StreamEncryption"]!["KeyId"]);
        Assert.All(Resources(central, "AWS::SQS::Queue"), q => Equal(JsonValue.Create(kept), Props(q.Resource)["KmsMasterKeyId"]));
        Equal(JsonValue.Create(kept), central["Outputs"]!["KeyArn"]!["Value"]);
    }
}
