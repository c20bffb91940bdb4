using System.Text.Json.Nodes;
using static Pipeline.Infra.Tests.Cfn;

namespace Pipeline.Infra.Tests;

/// <summary>The security-relevant properties of the central stack, each asserted by value.</summary>
[Collection(CdkCollection.Name)]
public sealed class CentralStackTests(SynthesizedApp app)
{
    private const string Stack = "SecurityPipeline-Central/";
    private readonly JsonObject _t = app.Central;

    private string Id(string path) => ByPath(_t, Stack + path).Id;
    private JsonObject Resource(string path) => ByPath(_t, Stack + path).Resource;

    [Fact]
    public void Bus_policy_admits_only_principals_of_the_organization()
    {
        var policy = Props(Single(_t, "AWS::Events::EventBusPolicy").Resource);
        Equal(Ref(Id("OrgBus/Bus/Resource")), policy["EventBusName"]);
        Equal(JsonNode.Parse($$$"""
            {
              "Sid": "OrganizationMayPutEvents",
              "Effect": "Allow",
              "Principal": "*",
              "Action": "events:PutEvents",
              "Resource": {"Fn::GetAtt": ["{{{Id("OrgBus/Bus/Resource")}}}", "Arn"]},
              "Condition": {"StringEquals": {"aws:PrincipalOrgID": "{{{SynthesizedApp.OrgId}}}"}}
            }
            """), policy["Statement"]);
    }

    [Fact]
    public void Bus_rule_puts_only_aws_service_events_on_the_stream_keyed_by_account()
    {
        var rule = Props(Resource("OrgBus/ToKinesis"));
        Equal(Ref(Id("OrgBus/Bus/Resource")), rule["EventBusName"]);
        Equal(JsonValue.Create("ENABLED"), rule["State"]);
        Equal(JsonNode.Parse("""{"source": [{"prefix": "aws."}]}"""), rule["EventPattern"]);
        Equal(new JsonArray(new JsonObject
        {
            ["Arn"] = GetAtt(Id("Events/Stream/Resource")),
            ["DeadLetterConfig"] = new JsonObject { ["Arn"] = GetAtt(Id("OrgBus/DeadLetterQueue/Resource")) },
            ["Id"] = "stream",
            ["KinesisParameters"] = new JsonObject { ["PartitionKeyPath"] = "$.account" },
            ["RetryPolicy"] = new JsonObject { ["MaximumEventAgeInSeconds"] = 86400, ["MaximumRetryAttempts"] = 185 },
            ["RoleArn"] = GetAtt(Id("OrgBus/TargetRole/Resource")),
        }), rule["Targets"]);
    }

    [Fact]
    public void Bus_rule_role_may_only_put_records_on_the_stream()
    {
        AssertTrustedBy(Resource("OrgBus/TargetRole/Resource"), "events.amazonaws.com");
        AssertStatements(Resource("OrgBus/TargetRole/DefaultPolicy/Resource"),
            ("PutOnStream", ["kinesis:PutRecord", "kinesis:PutRecords"], GetAtt(Id("Events/Stream/Resource")), null),
            ("EncryptForStream", ["kms:GenerateDataKey"], GetAtt(Id("Key/Resource")), null));
    }

    [Fact]
    public void Bus_dead_letter_queue_accepts_messages_only_from_the_bus_rule()
    {
        var statements = Statements(Resource("OrgBus/DeadLetterQueue/Policy/Resource"));
        var allow = statements.Single(s => (string?)s["Sid"] == "RuleMaySendDeadLetters");
        Equal(JsonNode.Parse($$$"""
            {
              "Action": "sqs:SendMessage",
              "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":events:{{{SynthesizedApp.Region}}}:{{{SynthesizedApp.SecurityAccount}}}:rule/security-pipeline/security-pipeline-to-kinesis"]]} } },
              "Effect": "Allow",
              "Principal": {"Service": "events.amazonaws.com"},
              "Resource": {"Fn::GetAtt": ["{{{Id("OrgBus/DeadLetterQueue/Resource")}}}", "Arn"]},
              "Sid": "RuleMaySendDeadLetters"
            }
            """), allow);
    }

    [Fact]
    public void Key_rotates_and_lets_EventBridge_encrypt_only_for_this_account()
    {
        var key = Props(Resource("Key/Resource"));
        Equal(JsonValue.Create(true), key["EnableKeyRotation"]);
        var events = key["KeyPolicy"]!["Statement"]!.AsArray().Single(s => (string?)s!["Sid"] == "EventBridgeMayEncryptDeadLetters")!;
        Equal(Strings("kms:GenerateDataKey", "kms:Decrypt"), events["Action"]);
        Equal(JsonNode.Parse($$$"""{"StringEquals": {"aws:SourceAccount": "{{{SynthesizedApp.SecurityAccount}}}"}}"""), events["Condition"]);
        Equal(JsonNode.Parse("""{"Service": "events.amazonaws.com"}"""), events["Principal"]);
    }

