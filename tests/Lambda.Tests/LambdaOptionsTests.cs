using Pipeline.Lambda.Configuration;

namespace Pipeline.Lambda.Tests;

public sealed class LambdaOptionsTests
{
    private static LambdaOptions Read(params (string Name, string Value)[] vars)
    {
        var env = vars.ToDictionary(v => v.Name, v => v.Value);
        return LambdaOptions.FromEnvironment(name => env.GetValueOrDefault(name));
    }

    [Fact]
    public void The_settings_the_CDK_stack_writes_are_read()
    {
        var options = Read(("LEDGER_TABLE", "ledger"), ("CARRY_TABLE", "carries"), ("ACCOUNTS_TABLE", "accounts"), ("SLACK_WEBHOOK_PARAMETER", "/pipeline/slack"),
            ("BURST_GAP", "120"), ("BURST_MAX_WINDOW", "900"), ("AWS_REGION", "eu-west-1"),
            ("OUTBOX_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/111111111111/outbox"));

        Assert.Equal("ledger", options.LedgerTable);
        Assert.Equal("accounts", options.AccountsTable);
        Assert.Equal(TimeSpan.FromMinutes(2), options.Window.Gap);
        Assert.Equal(TimeSpan.FromMinutes(15), options.Window.MaxWindow);
        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal(LambdaOptions.DefaultStateMaxBytes, options.StateMaxBytes);
        Assert.Equal("ssm:/pipeline/slack", options.SlackSecret.ToString());
        Assert.False(options.SlackSecretOverridden);
        Assert.False(FunctionHost.SlackOptions(options).AllowLoopbackHttp);
        Assert.Equal("https://sqs.eu-west-1.amazonaws.com/111111111111/outbox", options.OutboxQueueUrl);
        Assert.Equal(TimeSpan.FromMinutes(1), options.OutboxDrainInterval);
        Assert.Equal(10, options.OutboxDrainMax);
        Assert.Null(options.MuteRulesPath);
    }

    [Fact]
    public void A_secret_reference_replaces_the_ssm_parameter_and_alone_allows_loopback_http()
    {
        var options = Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("SLACK_WEBHOOK_SECRET", "env:TEST_WEBHOOK"), ("OUTBOX_QUEUE_URL", "http://127.0.0.1:9/0/outbox"),
            ("SLACK_MIN_INTERVAL", "0"), ("OUTBOX_DRAIN_INTERVAL", "off"));

