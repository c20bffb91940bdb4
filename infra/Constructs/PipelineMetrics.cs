using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Pipeline.Lambda.Configuration;

namespace Pipeline.Infra.Constructs;

/// <summary>
/// The metrics the alarms and the dashboard share, each built in one place: the function's own (EMF, names from
/// <see cref="FunctionMetrics"/>, the same file the function compiles) and the central bus rule's (AWS/Events).
/// </summary>
internal sealed class PipelineMetrics(string functionName, string busName, string ruleName)
{
    public static readonly Duration FiveMinutes = Duration.Minutes(5);

    /// <summary>A metric the function writes as EMF, dimension FunctionName = the function's name.</summary>
    public Metric Function(string name, string statistic = "Sum", Duration? period = null, string? label = null) =>
        new(new MetricProps
        {
            Namespace = FunctionMetrics.Namespace,
            MetricName = name,
            DimensionsMap = new Dictionary<string, string> { [FunctionMetrics.FunctionDimension] = functionName },
            Statistic = statistic,
            Period = period ?? FiveMinutes,
            Label = label,
        });

    /// <summary>A metric of the central bus rule: a rule on a custom bus is reported under EventBusName and RuleName.</summary>
    public Metric BusRule(string name, string statistic = "Sum", Duration? period = null) =>
        new(new MetricProps
        {
            Namespace = "AWS/Events",
            MetricName = name,
            DimensionsMap = new Dictionary<string, string> { ["EventBusName"] = busName, ["RuleName"] = ruleName },
            Statistic = statistic,
            Period = period ?? FiveMinutes,
        });
}
