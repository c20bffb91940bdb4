using System.Text.Json.Nodes;
using static Pipeline.Infra.Tests.Cfn;

namespace Pipeline.Infra.Tests;

/// <summary>
/// Issue 15 in the central stack: nothing vanishes without an alarm, and every alarm notifies someone.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed class AlarmCoverageTests(SynthesizedApp app)
{
    private const string Stack = "SecurityPipeline-Central/";
    private readonly JsonObject _t = app.Central;

    private string Id(string path) => ByPath(_t, Stack + path).Id;

    private JsonObject[] Alarms => Resources(_t, "AWS::CloudWatch::Alarm").Select(a => Props(a.Resource)).ToArray();

    private JsonObject AlarmNamed(string suffix) =>
        Alarms.Single(a => (string?)a["AlarmName"] == "SecurityPipeline-Central-" + suffix);

    [Fact]
    public void The_central_rules_failed_and_dead_letter_lost_invocations_raise_alarms_on_the_custom_bus_dimensions()
    {
        var dimensions = JsonNode.Parse("""
            [{"Name": "EventBusName", "Value": "security-pipeline"}, {"Name": "RuleName", "Value": "security-pipeline-to-kinesis"}]
            """);
        foreach (var (suffix, metric) in new[] { ("bus-rule-failed", "FailedInvocations"), ("bus-rule-dead-letters-lost", "InvocationsFailedToBeSentToDlq") })
        {
            var alarm = AlarmNamed(suffix);
            Equal(JsonValue.Create("AWS/Events"), alarm["Namespace"]);
            Equal(JsonValue.Create(metric), alarm["MetricName"]);
            Equal(JsonValue.Create("Sum"), alarm["Statistic"]);
            Equal(JsonValue.Create(1), alarm["Threshold"]);
            Equal(dimensions, alarm["Dimensions"]);
        }
    }

    [Fact]
    public void Stream_write_throttling_sustained_for_fifteen_minutes_raises_alarms()
    {
        var stream = Ref(Id("Events/Stream/Resource"));
        foreach (var (suffix, metric) in new[] { ("stream-write-throttled", "WriteProvisionedThroughputExceeded"), ("stream-records-throttled", "PutRecords.ThrottledRecords") })
        {
            var alarm = AlarmNamed(suffix);
            Equal(JsonValue.Create("AWS/Kinesis"), alarm["Namespace"]);
            Equal(JsonValue.Create(metric), alarm["MetricName"]);
            Equal(new JsonArray(new JsonObject { ["Name"] = "StreamName", ["Value"] = stream.DeepClone() }), alarm["Dimensions"]);
            Equal(JsonValue.Create(3), alarm["EvaluationPeriods"]);
            Equal(JsonValue.Create(300), alarm["Period"]);
        }
    }

    [Fact]
    public void An_hour_without_a_single_record_on_the_stream_raises_the_whole_organisation_dark_alarm()
    {
        var alarm = AlarmNamed("no-events");
        Equal(JsonValue.Create("AWS/Kinesis"), alarm["Namespace"]);
        Equal(JsonValue.Create("IncomingRecords"), alarm["MetricName"]);
        Equal(new JsonArray(new JsonObject { ["Name"] = "StreamName", ["Value"] = Ref(Id("Events/Stream/Resource")) }), alarm["Dimensions"]);
        Equal(JsonValue.Create("LessThanThreshold"), alarm["ComparisonOperator"]);
        Equal(JsonValue.Create(1), alarm["Threshold"]);
        Equal(JsonValue.Create(300), alarm["Period"]);
        Equal(JsonValue.Create(12), alarm["EvaluationPeriods"]);
        // Kinesis publishes nothing for a stream nobody writes to: no data is the alarm, not its absence.
        Equal(JsonValue.Create("breaching"), alarm["TreatMissingData"]);
    }

    [Theory]
    [InlineData("ledger-errors", "LedgerErrors")]
    [InlineData("carry-errors", "CarryStoreErrors")]
    [InlineData("account-silent", "SilentAccountRegions")]
    public void The_functions_own_error_and_silence_metrics_raise_alarms_at_one(string suffix, string metric)
    {
        var alarm = AlarmNamed(suffix);
        Equal(JsonValue.Create("SecurityPipeline"), alarm["Namespace"]);
        Equal(JsonValue.Create(metric), alarm["MetricName"]);
        Equal(JsonValue.Create("Sum"), alarm["Statistic"]);
        Equal(JsonValue.Create(1), alarm["Threshold"]);
        Equal(JsonValue.Create("GreaterThanOrEqualToThreshold"), alarm["ComparisonOperator"]);
        Equal(new JsonArray(new JsonObject { ["Name"] = "FunctionName", ["Value"] = Ref(Id("Digests/Function/Resource")) }),
            alarm["Dimensions"]);
    }

    [Theory]
    [InlineData("ledger-table-throttled", "Tables/Ledger/Resource", "ThrottledRequests", new[] { "GetItem", "PutItem", "UpdateItem" })]
    [InlineData("ledger-table-errors", "Tables/Ledger/Resource", "SystemErrors", new[] { "GetItem", "PutItem", "UpdateItem" })]
    [InlineData("carry-table-throttled", "Tables/Carry/Resource", "ThrottledRequests", new[] { "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan" })]
    [InlineData("carry-table-errors", "Tables/Carry/Resource", "SystemErrors", new[] { "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Scan" })]
    public void Table_throttling_and_system_errors_raise_alarms_over_every_operation_the_function_uses(
        string suffix, string tablePath, string metric, string[] operations)
    {
        // A DynamoDB metric per operation: the alarm sums them with metric math.
        var queries = AlarmNamed(suffix)["Metrics"]!.AsArray().Select(q => q!.AsObject()).ToArray();
        var table = Ref(Id(tablePath));
        var stats = queries.Where(q => q["MetricStat"] is not null).Select(q => q["MetricStat"]!["Metric"]!).ToArray();
        Assert.All(stats, s => Equal(JsonValue.Create(metric), s["MetricName"]));
        Assert.All(stats, s => Assert.Contains(s["Dimensions"]!.AsArray(), d => JsonNode.DeepEquals(d!["Value"], table)));
        var operationsSeen = stats.Select(s => (string?)s["Dimensions"]!.AsArray().Single(d => (string?)d!["Name"] == "Operation")!["Value"]).Order();
        Assert.Equal(operations.Order(), operationsSeen);
        Assert.Single(queries, q => q["Expression"] is not null && (bool?)q["ReturnData"] != false);
    }

    [Fact]
    public void Every_central_alarm_notifies_the_topic_when_it_fires_and_when_it_clears()
    {
        Assert.Equal(19, Alarms.Length);
        Assert.All(Alarms, a =>
        {
            Equal(Strings(SynthesizedApp.TopicArn), a["AlarmActions"]);
            Equal(Strings(SynthesizedApp.TopicArn), a["OKActions"]);
        });
        // The topic given is used as it is: no topic of the stack's own.
        Assert.Empty(Resources(_t, "AWS::SNS::Topic"));
    }

    [Fact]
    public void Without_a_topic_the_stack_creates_an_encrypted_one_every_alarm_notifies_and_outputs_its_arn()
    {
        var context = SynthesizedApp.BaseContext();
        context.Remove("alarmTopicArn");
        context["alarmEmail"] = "security-oncall@example.com";
        var (stacks, templates) = app.Build(context);
        var central = templates[stacks.Central.StackName];

        var (topicId, topic) = Single(central, "AWS::SNS::Topic");
        Equal(GetAtt(ByPath(central, Stack + "Key/Resource").Id), Props(topic)["KmsMasterKeyId"]);
        var alarms = Resources(central, "AWS::CloudWatch::Alarm").Select(a => Props(a.Resource)).ToArray();
        Assert.Equal(19, alarms.Length);
        Assert.All(alarms, a => Equal(new JsonArray(Ref(topicId)), a["AlarmActions"]));

        var subscription = Props(Single(central, "AWS::SNS::Subscription").Resource);
        Equal(JsonValue.Create("email"), subscription["Protocol"]);
        Equal(JsonValue.Create("security-oncall@example.com"), subscription["Endpoint"]);
        Equal(Ref(topicId), subscription["TopicArn"]);
        Equal(Ref(topicId), central["Outputs"]!["AlarmTopicArn"]!["Value"]);

        // CloudWatch may use the key to publish to the encrypted topic, for this account's alarms only.
        var keyStatements = Props(ByPath(central, Stack + "Key/Resource").Resource)["KeyPolicy"]!["Statement"]!.AsArray();
        var publish = keyStatements.Single(s => (string?)s!["Sid"] == "CloudWatchMayPublishEncryptedAlarms")!;
        Equal(JsonNode.Parse("""{"Service": "cloudwatch.amazonaws.com"}"""), publish["Principal"]);
        Equal(JsonValue.Create(SynthesizedApp.SecurityAccount), publish["Condition"]!["StringEquals"]!["aws:SourceAccount"]);
    }

    [Fact]
    public void With_a_topic_given_the_stack_outputs_that_topic_and_creates_none()
    {
        Equal(JsonValue.Create(SynthesizedApp.TopicArn), _t["Outputs"]!["AlarmTopicArn"]!["Value"]);
        Assert.Empty(Resources(_t, "AWS::SNS::Subscription"));
    }
}
