using Amazon.CDK;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CloudWatch.Actions;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Kinesis;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.SNS;
using Amazon.CDK.AWS.SNS.Subscriptions;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Pipeline.Lambda.Configuration;

namespace Pipeline.Infra.Constructs;

internal sealed record PipelineAlarmsProps
{
    public required IFunction Function { get; init; }
    /// <summary>The function's EMF metrics and the bus rule's metrics.</summary>
    public required PipelineMetrics Metrics { get; init; }
    /// <summary>Queues that should stay empty, by a short name used in the alarm's name.</summary>
    public required IReadOnlyDictionary<string, IQueue> DeadLetterQueues { get; init; }
    /// <summary>Digests waiting for Slack: an alarm when one has waited longer than <see cref="OutboxAgeThresholdSeconds"/>.</summary>
    public required IQueue Outbox { get; init; }
    /// <summary>The stream the bus rule writes: write throttling means events wait in the rule's retries.</summary>
    public required IStream Stream { get; init; }
    /// <summary>The digest ledger and its operations (the function's calls).</summary>
    public required ITable LedgerTable { get; init; }
    /// <summary>The carry table and its operations (the function's calls, the sweeper's scan).</summary>
    public required ITable CarryTable { get; init; }
    /// <summary>Iterator age (ms) above which the function is falling behind the stream.</summary>
    public required double IteratorAgeThresholdMilliseconds { get; init; }
    /// <summary>Where alarms notify; null creates an encrypted topic here, so the alarms always notify someone.</summary>
    public required string? TopicArn { get; init; }
    /// <summary>An address subscribed to the created topic (only when <see cref="TopicArn"/> is null).</summary>
    public required string? Email { get; init; }
    /// <summary>The pipeline's key: it encrypts the created topic.</summary>
    public required IKey Key { get; init; }
    public required int OutboxAgeThresholdSeconds { get; init; }
    /// <summary>Minutes without a single record reaching the stream before the whole organisation is called dark; 0: no such alarm.</summary>
    public required int NoEventsAlarmMinutes { get; init; }
}

/// <summary>
/// The pipeline's alarms: falling behind, errors, throttles, anything in a dead-letter queue, events the bus rule
/// could not deliver, stream write throttling, ledger and carry-table errors, and account-regions gone silent.
/// Every alarm notifies a topic when it fires and when it clears: the one given, or one created here.
/// </summary>
internal sealed class PipelineAlarms : Construct
{
    private static readonly Operation[] LedgerOperations = [Operation.GET_ITEM, Operation.PUT_ITEM, Operation.UPDATE_ITEM];
    private static readonly Operation[] CarryOperations =
        [Operation.GET_ITEM, Operation.PUT_ITEM, Operation.UPDATE_ITEM, Operation.DELETE_ITEM, Operation.SCAN];