        Assert.Equal("env:TEST_WEBHOOK", options.SlackSecret.ToString());
        Assert.True(FunctionHost.SlackOptions(options).AllowLoopbackHttp);
        Assert.Equal(TimeSpan.Zero, options.SlackMinInterval);
        Assert.Null(options.OutboxDrainInterval);
    }

    [Fact]
    public void A_webhook_url_pasted_where_a_reference_belongs_is_refused_without_echoing_it()
    {
        var e = Assert.Throws<LambdaConfigException>(() => Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("SLACK_WEBHOOK_SECRET", "https://hooks.slack.com/services/T0/B0/s3cr3t")));
        Assert.Contains("SLACK_WEBHOOK_SECRET is not a secret reference", e.Message);
        Assert.DoesNotContain("s3cr3t", e.Message);
    }

    [Fact]
    public void Bot_token_mode_reads_the_token_parameter_and_the_default_and_alert_channels()
    {
        var options = Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"), ("SLACK_MODE", "bot-token"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/pipeline/slack-bot-token"), ("SLACK_DEFAULT_CHANNEL", "#aws-activity"), ("SLACK_ALERT_CHANNEL", "#security-alerts"));

        Assert.Equal(Pipeline.Slack.Delivery.SlackMode.BotToken, options.SlackMode);
        Assert.Equal("ssm:/pipeline/slack-bot-token", options.SlackSecret.ToString());
        Assert.False(options.SlackSecretOverridden);
        var slack = FunctionHost.SlackOptions(options).Validate();
        Assert.Equal((Pipeline.Slack.Delivery.SlackMode.BotToken, "#aws-activity", "#security-alerts"), (slack.Mode, slack.DefaultChannel, slack.AlertChannel));
        Assert.Equal(new Uri("https://slack.com/api/"), slack.ApiBaseUrl);
        Assert.False(slack.AllowLoopbackHttp);

        var overridden = Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"), ("SLACK_MODE", "bot-token"),
            ("SLACK_BOT_TOKEN_PARAMETER", "/p"), ("SLACK_BOT_TOKEN_SECRET", "env:TEST_TOKEN"), ("SLACK_DEFAULT_CHANNEL", "#d"), ("SLACK_API_URL", "http://127.0.0.1:9/api/"));
        Assert.Equal("env:TEST_TOKEN", overridden.SlackSecret.ToString());
        Assert.Null(overridden.SlackAlertChannel);
        Assert.True(FunctionHost.SlackOptions(overridden).Validate().AllowLoopbackHttp);
        Assert.Equal(new Uri("http://127.0.0.1:9/api/"), FunctionHost.SlackOptions(overridden).ApiBaseUrl);
    }

    [Fact]
    public void Bot_token_mode_without_its_token_or_default_channel_names_both_variables()
    {
        var e = Assert.Throws<LambdaConfigException>(() => Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"), ("SLACK_MODE", "bot-token")));
        Assert.Contains("SLACK_BOT_TOKEN_PARAMETER is not set: name the SSM SecureString parameter that holds the Slack bot token", e.Message);
        Assert.Contains("SLACK_DEFAULT_CHANNEL is not set", e.Message);
        Assert.DoesNotContain("SLACK_WEBHOOK_PARAMETER", e.Message);
    }

    [Fact]
    public void An_unknown_mode_and_variables_of_the_other_mode_are_named()
    {
        var mode = Assert.Throws<LambdaConfigException>(() => Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("SLACK_WEBHOOK_PARAMETER", "/p"), ("SLACK_MODE", "token")));
        Assert.Contains("SLACK_MODE='token' must be webhook or bot-token.", mode.Message);

        var webhook = Assert.Throws<LambdaConfigException>(() => Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("SLACK_WEBHOOK_PARAMETER", "/p"), ("SLACK_ALERT_CHANNEL", "#alerts"), ("SLACK_DEFAULT_CHANNEL", "#d")));
        Assert.Contains("SLACK_ALERT_CHANNEL is set but SLACK_MODE is webhook", webhook.Message);
        Assert.Contains("SLACK_DEFAULT_CHANNEL is set but SLACK_MODE is webhook", webhook.Message);

        var bot = Assert.Throws<LambdaConfigException>(() => Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("SLACK_MODE", "bot-token"), ("SLACK_BOT_TOKEN_PARAMETER", "/t"), ("SLACK_DEFAULT_CHANNEL", "#d"), ("SLACK_WEBHOOK_PARAMETER", "/p"),
            ("SLACK_API_URL", "http://slack.example/api/")));
        Assert.Contains("SLACK_WEBHOOK_PARAMETER is set but SLACK_MODE is bot-token", bot.Message);
        Assert.Contains("SLACK_API_URL='http://slack.example/api/' must use https", bot.Message);
    }

    [Fact]
    public void A_bot_token_pasted_where_a_reference_belongs_is_refused_without_echoing_it()
    {
        var e = Assert.Throws<LambdaConfigException>(() => Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("SLACK_MODE", "bot-token"), ("SLACK_DEFAULT_CHANNEL", "#d"), ("SLACK_BOT_TOKEN_SECRET", "xoxb-1111-2222-s3cr3t")));
        Assert.Contains("SLACK_BOT_TOKEN_SECRET is not a secret reference", e.Message);
        Assert.DoesNotContain("s3cr3t", e.Message);
    }

    [Fact]
    public void Durations_may_also_be_written_as_people_write_them()
    {
        var options = Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("SLACK_WEBHOOK_PARAMETER", "/p"), ("OUTBOX_QUEUE_URL", "https://sqs/q"), ("BURST_GAP", "90s"), ("DEDUPE_HORIZON", "30m"));
        Assert.Equal(TimeSpan.FromSeconds(90), options.Window.Gap);
        Assert.Equal(TimeSpan.FromMinutes(30), options.Dedupe.Horizon);
    }

    [Fact]
    public void A_missing_ledger_webhook_and_outbox_are_all_named_in_one_message()
    {
        var e = Assert.Throws<LambdaConfigException>(() => Read());
        Assert.Contains("LEDGER_TABLE is not set", e.Message);
        Assert.Contains("SLACK_WEBHOOK_PARAMETER is not set", e.Message);
        Assert.Contains("OUTBOX_QUEUE_URL is not set", e.Message);
        Assert.Contains("CARRY_TABLE is not set", e.Message);
    }

    [Fact]
    public void The_lateness_the_carry_table_and_its_lease_are_read()
    {
        var defaults = Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "carries"), ("SLACK_WEBHOOK_PARAMETER", "/p"), ("OUTBOX_QUEUE_URL", "https://sqs/q"));
        Assert.Equal(("carries", TimeSpan.FromMinutes(5), TimeSpan.FromHours(1)), (defaults.CarryTable, defaults.Window.Lateness, defaults.CarryLease));

        var set = Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("SLACK_WEBHOOK_PARAMETER", "/p"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("BURST_LATENESS", "600"), ("CARRY_LEASE", "2h"));
        Assert.Equal((TimeSpan.FromMinutes(10), TimeSpan.FromHours(2)), (set.Window.Lateness, set.CarryLease));
        Assert.Equal(TimeSpan.Zero, Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("SLACK_WEBHOOK_PARAMETER", "/p"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("BURST_LATENESS", "0")).Window.Lateness);
        Assert.Equal(TimeSpan.Zero, Read(("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("SLACK_WEBHOOK_PARAMETER", "/p"), ("OUTBOX_QUEUE_URL", "https://sqs/q"),
            ("BURST_LATENESS", "0s")).Window.Lateness);
    }

    [Theory]
    [InlineData("BURST_GAP", "soon", "BURST_GAP='soon' is not a duration")]
    [InlineData("BURST_GAP", "3600", "BURST_GAP (1h) must not be longer than BURST_MAX_WINDOW")]
    [InlineData("BURST_MAX_WINDOW", "3651d", "BURST_MAX_WINDOW must be at most 3650d")] // the function refuses it at start-up, as the command line does
    [InlineData("STATE_MAX_BYTES", "2000000", "STATE_MAX_BYTES='2000000' must be a whole number from 1000 to 1000000")]
    [InlineData("OUTBOX_QUEUE_URL", "ftp://x", "OUTBOX_QUEUE_URL='ftp://x' is not an http(s) URL")]
    [InlineData("OUTBOX_DRAIN_MAX", "0", "OUTBOX_DRAIN_MAX='0' must be a whole number from 1 to 100")]
    [InlineData("OUTBOX_DRAIN_INTERVAL", "often", "OUTBOX_DRAIN_INTERVAL='often' is not a duration")]
    [InlineData("BURST_LATENESS", "late", "BURST_LATENESS='late' is not a duration")]
    [InlineData("CARRY_LEASE", "30s", "CARRY_LEASE (30s) must be at least 1m")]
    public void A_bad_value_is_named_with_what_to_write(string name, string value, string expected)
    {
        var env = new Dictionary<string, string> { ["LEDGER_TABLE"] = "l", ["CARRY_TABLE"] = "c", ["SLACK_WEBHOOK_PARAMETER"] = "/p", ["OUTBOX_QUEUE_URL"] = "https://sqs/q", [name] = value };
        var e = Assert.Throws<LambdaConfigException>(() => LambdaOptions.FromEnvironment(n => env.GetValueOrDefault(n)));
        Assert.Contains(expected, e.Message);
    }

    // Roll-ups and immediate alerts (issue 13).
    private static readonly (string, string)[] Required =
        [("LEDGER_TABLE", "l"), ("CARRY_TABLE", "c"), ("SLACK_WEBHOOK_PARAMETER", "/p"), ("OUTBOX_QUEUE_URL", "https://sqs/q")];

    [Fact]
    public void Rollups_and_alerts_default_as_the_command_line_does_and_read_the_stacks_values()
    {
        var defaults = Read(Required);
        Assert.Equal((3, TimeSpan.FromMinutes(3)), (defaults.Rollup.MinAccounts, defaults.Rollup.Window));
        Assert.Equal(Pipeline.Aggregator.Bursts.RiskSeverity.Critical, defaults.Window.AlertSeverity);

        var set = Read([.. Required, ("ROLLUP_MIN_ACCOUNTS", "5"), ("ROLLUP_WINDOW", "300"), ("ALERT_SEVERITY", "high")]);
        Assert.Equal((5, TimeSpan.FromMinutes(5)), (set.Rollup.MinAccounts, set.Rollup.Window));
        Assert.Equal(Pipeline.Aggregator.Bursts.RiskSeverity.High, set.Window.AlertSeverity);

        var off = Read([.. Required, ("ROLLUP_MIN_ACCOUNTS", "0"), ("ROLLUP_WINDOW", "2m"), ("ALERT_SEVERITY", "OFF")]);
        Assert.False(off.Rollup.Enabled);
        Assert.Equal(TimeSpan.FromMinutes(2), off.Rollup.Window);
        Assert.Null(off.Window.AlertSeverity);
    }

    [Fact]
    public void Silence_after_defaults_to_six_hours_turns_off_at_zero_and_is_named_when_wrong()
    {
        Assert.Equal(TimeSpan.FromHours(6), Read(Required).Silence.After);
        Assert.Equal(TimeSpan.FromDays(1), Read([.. Required, ("SILENCE_AFTER", "1d")]).Silence.After);
        Assert.False(Read([.. Required, ("SILENCE_AFTER", "0")]).Silence.Enabled);
        var e = Assert.Throws<LambdaConfigException>(() => Read([.. Required, ("SILENCE_AFTER", "30")]));
        Assert.Contains("SILENCE_AFTER must be 0 (off) or between 1m and 14d (got 30s)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_rollup_and_alert_settings_are_named_with_what_to_write()
    {
        var e = Assert.Throws<LambdaConfigException>(() => Read([.. Required, ("ROLLUP_MIN_ACCOUNTS", "1"), ("ALERT_SEVERITY", "medium")]));
        Assert.Contains("ROLLUP_MIN_ACCOUNTS must be 0 (off) or 2–100000 (got 1)", e.Message, StringComparison.Ordinal);
        Assert.Contains("ALERT_SEVERITY='medium' must be critical, high or off.", e.Message, StringComparison.Ordinal);

        var window = Assert.Throws<LambdaConfigException>(() => Read([.. Required, ("ROLLUP_WINDOW", "2h")]));
        Assert.Contains("ROLLUP_WINDOW must be between 1s and 1h (got 2h)", window.Message, StringComparison.Ordinal);
        var notNumber = Assert.Throws<LambdaConfigException>(() => Read([.. Required, ("ROLLUP_MIN_ACCOUNTS", "three")]));
        Assert.Contains("ROLLUP_MIN_ACCOUNTS='three' must be a whole number from 0 to 100000.", notNumber.Message, StringComparison.Ordinal);
    }
}
