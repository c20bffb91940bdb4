using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Kinesis;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.SQS;
using Constructs;
using Pipeline.Infra.Settings;
using Pipeline.Lambda.Configuration;

namespace Pipeline.Infra.Constructs;

internal sealed record DigestFunctionProps
{
    /// <summary>Folder holding the NativeAOT executable <c>bootstrap</c> (or the placeholder).</summary>
    public required string AssetDirectory { get; init; }
    /// <summary>The architecture the bootstrap was compiled for.</summary>
    public required Architecture Architecture { get; init; }
    public required IStream Stream { get; init; }
    /// <summary>Key of the stream, the tables and the queues.</summary>
    public required IKey Key { get; init; }
    public required ITable AccountsTable { get; init; }
    public required ITable LedgerTable { get; init; }
    /// <summary>Open bursts carried from one tumbling window to the next (read, written, taken, swept).</summary>
    public required ITable CarryTable { get; init; }
    /// <summary>Webhook (SLACK_WEBHOOK_PARAMETER) or bot token (SLACK_MODE=bot-token, SLACK_BOT_TOKEN_PARAMETER and the channels).</summary>
    public required SlackDeliveryMode SlackMode { get; init; }
    /// <summary>The SSM SecureString holding the webhook URL or the bot token, by <see cref="SlackMode"/>; the function may read only it.</summary>
    public required string SlackParameterName { get; init; }
    /// <summary>Null when the parameter uses the AWS managed aws/ssm key.</summary>
    public required string? SlackParameterKeyArn { get; init; }
    /// <summary>Bot-token mode: the channel for accounts the accounts table names none for.</summary>
    public string? SlackDefaultChannel { get; init; }
    /// <summary>Bot-token mode, optional: the channel that also receives risky digests.</summary>
    public string? SlackAlertChannel { get; init; }
    public required int BurstGapSeconds { get; init; }
    /// <summary>The longest burst, on its account's clock; not the tumbling window (open bursts carry over).</summary>
    public required int BurstMaxWindowSeconds { get; init; }
    /// <summary>How late an event may arrive and still join its burst; a quiet burst waits this long for it.</summary>
    public required int BurstLatenessSeconds { get; init; }
    // Roll-ups and immediate alerts (issue 13).
    /// <summary>Accounts for one roll-up (0: off).</summary>
    public required int RollupMinAccounts { get; init; }
    /// <summary>How far apart, on the events' own times, the same change may be in two accounts and still be one roll-up.</summary>
    public required int RollupWindowSeconds { get; init; }
    /// <summary>The silence check's threshold (SILENCE_AFTER); 0 turns it off.</summary>
    public required int SilenceAfterSeconds { get; init; }
    /// <summary>critical, high or off.</summary>
    public required string AlertSeverity { get; init; }
    /// <summary>The event source mapping's tumbling window (at most 900 s).</summary>
    public required int WindowSeconds { get; init; }
    public required int BatchSize { get; init; }
    public required int MaxRetryAttempts { get; init; }
    public required int MaxRecordAgeSeconds { get; init; }
    /// <summary>A mute rules file (already checked by the settings) to package beside the bootstrap; null: nothing is muted.</summary>
    public string? MuteRulesFile { get; init; }
}

