using Pipeline.Infra.Settings;

namespace Pipeline.Infra.Tests;

/// <summary>The alarm settings: an address for the topic the stack creates, refused where it cannot work.</summary>
public sealed class AlarmSettingsTests
{
    private static readonly string InfraDirectory = Path.Combine(Pipeline.TestSupport.SharedCorpus.RepositoryRoot, "infra");

    private static Dictionary<string, object?> Valid() => new()
    {
        ["orgId"] = "o-abc123def456",
        ["securityAccountId"] = "111111111111",
        ["managementAccountId"] = "222222222222",
        ["centralRegion"] = "eu-west-1",
        ["memberOrganizationalUnitIds"] = "r-ab12",
        ["memberRegions"] = "eu-west-1",
        ["bootstrapAsset"] = SettingsReader.PlaceholderAssetFolder,
    };

    private static PipelineSettings Read(Dictionary<string, object?> context) =>
        SettingsReader.Read(key => context.GetValueOrDefault(key), InfraDirectory);

    [Fact]
    public void An_alarm_email_is_read_for_the_topic_the_stack_creates()
    {
        var context = Valid();
        context["alarmEmail"] = "security-oncall@example.com";
        var settings = Read(context);
        Assert.Equal("security-oncall@example.com", settings.AlarmEmail);
        Assert.Null(settings.AlarmTopicArn);
    }

    [Fact]
    public void An_alarm_email_that_is_not_an_address_is_rejected_naming_the_key()
    {
        var context = Valid();
        context["alarmEmail"] = "security team";
        var problems = Assert.Throws<SettingsException>(() => Read(context)).Problems;
        Assert.Contains(problems, p => p.StartsWith("alarmEmail: \"security team\" is not valid", StringComparison.Ordinal));
    }

    [Fact]
    public void An_alarm_email_with_a_topic_of_your_own_is_rejected_saying_what_to_do()
    {
        var context = Valid();
        context["alarmEmail"] = "security-oncall@example.com";
        context["alarmTopicArn"] = "arn:aws:sns:eu-west-1:111111111111:security-alarms";
        var problems = Assert.Throws<SettingsException>(() => Read(context)).Problems;
        Assert.Contains(problems, p => p.StartsWith("alarmEmail: only for the topic the stack creates", StringComparison.Ordinal)
            && p.Contains("aws sns subscribe", StringComparison.Ordinal));
    }
}
