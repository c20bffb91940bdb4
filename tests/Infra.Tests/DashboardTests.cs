using System.Text.Json.Nodes;
using static Pipeline.Infra.Tests.Cfn;

namespace Pipeline.Infra.Tests;

/// <summary>
/// The operators' CloudWatch dashboard: every signal issue 15 names, on one page, and where to find it. Metric names are
/// written out here (the function's FunctionMetrics is compiled into both infra and the Lambda this project sees): a
/// rename shows up as a failing test, since dashboards and alarms already deployed read the old name.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed class DashboardTests(SynthesizedApp app)
{
    /// <summary>The dashboard body as text, its references written as <c>{Ref:ID}</c>.</summary>
    private string Body()
    {
        var body = Props(Single(app.Central, "AWS::CloudWatch::Dashboard").Resource)["DashboardBody"]!;
        if (body is JsonValue plain)
            return plain.GetValue<string>();
        return string.Concat(body["Fn::Join"]![1]!.AsArray().Select(part => part switch
        {
            JsonValue v => v.GetValue<string>(),
            JsonObject o when o["Ref"] is not null => "{Ref:" + (string?)o["Ref"] + "}",
            JsonObject o when o["Fn::GetAtt"] is JsonArray a => "{GetAtt:" + (string?)a[0] + "." + (string?)a[1] + "}",
            _ => throw new InvalidOperationException("unexpected part of the dashboard body: " + part!.ToJsonString()),
        }));
    }

    /// <summary>The metric arrays of every widget, each as its text: ["Namespace","Name","Dim","Value",...].</summary>
    private JsonArray[] MetricLines()
    {
        var widgets = JsonNode.Parse(Body())!["widgets"]!.AsArray();
        return widgets.SelectMany(w => w!["properties"]!["metrics"]!.AsArray()).Select(m => m!.AsArray()).ToArray();
    }

    [Theory]
    [InlineData("Received")]
    [InlineData("Rejected")]
    [InlineData("Duplicates")]
    [InlineData("Muted")]
    [InlineData("Digested")]
    [InlineData("DigestsPosted")]
    [InlineData("DigestsParked")]
    [InlineData("DigestLag")]
    [InlineData("WindowStateBytes")]
    [InlineData("CarryBytes")]
    [InlineData("LedgerErrors")]
    [InlineData("CarryStoreErrors")]
    [InlineData("SilentAccountRegions")]
    public void The_dashboard_graphs_the_functions_EMF_metric_for_this_function(string metric)
    {
        var function = "{Ref:" + ByPath(app.Central, "SecurityPipeline-Central/Digests/Function/Resource").Id + "}";
        Assert.Contains(MetricLines(), m =>
            (string?)m[0] == "SecurityPipeline" && (string?)m[1] == metric
            && (string?)m[2] == "FunctionName" && (string?)m[3] == function);
    }

    [Theory]
    [InlineData("AWS/Lambda", "IteratorAge")]
    [InlineData("AWS/Lambda", "Errors")]
    [InlineData("AWS/Lambda", "Duration")]
    [InlineData("AWS/Lambda", "Throttles")]
    [InlineData("AWS/Kinesis", "IncomingRecords")]
    [InlineData("AWS/Kinesis", "WriteProvisionedThroughputExceeded")]
    [InlineData("AWS/Kinesis", "PutRecords.ThrottledRecords")]
    [InlineData("AWS/Events", "Invocations")]
    [InlineData("AWS/Events", "FailedInvocations")]
    [InlineData("AWS/SQS", "ApproximateAgeOfOldestMessage")]
    public void The_dashboard_graphs_the_AWS_metric(string ns, string metric)
    {
        Assert.Contains(MetricLines(), m => (string?)m[0] == ns && (string?)m[1] == metric);
    }

    [Fact]
    public void The_dashboard_graphs_the_depth_of_every_dead_letter_queue()
    {
        var depths = MetricLines().Where(m => (string?)m[1] == "ApproximateNumberOfMessagesVisible").ToArray();
        Assert.Equal(3, depths.Length);
        foreach (var path in new[] { "OrgBus/DeadLetterQueue/Resource", "Digests/FailedBatches/Resource", "Digests/OutboxDeadLetters/Resource" })
        {
            var id = ByPath(app.Central, "SecurityPipeline-Central/" + path).Id;
            Assert.Contains(depths, m => (string?)m[3] == "{GetAtt:" + id + ".QueueName}");
        }
    }

    [Fact]
    public void The_stack_outputs_the_dashboards_name_and_its_console_address()
    {
        Equal(JsonValue.Create("SecurityPipeline-Central"), Props(Single(app.Central, "AWS::CloudWatch::Dashboard").Resource)["DashboardName"]);
        var outputs = app.Central["Outputs"]!;
        Assert.NotNull(outputs["DashboardName"]);
        Equal(JsonValue.Create(
                $"https://{SynthesizedApp.Region}.console.aws.amazon.com/cloudwatch/home?region={SynthesizedApp.Region}#dashboards/dashboard/SecurityPipeline-Central"),
            outputs["DashboardUrl"]!["Value"]);
    }
}