    [Fact]
    public void Stream_is_encrypted_with_the_pipeline_key_and_on_demand_by_default()
    {
        var stream = Props(Resource("Events/Stream/Resource"));
        Equal(new JsonObject { ["EncryptionType"] = "KMS", ["KeyId"] = GetAtt(Id("Key/Resource")) }, stream["StreamEncryption"]);
        Equal(JsonNode.Parse("""{"StreamMode": "ON_DEMAND"}"""), stream["StreamModeDetails"]);
        Assert.Null(stream["ShardCount"]);
    }

    [Fact]
    public void Every_queue_is_encrypted_with_the_pipeline_key_and_refuses_unencrypted_transport()
    {
        var queues = Resources(_t, "AWS::SQS::Queue").ToArray();
        Assert.Equal(4, queues.Length);
        var policies = Resources(_t, "AWS::SQS::QueuePolicy").Select(p => p.Resource).ToArray();
        foreach (var (id, queue) in queues)
        {
            Equal(GetAtt(Id("Key/Resource")), Props(queue)["KmsMasterKeyId"]);
            var policy = policies.Single(p => JsonNode.DeepEquals(Props(p)["Queues"], new JsonArray(Ref(id))));
            Assert.Contains(Statements(policy), s => JsonNode.DeepEquals(s, JsonNode.Parse($$$"""
                {
                  "Action": "sqs:*",
                  "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                  "Effect": "Deny",
                  "Principal": {"AWS": "*"},
                  "Resource": {"Fn::GetAtt": ["{{{id}}}", "Arn"]}
                }
                """)));
        }
    }

    [Fact]
    public void Outbox_sends_repeatedly_failing_digests_to_its_dead_letter_queue()
    {
        Equal(new JsonObject
        {
            ["deadLetterTargetArn"] = GetAtt(Id("Digests/OutboxDeadLetters/Resource")),
            ["maxReceiveCount"] = 10,
        }, Props(Resource("Digests/Outbox/Resource"))["RedrivePolicy"]);
    }

    [Theory]
    [InlineData("Tables/Accounts/Resource", "security-pipeline-accounts", "accountId", null)]
    [InlineData("Tables/Ledger/Resource", "security-pipeline-digest-ledger", "digestId", "expiresAt")]
    public void Tables_are_encrypted_with_the_pipeline_key_and_recoverable(string path, string name, string key, string? ttl)
    {
        var table = Resource(path);
        var props = Props(table);
        Equal(JsonValue.Create(name), props["TableName"]);
        Equal(JsonNode.Parse($$$"""[{"AttributeName": "{{{key}}}", "KeyType": "HASH"}]"""), props["KeySchema"]);
        Equal(new JsonObject { ["KMSMasterKeyId"] = GetAtt(Id("Key/Resource")), ["SSEEnabled"] = true, ["SSEType"] = "KMS" }, props["SSESpecification"]);
        Equal(JsonNode.Parse("""{"PointInTimeRecoveryEnabled": true}"""), props["PointInTimeRecoverySpecification"]);
        Equal(ttl is null ? null : JsonNode.Parse($$$"""{"AttributeName": "{{{ttl}}}", "Enabled": true}"""), props["TimeToLiveSpecification"]);
        Equal(JsonValue.Create("Retain"), table["DeletionPolicy"]);
    }

    [Fact]
    public void Carry_table_is_keyed_by_account_on_demand_expiring_encrypted_with_the_pipeline_key_and_deleted_with_the_stack()
    {
        var table = Resource("Tables/Carry/Resource");
        var props = Props(table);
        Equal(JsonNode.Parse("""[{"AttributeName": "account", "KeyType": "HASH"}]"""), props["KeySchema"]);
        Equal(JsonNode.Parse("""[{"AttributeName": "account", "AttributeType": "S"}]"""), props["AttributeDefinitions"]);
        Equal(JsonValue.Create("PAY_PER_REQUEST"), props["BillingMode"]);
        Equal(JsonNode.Parse("""{"AttributeName": "expiresAt", "Enabled": true}"""), props["TimeToLiveSpecification"]);
        Equal(new JsonObject { ["KMSMasterKeyId"] = GetAtt(Id("Key/Resource")), ["SSEEnabled"] = true, ["SSEType"] = "KMS" }, props["SSESpecification"]);
        Equal(JsonNode.Parse("""{"PointInTimeRecoveryEnabled": true}"""), props["PointInTimeRecoverySpecification"]);
        Assert.Null(props["TableName"]);
        // Its name is generated, so no later deployment could take it up: kept, it would only be one more table to
        // delete by hand.
        Equal(JsonValue.Create("Delete"), table["DeletionPolicy"]);
        Equal(JsonValue.Create("Delete"), table["UpdateReplacePolicy"]);
    }

