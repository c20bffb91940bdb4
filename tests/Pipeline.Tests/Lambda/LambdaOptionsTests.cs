using Pipeline.Cli.Lambda;

namespace Pipeline.Tests.Lambda;

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
        var options = Read(("LEDGER_TABLE", "ledger"), ("ACCOUNTS_TABLE", "accounts"), ("SLACK_WEBHOOK_PARAMETER", "/pipeline/slack"),
            ("BURST_GAP", "120"), ("BURST_MAX_WINDOW", "900"), ("AWS_REGION", "eu-west-1"));

        Assert.Equal("ledger", options.LedgerTable);
        Assert.Equal("accounts", options.AccountsTable);
        Assert.Equal(TimeSpan.FromMinutes(2), options.Window.Gap);
        Assert.Equal(TimeSpan.FromMinutes(15), options.Window.MaxWindow);
        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal(LambdaOptions.DefaultStateMaxBytes, options.StateMaxBytes);
    }

    [Fact]
    public void Durations_may_also_be_written_as_people_write_them()
    {
        var options = Read(("LEDGER_TABLE", "l"), ("DIGEST_WEBHOOK_URL", "http://127.0.0.1:9/hook"), ("BURST_GAP", "90s"), ("DEDUPE_HORIZON", "30m"));
        Assert.Equal(TimeSpan.FromSeconds(90), options.Window.Gap);
        Assert.Equal(TimeSpan.FromMinutes(30), options.Dedupe.Horizon);
    }

    [Fact]
    public void A_missing_ledger_and_destination_are_both_named_in_one_message()
    {
        var e = Assert.Throws<LambdaConfigException>(() => Read());
        Assert.Contains("LEDGER_TABLE is not set", e.Message);
        Assert.Contains("SLACK_WEBHOOK_PARAMETER", e.Message);
        Assert.Contains("DIGEST_WEBHOOK_URL", e.Message);
    }

    [Theory]
    [InlineData("BURST_GAP", "soon", "BURST_GAP='soon' is not a duration")]
    [InlineData("BURST_GAP", "3600", "BURST_GAP (1h) must not be longer than BURST_MAX_WINDOW")]
    [InlineData("STATE_MAX_BYTES", "2000000", "STATE_MAX_BYTES='2000000' must be a whole number from 1000 to 1000000")]
    [InlineData("DIGEST_WEBHOOK_URL", "ftp://x", "DIGEST_WEBHOOK_URL='ftp://x' is not an http(s) URL")]
    public void A_bad_value_is_named_with_what_to_write(string name, string value, string expected)
    {
        var env = new Dictionary<string, string> { ["LEDGER_TABLE"] = "l", ["SLACK_WEBHOOK_PARAMETER"] = "/p", [name] = value };
        var e = Assert.Throws<LambdaConfigException>(() => LambdaOptions.FromEnvironment(n => env.GetValueOrDefault(n)));
        Assert.Contains(expected, e.Message);
    }
}
