using Amazon.CDK;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Pipeline.Infra.Constructs;
using Pipeline.Infra.Settings;

namespace Pipeline.Infra.Stacks;

/// <summary>
/// The security account's stack: the organization's bus, the stream, the tables, the function, its sweeper schedule
/// and its alarms, all encrypted with one customer managed key. Deployed once, in <see cref="PipelineSettings.CentralRegion"/>.
/// </summary>
internal sealed class CentralStack : Stack
{
    public CentralStack(Construct scope, string id, PipelineSettings settings, IStackProps props) : base(scope, id, props)
    {
        if (settings.RetainedKeyArn is { } retained)
        {
            // A redeploy after a removal: the kept key still encrypts the kept tables, and its alias still points at
            // it, so the stack creates neither (a second alias of the same name would fail). Its key policy is the
            // one the first deployment wrote; this stack cannot change it.
            Key = Amazon.CDK.AWS.KMS.Key.FromKeyArn(this, "Key", retained);
        }
        else
        {
            var key = new Key(this, "Key", new KeyProps
            {
                Description = "Security pipeline: stream, tables and queues.",
                EnableKeyRotation = true,
                Alias = "alias/" + settings.EventBusName,
                RemovalPolicy = RemovalPolicy.RETAIN,
            });
            // The alias stays with its key: after a removal it is how the guide (and the next deployment) finds the
            // kept key, and deleting the key later deletes the alias with it.
            ((CfnResource)key.Node.FindChild("Alias").Node.DefaultChild!).ApplyRemovalPolicy(RemovalPolicy.RETAIN);
            Key = key;
        }

        Stream = new EventStream(this, "Events", new EventStreamProps
        {
            StreamName = settings.StreamName,
            Key = Key,
            Mode = settings.StreamMode,
            ShardCount = settings.StreamShardCount,
        });

        Bus = new OrgEventBus(this, "OrgBus", new OrgEventBusProps
        {
            BusName = settings.EventBusName,
            OrganizationId = settings.OrganizationId,
            Stream = Stream.Stream,
            Key = Key,
            IncludeReadOnlyEvents = settings.IncludeReadOnlyEvents,
        });

        Tables = new StateTables(this, "Tables", new StateTablesProps
        {
            AccountsTableName = settings.AccountsTableName,
            LedgerTableName = settings.LedgerTableName,
            Key = Key,
            ReuseNamedTables = settings.RetainedKeyArn is not null,
        });

        Digests = new DigestFunction(this, "Digests", new DigestFunctionProps
        {
            AssetDirectory = settings.BootstrapAssetDirectory,
            Architecture = settings.FunctionArchitecture == FunctionArchitecture.X86_64
                ? Amazon.CDK.AWS.Lambda.Architecture.X86_64
                : Amazon.CDK.AWS.Lambda.Architecture.ARM_64,
            Stream = Stream.Stream,
            Key = Key,
            AccountsTable = Tables.Accounts,
            LedgerTable = Tables.Ledger,
            CarryTable = Tables.Carry,
            SlackMode = settings.SlackMode,
            SlackParameterName = settings.SlackMode == SlackDeliveryMode.BotToken ? settings.SlackBotTokenParameterName : settings.SlackWebhookParameterName,
            SlackParameterKeyArn = settings.SlackMode == SlackDeliveryMode.BotToken ? settings.SlackBotTokenParameterKeyArn : settings.SlackWebhookParameterKeyArn,
            SlackDefaultChannel = settings.SlackDefaultChannel,
            SlackAlertChannel = settings.SlackAlertChannel,
            BurstGapSeconds = settings.BurstGapSeconds,
            BurstMaxWindowSeconds = settings.BurstMaxWindowSeconds,
            BurstLatenessSeconds = settings.BurstLatenessSeconds,
            WindowSeconds = settings.WindowSeconds,
            RollupMinAccounts = settings.RollupMinAccounts,
            RollupWindowSeconds = settings.RollupWindowSeconds,
            SilenceAfterSeconds = settings.SilenceAfterSeconds,
            AlertSeverity = settings.AlertSeverity,
            BatchSize = settings.BatchSize,
            MaxRetryAttempts = settings.MaxRetryAttempts,
            MaxRecordAgeSeconds = settings.MaxRecordAgeSeconds,
            MuteRulesFile = settings.MuteRulesFile,
        });

        Sweeper = new SweepSchedule(this, "Sweeper", new SweepScheduleProps { Function = Digests.Function });

        var metrics = new PipelineMetrics(Digests.Function.FunctionName, settings.EventBusName, OrgEventBus.RuleName);
        var deadLetterQueues = new Dictionary<string, IQueue>
        {
            ["BusDeadLetters"] = Bus.DeadLetterQueue,
            ["FailedBatches"] = Digests.FailureQueue,
            ["OutboxDeadLetters"] = Digests.OutboxDeadLetters,
        };
        Alarms = new PipelineAlarms(this, "Alarms", new PipelineAlarmsProps
        {
            Function = Digests.Function,
            Metrics = metrics,
            DeadLetterQueues = deadLetterQueues,
            Outbox = Digests.Outbox,
            Stream = Stream.Stream,
            LedgerTable = Tables.Ledger,
            CarryTable = Tables.Carry,
            // A record may wait out its tumbling window and the lateness allowance; ten more minutes of slack
            // before "falling behind" is called.
            IteratorAgeThresholdMilliseconds = (settings.WindowSeconds + settings.BurstLatenessSeconds + 600) * 1000.0,
            // Ten minutes, whatever the burst settings: parking a digest no longer waits for a long burst, and the
            // function retries parked digests up to once a minute (OUTBOX_DRAIN_INTERVAL) while it runs, which is
            // at least every minute (the sweeper). One still waiting after ten minutes points at Slack.
            OutboxAgeThresholdSeconds = 600,
            TopicArn = settings.AlarmTopicArn,
            Email = settings.AlarmEmail,
            NoEventsAlarmMinutes = settings.NoEventsAlarmMinutes,
            Key = Key,
        });
        Dashboard = new PipelineDashboard(this, "Dashboard", new PipelineDashboardProps
        {
            DashboardName = id,
            Function = Digests.Function,
            Metrics = metrics,
            Stream = Stream.Stream,
            DeadLetterQueues = deadLetterQueues,
            Outbox = Digests.Outbox,
        });

        Output("EventBusArn", Bus.Bus.EventBusArn, "The central bus: member rules forward here.");
        Output("StreamName", Stream.Stream.StreamName, "The Kinesis stream (pipeline run can read it too).");
        Output("AccountsTableName", Tables.Accounts.TableName, "Load account names here: pipeline accounts import FILE --table NAME.");
        Output("LedgerTableName", Tables.Ledger.TableName, "Digests already sent.");
        Output("CarryTableName", Tables.Carry.TableName, "Open bursts carried from one window to the next.");
        Output("FunctionName", Digests.Function.FunctionName, "The pipeline function.");
        Output("LogGroupName", Digests.LogGroup.LogGroupName, "The function's logs (aws logs tail NAME --follow).");
        Output("OutboxQueueUrl", Digests.Outbox.QueueUrl, "Digests waiting for Slack.");
        Output("FailedBatchesQueueUrl", Digests.FailureQueue.QueueUrl, "Batches the function gave up on.");
        Output("KeyArn", Key.KeyArn, "The pipeline key; a removal keeps it: redeploy over the kept tables with -c retainedKeyArn=THIS.");
        Output("BusDeadLettersQueueUrl", Bus.DeadLetterQueue.QueueUrl, "Events the bus could not put on the stream.");
        Output("AlarmTopicArn", Alarms.Topic.TopicArn, "Every alarm notifies this topic: subscribe the security team to it.");
        Output("DashboardName", Dashboard.Dashboard.DashboardName, "The operators' CloudWatch dashboard.");
        Output("DashboardUrl",
            $"https://{Region}.console.aws.amazon.com/cloudwatch/home?region={Region}#dashboards/dashboard/{id}",
            "The dashboard in the CloudWatch console.");
    }

    /// <summary>The pipeline key: created here, or the one a removal kept (<see cref="PipelineSettings.RetainedKeyArn"/>).</summary>
    public IKey Key { get; }
    public EventStream Stream { get; }
    public OrgEventBus Bus { get; }
    public StateTables Tables { get; }
    public DigestFunction Digests { get; }
    public SweepSchedule Sweeper { get; }
    public PipelineAlarms Alarms { get; }
    public PipelineDashboard Dashboard { get; }

    private void Output(string id, string value, string description) =>
        _ = new CfnOutput(this, id, new CfnOutputProps { Value = value, Description = description });
}