    [Theory]
    [InlineData("Key/Resource")]
    [InlineData("Key/Alias/Resource")]
    [InlineData("Tables/Accounts/Resource")]
    [InlineData("Tables/Ledger/Resource")]
    public void A_removal_keeps_the_key_its_alias_and_the_named_tables(string path)
    {
        var resource = Resource(path);
        Equal(JsonValue.Create("Retain"), resource["DeletionPolicy"]);
        Equal(JsonValue.Create("Retain"), resource["UpdateReplacePolicy"]);
    }

    [Fact]
    public void The_alias_names_the_key_after_the_bus_and_the_stack_prints_the_key_for_a_redeploy()
    {
        var alias = Props(Resource("Key/Alias/Resource"));
        Equal(JsonValue.Create("alias/security-pipeline"), alias["AliasName"]);
        Equal(GetAtt(Id("Key/Resource")), alias["TargetKeyId"]);
        Equal(GetAtt(Id("Key/Resource")), _t["Outputs"]!["KeyArn"]!["Value"]);
    }

    [Fact]
    public void Event_source_mapping_uses_a_one_minute_tumbling_window_partial_failures_bisection_and_bounded_retries()
    {
        Equal(new JsonObject
        {
            ["BatchSize"] = 100,
            ["BisectBatchOnFunctionError"] = true,
            ["DestinationConfig"] = new JsonObject { ["OnFailure"] = new JsonObject { ["Destination"] = GetAtt(Id("Digests/FailedBatches/Resource")) } },
            ["EventSourceArn"] = GetAtt(Id("Events/Stream/Resource")),
            ["FunctionName"] = Ref(Id("Digests/Function/Resource")),
            ["FunctionResponseTypes"] = Strings("ReportBatchItemFailures"),
            ["MaximumRecordAgeInSeconds"] = 3600,
            ["MaximumRetryAttempts"] = 3,
            ["ParallelizationFactor"] = 1,
            ["StartingPosition"] = "TRIM_HORIZON",
            // windowSeconds' default, not burstMaxWindowSeconds (600 here).
            ["TumblingWindowInSeconds"] = 60,
        }, Props(Resource("Digests/StreamMapping")));
    }

    [Fact]
    public void Function_is_an_arm64_custom_runtime_with_the_settings_it_reads()
    {
        var function = Props(Resource("Digests/Function/Resource"));
        Equal(JsonValue.Create("provided.al2023"), function["Runtime"]);
        Equal(Strings("arm64"), function["Architectures"]);
        Equal(JsonValue.Create("bootstrap"), function["Handler"]);
        Equal(GetAtt(Id("Digests/Role/Resource")), function["Role"]);
        Equal(new JsonObject
        {
            ["ACCOUNTS_TABLE"] = Ref(Id("Tables/Accounts/Resource")),
            ["LEDGER_TABLE"] = Ref(Id("Tables/Ledger/Resource")),
            ["CARRY_TABLE"] = Ref(Id("Tables/Carry/Resource")),
            ["SLACK_WEBHOOK_PARAMETER"] = "/security-pipeline/slack-webhook",
            ["BURST_GAP"] = "120",
            ["BURST_MAX_WINDOW"] = "600",
            ["BURST_LATENESS"] = "300",
            ["OUTBOX_QUEUE_URL"] = Ref(Id("Digests/Outbox/Resource")),
            // Roll-ups and immediate alerts (issue 13), the settings' defaults.
            ["ROLLUP_MIN_ACCOUNTS"] = "3",
            ["ROLLUP_WINDOW"] = "180",
            ["ALERT_SEVERITY"] = "critical",
            ["SILENCE_AFTER"] = "21600", // the silence check's 6 h
        }, function["Environment"]!["Variables"]);
    }

