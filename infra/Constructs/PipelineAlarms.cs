using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CloudWatch.Actions;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.SNS;
using Amazon.CDK.AWS.SQS;
using Constructs;

namespace Pipeline.Infra.Constructs;

internal sealed record PipelineAlarmsProps
{
    public required IFunction Function { get; init; }
    /// <summary>Queues that should stay empty, by a short name used in the alarm's name.</summary>
    public required IReadOnlyDictionary<string, IQueue> DeadLetterQueues { get; init; }
    /// <summary>Digests waiting for Slack: an alarm when one has waited longer than <see cref="OutboxAgeThresholdSeconds"/>.</summary>
    public required IQueue Outbox { get; init; }
    /// <summary>Iterator age (ms) above which the function is falling behind the stream.</summary>
    public required double IteratorAgeThresholdMilliseconds { get; init; }
    /// <summary>Where alarms notify; null leaves them visible in CloudWatch only.</summary>
    public required string? TopicArn { get; init; }
    public required int OutboxAgeThresholdSeconds { get; init; }
}

/// <summary>The pipeline's alarms: falling behind, errors, throttles, and anything in a dead-letter queue.</summary>
internal sealed class PipelineAlarms : Construct
{
    private readonly ITopic? _topic;

    public PipelineAlarms(Construct scope, string id, PipelineAlarmsProps props) : base(scope, id)
    {
        if (props.TopicArn is not null)
            _topic = Topic.FromTopicArn(this, "Topic", props.TopicArn);
        var prefix = Amazon.CDK.Stack.Of(this).StackName;
        var fiveMinutes = Duration.Minutes(5);

        Add("IteratorAge", prefix + "-iterator-age",
            "The function is falling behind the stream: digests are late and records near their maximum age will be skipped.",
            props.Function.Metric("IteratorAge", new MetricOptions { Statistic = "Maximum", Period = fiveMinutes }),
            props.IteratorAgeThresholdMilliseconds, evaluationPeriods: 3);
        Add("Errors", prefix + "-errors",
            "The function failed invocations (batches are retried, bisected, then reported to the failed-batches queue).",
            props.Function.MetricErrors(new MetricOptions { Statistic = "Sum", Period = fiveMinutes }), 1, evaluationPeriods: 1);
        Add("Throttles", prefix + "-throttles",
            "The function was throttled: the account's Lambda concurrency is exhausted.",
            props.Function.MetricThrottles(new MetricOptions { Statistic = "Sum", Period = fiveMinutes }), 1, evaluationPeriods: 1);
        foreach (var (name, queue) in props.DeadLetterQueues)
        {
            Add("DeadLetters" + name, $"{prefix}-{name.ToLowerInvariant()}-not-empty",
                $"Messages in {name}: something the pipeline could not process is waiting there (see the Deploy guide).",
                queue.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Statistic = "Maximum", Period = fiveMinutes }),
                1, evaluationPeriods: 1);
        }
        Add("OutboxAge", prefix + "-outbox-waiting",
            "Digests have waited in the outbox for several delivery attempts: Slack is refusing them or unreachable.",
            props.Outbox.MetricApproximateAgeOfOldestMessage(new MetricOptions { Statistic = "Maximum", Period = fiveMinutes }),
            props.OutboxAgeThresholdSeconds, evaluationPeriods: 1);
    }

    public List<Alarm> Alarms { get; } = [];

    private void Add(string id, string name, string description, IMetric metric, double threshold, int evaluationPeriods)
    {
        var alarm = new Alarm(this, id, new AlarmProps
        {
            AlarmName = name,
            AlarmDescription = description,
            Metric = metric,
            Threshold = threshold,
            ComparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            EvaluationPeriods = evaluationPeriods,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });
        if (_topic is not null)
        {
            alarm.AddAlarmAction(new SnsAction(_topic));
            alarm.AddOkAction(new SnsAction(_topic));
        }
        Alarms.Add(alarm);
    }
}
