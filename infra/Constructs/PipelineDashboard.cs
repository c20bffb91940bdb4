using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.Kinesis;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Pipeline.Lambda.Configuration;

namespace Pipeline.Infra.Constructs;

internal sealed record PipelineDashboardProps
{
    public required string DashboardName { get; init; }
    public required IFunction Function { get; init; }
    public required PipelineMetrics Metrics { get; init; }
    public required IStream Stream { get; init; }
    /// <summary>Queues that should stay empty, by a short name (the graph's labels).</summary>
    public required IReadOnlyDictionary<string, IQueue> DeadLetterQueues { get; init; }
    public required IQueue Outbox { get; init; }
}

/// <summary>
/// One CloudWatch dashboard for the operators, read top to bottom as the events flow: the bus rule, the stream,
/// the function, what became of each record (the conservation counts: Received = Rejected + Duplicates + Muted +
/// Digested), what reached Slack and how late, the state the function carries, and what is waiting in queues.
/// </summary>
internal sealed class PipelineDashboard : Construct
{
    private const int Width = 8;
    private const int Height = 6;

    public PipelineDashboard(Construct scope, string id, PipelineDashboardProps props) : base(scope, id)
    {
        var m = props.Metrics;
        var period = PipelineMetrics.FiveMinutes;
        MetricOptions Sum() => new() { Statistic = "Sum", Period = period };
        MetricOptions Max() => new() { Statistic = "Maximum", Period = period };

        Dashboard = new Dashboard(this, "Dashboard", new DashboardProps
        {
            DashboardName = props.DashboardName,
            DefaultInterval = Duration.Hours(24),
        });
        Dashboard.AddWidgets(
            Graph("Central bus rule: invocations and failures",
                [m.BusRule("Invocations"), m.BusRule("FailedInvocations"), m.BusRule("InvocationsSentToDlq"), m.BusRule("InvocationsFailedToBeSentToDlq")]),
            Graph("Stream: incoming records and write throttling",
                [props.Stream.MetricIncomingRecords(Sum())],
                right: [props.Stream.MetricWriteProvisionedThroughputExceeded(Sum()), props.Stream.MetricPutRecordsThrottledRecords(Sum())]),
            Graph("Function: iterator age (ms)",
                [props.Function.Metric("IteratorAge", Max())]));
        Dashboard.AddWidgets(
            Graph("Records: received = rejected + duplicates + muted + digested",
                [
                    m.Function(FunctionMetrics.Received), m.Function(FunctionMetrics.Rejected), m.Function(FunctionMetrics.Duplicates),
                    m.Function(FunctionMetrics.Muted), m.Function(FunctionMetrics.Digested),
                ]),
            Graph("Slack: digests posted and parked",
                [m.Function(FunctionMetrics.DigestsPosted), m.Function(FunctionMetrics.DigestsParked)]),
            Graph("Digest lag: newest event to posted (ms)",
                [m.Function(FunctionMetrics.DigestLag, "p50"), m.Function(FunctionMetrics.DigestLag, "p99"), m.Function(FunctionMetrics.DigestLag, "Maximum")]));
        Dashboard.AddWidgets(
            Graph("Function: errors and throttles",
                [props.Function.MetricErrors(Sum()), props.Function.MetricThrottles(Sum())]),
            Graph("Function: duration (ms)",
                [props.Function.MetricDuration(new MetricOptions { Statistic = "p99", Period = period }), props.Function.MetricDuration(Max())]),
            Graph("State carried (bytes)",
                [m.Function(FunctionMetrics.WindowStateBytes, "Maximum"), m.Function(FunctionMetrics.CarryBytes, "Maximum")]));
        Dashboard.AddWidgets(
            Graph("Ledger and carry-table errors; silent account-regions",
                [m.Function(FunctionMetrics.LedgerErrors), m.Function(FunctionMetrics.CarryStoreErrors), m.Function(FunctionMetrics.SilentAccountRegions)]),
            Graph("Dead-letter queues: messages waiting",
                props.DeadLetterQueues
                    .Select(q => (IMetric)q.Value.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Statistic = "Maximum", Period = period, Label = q.Key }))
                    .ToArray()),
            Graph("Outbox: oldest digest waiting for Slack (s)",
                [props.Outbox.MetricApproximateAgeOfOldestMessage(Max())]));
    }

    public Dashboard Dashboard { get; }

    private static GraphWidget Graph(string title, IMetric[] left, IMetric[]? right = null) =>
        new(new GraphWidgetProps { Title = title, Left = left, Right = right, Width = Width, Height = Height });
}