    public PipelineAlarms(Construct scope, string id, PipelineAlarmsProps props) : base(scope, id)
    {
        Topic = props.TopicArn is not null ? Amazon.CDK.AWS.SNS.Topic.FromTopicArn(this, "Topic", props.TopicArn) : CreateTopic(props);
        var prefix = Amazon.CDK.Stack.Of(this).StackName;
        var fiveMinutes = PipelineMetrics.FiveMinutes;
        var m = props.Metrics;

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

        // The bus rule: a permanent failure is an event that left the rule without reaching the stream. With its
        // dead-letter queue most land there (the queue's alarm); these count the rest, which are gone.
        Add("BusRuleFailed", prefix + "-bus-rule-failed",
            "The central bus rule failed to deliver events to the stream permanently (not counted in its dead-letter queue).",
            m.BusRule("FailedInvocations"), 1, evaluationPeriods: 1);
        Add("BusRuleDeadLetterFailed", prefix + "-bus-rule-dead-letters-lost",
            "The central bus rule could not even put undeliverable events in its dead-letter queue: those events are lost.",
            m.BusRule("InvocationsFailedToBeSentToDlq"), 1, evaluationPeriods: 1);

        // Stream write throttling: the rule retries for 24 hours, so a short burst loses nothing; fifteen minutes
        // of it means the stream needs capacity before the retries run out.
        Add("StreamWriteThrottled", prefix + "-stream-write-throttled",
            "Writes to the stream were throttled for 15 minutes: the bus rule is retrying; give the stream capacity (shards, or on-demand).",
            props.Stream.MetricWriteProvisionedThroughputExceeded(new MetricOptions { Statistic = "Sum", Period = fiveMinutes }),
            1, evaluationPeriods: 3);
        Add("StreamRecordsThrottled", prefix + "-stream-records-throttled",
            "PutRecords calls to the stream had records throttled for 15 minutes: the bus rule is retrying them.",
            props.Stream.MetricPutRecordsThrottledRecords(new MetricOptions { Statistic = "Sum", Period = fiveMinutes }),
            1, evaluationPeriods: 3);

        // The function's own view of its state stores (EMF): calls that failed after the function's retries.
        Add("LedgerErrors", prefix + "-ledger-errors",
            "Digest-ledger calls failed after retries: digests may be posted twice or held back.",
            m.Function(FunctionMetrics.LedgerErrors), 1, evaluationPeriods: 1);
        Add("CarryStoreErrors", prefix + "-carry-errors",
            "Carry-table calls failed after retries: open bursts may be cut in two or held back.",
            m.Function(FunctionMetrics.CarryStoreErrors), 1, evaluationPeriods: 1);
        // DynamoDB's view of the same tables: throttling and its own errors, per operation the function uses.
        AddTable("Ledger", "ledger", props.LedgerTable, LedgerOperations, prefix);
        AddTable("Carry", "carry", props.CarryTable, CarryOperations, prefix);

        Add("SilentAccountRegions", prefix + "-account-silent",
            "An account-region that used to send events stopped: its forwarding rule, role or trail may be broken or removed.",
            m.Function(FunctionMetrics.SilentAccountRegions), 1, evaluationPeriods: 1);

        // The silence check needs the rest of the organisation to move on: when every account goes dark at once (the
        // central rule disabled, the bus policy broken, an SCP denying PutEvents everywhere) only the stream shows it.
        // No data counts as no records: Kinesis publishes nothing for a stream nobody writes to.
        if (props.NoEventsAlarmMinutes > 0)
            Add("NoEvents", prefix + "-no-events",
                $"No record reached the stream for {props.NoEventsAlarmMinutes} minutes: the whole organisation's forwarding, the central bus or its rule may be broken.",
                props.Stream.MetricIncomingRecords(new MetricOptions { Statistic = "Sum", Period = PipelineMetrics.FiveMinutes }),
                1, evaluationPeriods: props.NoEventsAlarmMinutes / 5,
                ComparisonOperator.LESS_THAN_THRESHOLD, TreatMissingData.BREACHING);
    }

    /// <summary>Where every alarm notifies.</summary>
    public ITopic Topic { get; }

    public List<Alarm> Alarms { get; } = [];

    private ITopic CreateTopic(PipelineAlarmsProps props)
    {
        var topic = new Topic(this, "AlarmTopic", new TopicProps
        {
            DisplayName = "Security pipeline alarms",
            MasterKey = props.Key,
            EnforceSSL = true,
        });
        // CloudWatch publishes to an encrypted topic only with a data key of the topic's key.
        props.Key.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "CloudWatchMayPublishEncryptedAlarms",
            Principals = [new ServicePrincipal("cloudwatch.amazonaws.com")],
            Actions = ["kms:GenerateDataKey*", "kms:Decrypt"],
            Resources = ["*"],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = Amazon.CDK.Stack.Of(this).Account },
            },
        }));
        if (props.Email is not null)
            topic.AddSubscription(new EmailSubscription(props.Email));
        return topic;
    }

    private void AddTable(string id, string name, ITable table, Operation[] operations, string prefix)
    {
        Add(id + "Throttled", $"{prefix}-{name}-table-throttled",
            $"DynamoDB throttled calls to the {name} table.",
            table.MetricThrottledRequestsForOperations(new OperationsMetricOptions { Operations = operations, Period = PipelineMetrics.FiveMinutes }),
            1, evaluationPeriods: 1);
        Add(id + "SystemErrors", $"{prefix}-{name}-table-errors",
            $"DynamoDB answered calls to the {name} table with internal errors.",
            table.MetricSystemErrorsForOperations(new SystemErrorsForOperationsMetricOptions { Operations = operations, Period = PipelineMetrics.FiveMinutes }),
            1, evaluationPeriods: 1);
    }

    private void Add(string id, string name, string description, IMetric metric, double threshold, int evaluationPeriods,
        ComparisonOperator comparison = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, TreatMissingData missing = TreatMissingData.NOT_BREACHING)
    {
        var alarm = new Alarm(this, id, new AlarmProps
        {
            AlarmName = name,
            AlarmDescription = description,
            Metric = metric,
            Threshold = threshold,
            ComparisonOperator = comparison,
            EvaluationPeriods = evaluationPeriods,
            TreatMissingData = missing,
        });
        alarm.AddAlarmAction(new SnsAction(Topic));
        alarm.AddOkAction(new SnsAction(Topic));
        Alarms.Add(alarm);
    }
}