    [Fact]
    public void Function_role_holds_exactly_the_actions_it_needs_each_on_its_resource()
    {
        var role = Resource("Digests/Role/Resource");
        AssertTrustedBy(role, "lambda.amazonaws.com");
        Assert.Null(Props(role)["ManagedPolicyArns"]);
        var ssmArn = JsonNode.Parse($$$"""{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ssm:{{{SynthesizedApp.Region}}}:{{{SynthesizedApp.SecurityAccount}}}:parameter/security-pipeline/slack-webhook"]]}""")!;
        var anyKeyOfAccount = JsonNode.Parse($$$"""{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":kms:{{{SynthesizedApp.Region}}}:{{{SynthesizedApp.SecurityAccount}}}:key/*"]]}""")!;
        AssertStatements(Resource("Digests/Role/DefaultPolicy/Resource"),
            ("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], GetAtt(Id("Digests/Logs/Resource")), null),
            ("ReadStream", ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
                GetAtt(Id("Events/Stream/Resource")), null),
            ("UsePipelineKey", ["kms:Decrypt", "kms:GenerateDataKey"], GetAtt(Id("Key/Resource")), null),
            ("ReadAccountNames", ["dynamodb:GetItem", "dynamodb:BatchGetItem"], GetAtt(Id("Tables/Accounts/Resource")), null),
            ("KeepDigestLedger", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], GetAtt(Id("Tables/Ledger/Resource")), null),
            ("CarryOpenBursts", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"],
                GetAtt(Id("Tables/Carry/Resource")), null),
            ("ReportFailedBatches", ["sqs:SendMessage"], GetAtt(Id("Digests/FailedBatches/Resource")), null),
            ("UseOutbox", ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], GetAtt(Id("Digests/Outbox/Resource")), null),
            ("ReadSlackWebhook", ["ssm:GetParameter"], ssmArn, null),
            ("DecryptSlackWebhook", ["kms:Decrypt"], anyKeyOfAccount,
                JsonNode.Parse($$$"""{"StringEquals": {"kms:ViaService": "ssm.{{{SynthesizedApp.Region}}}.amazonaws.com"}}""")));
    }

    [Fact]
    public void Sweeper_schedule_calls_the_function_every_minute_with_the_sweep_action_and_never_retries()
    {
        var schedule = Props(Resource("Sweeper/Schedule"));
        Equal(JsonValue.Create("rate(1 minute)"), schedule["ScheduleExpression"]);
        Equal(JsonNode.Parse("""{"Mode": "OFF"}"""), schedule["FlexibleTimeWindow"]);
        Equal(JsonValue.Create("ENABLED"), schedule["State"]);
        Equal(new JsonObject
        {
            ["Arn"] = GetAtt(Id("Digests/Function/Resource")),
            ["Input"] = """{"action":"sweep"}""",
            ["RetryPolicy"] = new JsonObject { ["MaximumEventAgeInSeconds"] = 60, ["MaximumRetryAttempts"] = 0 },
            ["RoleArn"] = GetAtt(Id("Sweeper/Role/Resource")),
        }, schedule["Target"]);
        Assert.Contains(Id("Sweeper/Role/DefaultPolicy/Resource"), Resource("Sweeper/Schedule")["DependsOn"]!.AsArray().Select(d => (string?)d));
    }

    [Fact]
    public void Sweeper_role_is_assumed_only_by_the_scheduler_for_this_account_and_may_only_invoke_the_function()
    {
        Equal(JsonNode.Parse($$$"""
            {
              "Statement": [{
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "{{{SynthesizedApp.SecurityAccount}}}"}},
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"}
              }],
              "Version": "2012-10-17"
            }
            """), Props(Resource("Sweeper/Role/Resource"))["AssumeRolePolicyDocument"]);
        Assert.Null(Props(Resource("Sweeper/Role/Resource"))["ManagedPolicyArns"]);
        AssertStatements(Resource("Sweeper/Role/DefaultPolicy/Resource"),
            ("InvokeDigestFunction", ["lambda:InvokeFunction"], GetAtt(Id("Digests/Function/Resource")), null));
    }

    [Fact]
    public void Function_drops_a_failed_asynchronous_call_instead_of_retrying_it()
    {
        // The sweeper's calls are asynchronous: a failed or stale sweep is replaced by the next one.
        Equal(new JsonObject
        {
            ["FunctionName"] = Ref(Id("Digests/Function/Resource")),
            ["MaximumEventAgeInSeconds"] = 60,
            ["MaximumRetryAttempts"] = 0,
            ["Qualifier"] = "$LATEST",
        }, Props(Single(_t, "AWS::Lambda::EventInvokeConfig").Resource));
    }

    [Fact]
    public void Function_and_mapping_wait_for_the_role_policy()
    {
        var policyId = Id("Digests/Role/DefaultPolicy/Resource");
        Assert.Contains(policyId, Resource("Digests/StreamMapping")["DependsOn"]!.AsArray().Select(d => (string?)d));
        Assert.Contains(policyId, Resource("Digests/Function/Resource")["DependsOn"]!.AsArray().Select(d => (string?)d));
    }

    [Fact]
    public void Alarms_watch_lag_errors_throttles_and_every_dead_letter_queue_and_notify_the_topic()
    {
        var alarms = Resources(_t, "AWS::CloudWatch::Alarm").Select(a => Props(a.Resource)).ToArray();
        Assert.Equal(19, alarms.Length);
        foreach (var alarm in alarms)
        {
            Equal(Strings(SynthesizedApp.TopicArn), alarm["AlarmActions"]);
            Equal(Strings(SynthesizedApp.TopicArn), alarm["OKActions"]);
            // Every alarm fires on too much of something, except the one that fires on too little: no records at all.
            var expected = (string?)alarm["MetricName"] == "IncomingRecords" ? "LessThanThreshold" : "GreaterThanOrEqualToThreshold";
            Equal(JsonValue.Create(expected), alarm["ComparisonOperator"]);
        }

        var function = Ref(Id("Digests/Function/Resource"));
        JsonObject Metric(string name) => alarms.Single(a => (string?)a["MetricName"] == name && (string?)a["Namespace"] == "AWS/Lambda");
        // windowSeconds + burstLatenessSeconds + ten minutes.
        Equal(JsonValue.Create((60 + 300 + 600) * 1000), Metric("IteratorAge")["Threshold"]);
        Equal(JsonValue.Create("Maximum"), Metric("IteratorAge")["Statistic"]);
        foreach (var name in new[] { "IteratorAge", "Errors", "Throttles" })
            Equal(new JsonArray(new JsonObject { ["Name"] = "FunctionName", ["Value"] = function.DeepClone() }), Metric(name)["Dimensions"]);
        Equal(JsonValue.Create(1), Metric("Errors")["Threshold"]);
        Equal(JsonValue.Create(1), Metric("Throttles")["Threshold"]);

        var watchedQueues = alarms.Where(a => (string?)a["MetricName"] == "ApproximateNumberOfMessagesVisible")
            .Select(a => a["Dimensions"]![0]!["Value"]!["Fn::GetAtt"]![0]!.GetValue<string>())
            .Order().ToArray();
        Assert.Equal(
            new[] { Id("Digests/FailedBatches/Resource"), Id("Digests/OutboxDeadLetters/Resource"), Id("OrgBus/DeadLetterQueue/Resource") }.Order(),
            watchedQueues);
        var outboxAge = alarms.Single(a => (string?)a["MetricName"] == "ApproximateAgeOfOldestMessage");
        Equal(JsonValue.Create(Id("Digests/Outbox/Resource")), outboxAge["Dimensions"]![0]!["Value"]!["Fn::GetAtt"]![0]);
        Equal(JsonValue.Create(600), outboxAge["Threshold"]);
    }

    [Fact]
    public void Only_the_aws_ssm_key_statement_names_a_wildcard_resource_and_no_action_is_a_wildcard()
    {
        foreach (var (_, policy) in Resources(_t, "AWS::IAM::Policy"))
        {
            foreach (var statement in Statements(policy))
            {
                Assert.DoesNotContain(AsArray(statement["Action"]), a => ((string?)a)!.Contains('*'));
                var resources = AsArray(statement["Resource"]).Select(r => r!.ToJsonString()).ToArray();
                if (resources.Any(r => r.Contains('*')))
                {
                    Assert.Equal("DecryptSlackWebhook", (string?)statement["Sid"]);
                    Assert.NotNull(statement["Condition"]?["StringEquals"]?["kms:ViaService"]);
                }
            }
        }
    }

    internal static void AssertTrustedBy(JsonObject role, string service) =>
        Equal(JsonNode.Parse($$$"""
            {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "{{{service}}}"}}], "Version": "2012-10-17"}
            """), Props(role)["AssumeRolePolicyDocument"]);

    /// <summary>The policy holds exactly these statements, in this order, nothing else.</summary>
    internal static void AssertStatements(JsonObject policy, params (string Sid, string[] Actions, JsonNode Resource, JsonNode? Condition)[] expected)
    {
        var actual = Statements(policy);
        Assert.Equal(expected.Select(e => e.Sid), actual.Select(s => (string?)s["Sid"]));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Equal(JsonValue.Create("Allow"), a["Effect"]);
            Equal(Strings(e.Actions), AsArray(a["Action"]));
            Equal(new JsonArray(e.Resource.DeepClone()), AsArray(a["Resource"]));
            Equal(e.Condition, a["Condition"]);
        }
    }
}
