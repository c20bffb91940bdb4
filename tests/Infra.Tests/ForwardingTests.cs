using System.Text.Json.Nodes;
using static Pipeline.Infra.Tests.Cfn;

namespace Pipeline.Infra.Tests;

/// <summary>The member StackSet and the management-account stacks: what each account forwards, and with which rights.</summary>
[Collection(CdkCollection.Name)]
public sealed class ForwardingTests(SynthesizedApp app)
{
    private static readonly JsonNode CentralBusArn = JsonNode.Parse($$$"""
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:{{{SynthesizedApp.Region}}}:{{{SynthesizedApp.SecurityAccount}}}:event-bus/security-pipeline"]]}
        """)!;

    private static readonly JsonNode DefaultPattern = JsonNode.Parse("""
        {
          "source": [{"prefix": "aws."}],
          "detail-type": ["AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail", "AWS Console Signin via CloudTrail", "GuardDuty Finding", "Security Hub Findings - Imported"]
        }
        """)!;

    private JsonObject StackSet => Props(Single(app.Member, "AWS::CloudFormation::StackSet").Resource);

    private JsonObject MemberTemplate => JsonNode.Parse((string)StackSet["TemplateBody"]!)!.AsObject();

    [Fact]
    public void StackSet_is_service_managed_and_follows_accounts_into_the_chosen_OUs_and_regions()
    {
        var set = StackSet;
        Equal(JsonValue.Create("SERVICE_MANAGED"), set["PermissionModel"]);
        Equal(JsonValue.Create("SELF"), set["CallAs"]);
        Equal(JsonNode.Parse("""{"Enabled": true, "RetainStacksOnAccountRemoval": false}"""), set["AutoDeployment"]);
        Equal(Strings("CAPABILITY_NAMED_IAM"), set["Capabilities"]);
        Equal(JsonNode.Parse("""
            [{"DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-cdefgh34", "ou-ab12-ijklmn56"]}, "Regions": ["eu-west-1", "us-east-1"]}]
            """), set["StackInstancesGroup"]);
        Assert.Equal(SynthesizedApp.ManagementAccount, app.Stacks.MemberForwarding.Account);
    }

    [Fact]
    public void StackSet_rolls_out_to_every_account_of_small_OUs_whatever_fails_in_one_of_them()
    {
        // A percentage tolerance rounds down: 10 % of an OU of 9 accounts is 0, and the strict mode then stops the
        // region at the first failure. 99 % of 2 to 100 accounts tolerates all but one.
        Equal(JsonNode.Parse("""
            {"ConcurrencyMode": "SOFT_FAILURE_TOLERANCE", "FailureTolerancePercentage": 99, "MaxConcurrentPercentage": 100, "RegionConcurrencyType": "PARALLEL"}
            """), StackSet["OperationPreferences"]);
    }

    [Fact]
    public void Member_template_forwards_the_default_events_to_the_central_bus_with_its_own_role()
    {
        AssertForwarding(MemberTemplate, "ENABLED", DefaultPattern);
    }

    [Fact]
    public void Member_template_needs_no_CDK_bootstrap_in_member_accounts()
    {
        var template = MemberTemplate;
        Assert.Null(template["Parameters"]?["BootstrapVersion"]);
        Assert.Null(template["Rules"]);
        // Role, its policy, the two rules, the dead-letter queue, its policy, its alarm.
        Assert.Equal(7, template["Resources"]!.AsObject().Count);
    }

    [Fact]
    public void Management_account_gets_the_same_forwarding_in_every_region()
    {
        Assert.Equal(["eu-west-1", "us-east-1"], app.Stacks.ManagementForwarding.Select(s => s.Region));
        Assert.All(app.Stacks.ManagementForwarding, s => Assert.Equal(SynthesizedApp.ManagementAccount, s.Account));
        Assert.All(app.Management, t => AssertForwarding(t, "ENABLED", DefaultPattern));
    }

    internal static void AssertForwarding(JsonObject template, string state, JsonNode pattern)
    {
        var (roleId, role) = Single(template, "AWS::IAM::Role");
        CentralStackTests.AssertTrustedBy(role, "events.amazonaws.com");
        CentralStackTests.AssertStatements(Single(template, "AWS::IAM::Policy").Resource,
            ("PutOnCentralBus", ["events:PutEvents"], CentralBusArn, null));

        var rule = Props(Resources(template, "AWS::Events::Rule").Single(r => (string?)Props(r.Resource)["Name"] == "security-pipeline-forwarding").Resource);
        Assert.Null(rule["EventBusName"]); // the account's default bus
        Equal(JsonValue.Create(state), rule["State"]);
        Equal(pattern, rule["EventPattern"]);
        Equal(new JsonArray(new JsonObject
        {
            ["Arn"] = CentralBusArn.DeepClone(),
            ["DeadLetterConfig"] = new JsonObject { ["Arn"] = GetAtt(Single(template, "AWS::SQS::Queue").Id) },
            ["Id"] = "central-bus",
            ["RetryPolicy"] = new JsonObject { ["MaximumEventAgeInSeconds"] = 86400, ["MaximumRetryAttempts"] = 185 },
            ["RoleArn"] = GetAtt(roleId),
        }), rule["Targets"]);
    }
}