/// <summary>
/// The pipeline's Lambda (custom runtime, arm64 by default, NativeAOT <c>bootstrap</c>) reading the stream through an event
/// source mapping with a tumbling window, partial batch responses, bisection and bounded retries; batches
/// that still fail go to an encrypted on-failure queue. Digests that Slack did not take wait in the outbox
/// queue. The role holds only what the function and its mapping use, each action on its own resource.
/// </summary>
internal sealed class DigestFunction : Construct
{
    public DigestFunction(Construct scope, string id, DigestFunctionProps props) : base(scope, id)
    {
        var stack = Amazon.CDK.Stack.Of(this);

        FailureQueue = EncryptedQueues.CreateDeadLetter(this, "FailedBatches", props.Key,
            "descriptions of Kinesis batches the function failed after its retries");
        OutboxDeadLetters = EncryptedQueues.CreateDeadLetter(this, "OutboxDeadLetters", props.Key,
            "digests that failed delivery from the outbox 10 times");
        Outbox = EncryptedQueues.Create(this, "Outbox", props.Key, new DeadLetterQueue { Queue = OutboxDeadLetters, MaxReceiveCount = 10 });

        LogGroup = new LogGroup(this, "Logs", new LogGroupProps
        {
            Retention = RetentionDays.THREE_MONTHS,
            RemovalPolicy = RemovalPolicy.DESTROY,
        });

        Role = new Role(this, "Role", new RoleProps
        {
            AssumedBy = new ServicePrincipal("lambda.amazonaws.com"),
            Description = "The security pipeline function: read the stream, the tables and the Slack parameter; write digests.",
        });
        Allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], LogGroup.LogGroupArn);
        Allow("ReadStream",
            ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
            props.Stream.StreamArn);
        // One key for stream, tables and queues: decrypt to read them, generate data keys to write the queues.
        Allow("UsePipelineKey", ["kms:Decrypt", "kms:GenerateDataKey"], props.Key.KeyArn);
        Allow("ReadAccountNames", ["dynamodb:GetItem", "dynamodb:BatchGetItem"], props.AccountsTable.TableArn);
        Allow("KeepDigestLedger", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], props.LedgerTable.TableArn);
        // Scan: the sweeper looks for carries whose window never came back.
        Allow("CarryOpenBursts",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"],
            props.CarryTable.TableArn);
        Allow("ReportFailedBatches", ["sqs:SendMessage"], FailureQueue.QueueArn);
        Allow("UseOutbox", ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], Outbox.QueueArn);
        // Only the one parameter the mode reads: a bot-token function cannot read the webhook, and the reverse.
        bool botToken = props.SlackMode == SlackDeliveryMode.BotToken;
        var secret = botToken
            ? new SlackSecretNames("SlackBotToken", "bot token", "slackBotTokenParameterKeyArn")
            : new SlackSecretNames("SlackWebhook", "webhook", "slackWebhookParameterKeyArn");
        Allow("Read" + secret.Sid, ["ssm:GetParameter"], stack.FormatArn(new ArnComponents
        {
            Service = "ssm",
            Resource = "parameter",
            ResourceName = props.SlackParameterName.TrimStart('/'),
        }));
        AllowDecryptSlackSecret(stack, secret, props.SlackParameterKeyArn);

        var environment = new Dictionary<string, string>
        {
            [FunctionEnvironment.AccountsTable] = props.AccountsTable.TableName,
            [FunctionEnvironment.LedgerTable] = props.LedgerTable.TableName,
            [FunctionEnvironment.CarryTable] = props.CarryTable.TableName,
            [FunctionEnvironment.BurstGap] = props.BurstGapSeconds.ToString(CultureInfo.InvariantCulture),
            [FunctionEnvironment.BurstMaxWindow] = props.BurstMaxWindowSeconds.ToString(CultureInfo.InvariantCulture),
            [FunctionEnvironment.BurstLateness] = props.BurstLatenessSeconds.ToString(CultureInfo.InvariantCulture),
            [FunctionEnvironment.OutboxQueueUrl] = Outbox.QueueUrl,
            // Roll-ups and immediate alerts.
            [FunctionEnvironment.RollupMinAccounts] = props.RollupMinAccounts.ToString(CultureInfo.InvariantCulture),
            [FunctionEnvironment.RollupWindow] = props.RollupWindowSeconds.ToString(CultureInfo.InvariantCulture),
            [FunctionEnvironment.SilenceAfter] = props.SilenceAfterSeconds.ToString(CultureInfo.InvariantCulture),
            [FunctionEnvironment.AlertSeverity] = props.AlertSeverity,
        };
        if (props.MuteRulesFile is not null)
            environment[FunctionEnvironment.MuteRules] = MuteRulesFile.PathInFunction;
        if (botToken)
        {
            environment[FunctionEnvironment.SlackMode] = "bot-token";
            environment[FunctionEnvironment.SlackBotTokenParameter] = props.SlackParameterName;
            environment[FunctionEnvironment.SlackDefaultChannel] = props.SlackDefaultChannel
                ?? throw new ArgumentException("a bot-token function needs its default channel", nameof(props));
            if (props.SlackAlertChannel is { } alert) environment[FunctionEnvironment.SlackAlertChannel] = alert;
        }
        else
        {
            // Webhook is the function's default mode: SLACK_MODE stays unset, as before bot-token mode existed.
            environment[FunctionEnvironment.SlackWebhookParameter] = props.SlackParameterName;
        }

        Function = new Function(this, "Function", new FunctionProps
        {
            Description = "Security pipeline: enrich organization events, group bursts per account, post Slack digests.",
            Runtime = Runtime.PROVIDED_AL2023,
            Architecture = props.Architecture,
            Handler = "bootstrap",
            Code = Code.FromAsset(PackageFolder(props.AssetDirectory, props.MuteRulesFile)),
            MemorySize = 512,
            // The final invocation of a tumbling window posts the digests: room for Slack retries.
            Timeout = Duration.Minutes(2),
            Role = Role,
            LogGroup = LogGroup,
            Environment = environment,
        });
        Function.Node.AddDependency(Role);

        Mapping = new CfnEventSourceMapping(this, "StreamMapping", new CfnEventSourceMappingProps
        {
            FunctionName = Function.FunctionName,
            EventSourceArn = props.Stream.StreamArn,
            StartingPosition = "TRIM_HORIZON",
            BatchSize = props.BatchSize,
            // Independent of the bursts: a window's final call carries the open ones over to the next window.
            TumblingWindowInSeconds = props.WindowSeconds,
            FunctionResponseTypes = ["ReportBatchItemFailures"],
            BisectBatchOnFunctionError = true,
            MaximumRetryAttempts = props.MaxRetryAttempts,
            MaximumRecordAgeInSeconds = props.MaxRecordAgeSeconds,
            // One batch per shard at a time: the tumbling-window state is per shard and bursts are per account.
            ParallelizationFactor = 1,
            DestinationConfig = new CfnEventSourceMapping.DestinationConfigProperty
            {
                OnFailure = new CfnEventSourceMapping.OnFailureProperty { Destination = FailureQueue.QueueArn },
            },
        });
        // Lambda checks the role's stream permissions when it creates the mapping.
        Mapping.Node.AddDependency(Role);
    }

    public Function Function { get; }
    public Role Role { get; }
    public LogGroup LogGroup { get; }
    public CfnEventSourceMapping Mapping { get; }
    public Queue FailureQueue { get; }
    public Queue Outbox { get; }
    public Queue OutboxDeadLetters { get; }

    /// <summary>
    /// The folder Lambda gets as the function's package. With mute rules, a copy of the asset folder with the rules file
    /// beside the bootstrap (Lambda unpacks the package to /var/task, where MUTE_RULES points): the rules travel with
    /// the code they were checked against, in one asset, and the user's asset folder is left as it was. The copy lives
    /// in the synthesis's own temp folder; CDK stages it into cdk.out before synthesis ends.
    /// </summary>
    private static string PackageFolder(string assetDirectory, string? muteRulesFile)
    {
        if (muteRulesFile is null)
            return assetDirectory;
        var package = Directory.CreateTempSubdirectory("function-package-").FullName;
        foreach (var file in Directory.GetFiles(assetDirectory))
            File.Copy(file, Path.Combine(package, Path.GetFileName(file))); // keeps bootstrap's execute bit
        File.Copy(muteRulesFile, Path.Combine(package, MuteRulesFile.FileName), overwrite: true);
        return package;
    }

    private void Allow(string sid, string[] actions, string resource) =>
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps { Sid = sid, Actions = actions, Resources = [resource] }));

    /// <summary>How statements, suppressions and settings name the Slack secret of a mode.</summary>
    private sealed record SlackSecretNames(string Sid, string What, string KeyArnSetting);

    private void AllowDecryptSlackSecret(Amazon.CDK.Stack stack, SlackSecretNames secret, string? customerKeyArn)
    {
        if (customerKeyArn is not null)
        {
            Allow("Decrypt" + secret.Sid, ["kms:Decrypt"], customerKeyArn);
            return;
        }
        // The AWS managed aws/ssm key has an id unknown at synthesis (an alias cannot be a policy resource):
        // any key of this account, but only when SSM decrypts on the function's behalf in this region.
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "Decrypt" + secret.Sid,
            Actions = ["kms:Decrypt"],
            Resources = [stack.FormatArn(new ArnComponents { Service = "kms", Resource = "key", ResourceName = "*" })],
            Conditions = new Dictionary<string, object>
            {
                ["StringEquals"] = new Dictionary<string, object> { ["kms:ViaService"] = $"ssm.{stack.Region}.amazonaws.com" },
            },
        }));
        Nag.Suppress(Role.Node.FindChild("DefaultPolicy"), new NagSuppression("AwsSolutions-IAM5",
            $"kms:Decrypt for the Slack {secret.What} SecureString under the AWS managed aws/ssm key, whose key id is not known at synthesis; "
            + $"the kms:ViaService condition limits it to SSM decrypting in this region. Set {secret.KeyArnSetting} to name the key instead.",
            // How cdk-nag names the finding: the stack's environment is concrete, the partition is not.
            $"Resource::arn:<AWS::Partition>:kms:{stack.Region}:{stack.Account}:key/*"));
    }
}
