namespace Pipeline.Infra.Settings;

/// <summary>Which kinds of member-account events the forwarding rules send to the central bus.</summary>
internal enum ForwardedEventKind
{
    /// <summary>CloudTrail management API calls that change something (detail-type "AWS API Call via CloudTrail").</summary>
    CloudTrailApiCalls,
    /// <summary>Console sign-ins ("AWS Console Signin via CloudTrail").</summary>
    ConsoleSignIns,
    /// <summary>GuardDuty findings ("GuardDuty Finding").</summary>
    GuardDutyFindings,
    /// <summary>Security Hub findings ("Security Hub Findings - Imported").</summary>
    SecurityHubFindings,
}

/// <summary>Kinesis capacity mode of the central stream.</summary>
internal enum StreamCapacityMode
{
    OnDemand,
    Provisioned,
}

/// <summary>CPU architecture of the function (the NativeAOT bootstrap must be built for it).</summary>
internal enum FunctionArchitecture
{
    Arm64,
    X86_64,
}

/// <summary>How the function posts to Slack.</summary>
internal enum SlackDeliveryMode
{
    /// <summary>An incoming webhook: every digest in the webhook's one channel.</summary>
    Webhook,
    /// <summary>A bot token with chat.postMessage: each account's channel from the accounts table, and an alert channel for risky digests.</summary>
    BotToken,
}

/// <summary>Where the member StackSet is administered from (CloudFormation's <c>CallAs</c>).</summary>
internal enum StackSetAdministrator
{
    /// <summary>The management account deploys the StackSet (CallAs SELF).</summary>
    ManagementAccount,
    /// <summary>The security account, registered as a StackSets delegated administrator, deploys it (CallAs DELEGATED_ADMIN).</summary>
    DelegatedAdministrator,
}

/// <summary>
/// Everything the CDK app needs to know about the organization and the pipeline, read from the CDK context
/// (<c>infra/cdk.json</c> "context", or <c>cdk synth -c key=value</c>) and validated before any construct is
/// built: <see cref="SettingsReader"/> lists every problem at once, naming the context key.
/// The context keys and their defaults are documented on each property and in the Deploy guide.
/// </summary>
internal sealed record PipelineSettings
{
    /// <summary><c>orgId</c>: the AWS Organizations id (o-…): the only principals the central bus admits.</summary>
    public required string OrganizationId { get; init; }

    /// <summary><c>securityAccountId</c>: the account that hosts the central stack (bus, stream, function, tables).</summary>
    public required string SecurityAccountId { get; init; }

    /// <summary><c>managementAccountId</c>: the organization's management account (StackSets skip it: it gets its own stacks).</summary>
    public required string ManagementAccountId { get; init; }

    /// <summary><c>centralRegion</c>: the region of the central stack.</summary>
    public required string CentralRegion { get; init; }

    /// <summary><c>memberOrganizationalUnitIds</c>: OUs (ou-…) or the root (r-…) the StackSet deploys to, new accounts included.</summary>
    public required IReadOnlyList<string> MemberOrganizationalUnitIds { get; init; }

    /// <summary><c>memberRegions</c>: regions in which member (and management) accounts forward events.</summary>
    public required IReadOnlyList<string> MemberRegions { get; init; }

    /// <summary><c>forwardedEvents</c>: default all four kinds (cloudtrail-api-calls, console-sign-ins, guardduty-findings, securityhub-findings).</summary>
    public required IReadOnlyList<ForwardedEventKind> ForwardedEvents { get; init; }

    /// <summary><c>includeReadOnlyEvents</c>: default false. True adds read-only CloudTrail calls (Get/Describe/List…), a much larger volume.</summary>
    public bool IncludeReadOnlyEvents { get; init; }

    /// <summary><c>stackSetAdministrator</c>: "management" (default) or "delegated-admin".</summary>
    public StackSetAdministrator StackSetAdministrator { get; init; } = StackSetAdministrator.ManagementAccount;

    /// <summary><c>eventBusName</c>: default "security-pipeline".</summary>
    public string EventBusName { get; init; } = "security-pipeline";

    /// <summary><c>streamName</c>: default "security-pipeline".</summary>
    public string StreamName { get; init; } = "security-pipeline";

    /// <summary><c>streamMode</c>: "on-demand" (default) or "provisioned".</summary>
    public StreamCapacityMode StreamMode { get; init; } = StreamCapacityMode.OnDemand;

    /// <summary><c>streamShardCount</c>: shards when provisioned, default 1 (1–500).</summary>
    public int StreamShardCount { get; init; } = 1;

    /// <summary><c>burstGapSeconds</c>: a burst closes after this much quiet for its account; default 120 (1–899, below the max window).</summary>
    public int BurstGapSeconds { get; init; } = 120;

    /// <summary><c>burstMaxWindowSeconds</c>: a burst never lasts longer, on its account's clock. Default 600 (1–86400, above the gap).</summary>
    public int BurstMaxWindowSeconds { get; init; } = 600;

    /// <summary><c>burstLatenessSeconds</c>: how late an event may arrive and still join its burst; a quiet burst also waits this long before its digest. Default 300 (0–3600).</summary>
    public int BurstLatenessSeconds { get; init; } = 300;

    // Roll-ups and immediate alerts (issue 13).
    /// <summary><c>rollupMinAccounts</c>: accounts that must show the same automated change for one roll-up message. Default 3; 0 turns roll-ups off; otherwise 2–100000.</summary>
    public int RollupMinAccounts { get; init; } = 3;

    /// <summary><c>rollupWindowSeconds</c>: how far apart, on the events' own times, the same change may be in two accounts and still be one roll-up. Default 180 (1–3600).</summary>
    public int RollupWindowSeconds { get; init; } = 180;

    /// <summary><c>silenceAfterSeconds</c>: an account-region that sent events and then stays this long behind the organisation's are reported silent. Default 21600 (6 h); 0 off, else 60–1209600 (14 days).</summary>
    public int SilenceAfterSeconds { get; init; } = 21_600;

    /// <summary><c>alertSeverity</c>: risky events at or above it are posted at once: "critical" (default), "high" or "off".</summary>
    public string AlertSeverity { get; init; } = "critical";

    /// <summary><c>windowSeconds</c>: the event source mapping's Kinesis tumbling window, independent of the bursts (open bursts carry over to the next window). Default 60 (1–900, Lambda's limit).</summary>
    public int WindowSeconds { get; init; } = 60;

    /// <summary><c>slackWebhookParameterName</c>: the SSM SecureString holding the Slack webhook URL; default "/security-pipeline/slack-webhook".</summary>
    public string SlackWebhookParameterName { get; init; } = "/security-pipeline/slack-webhook";

    /// <summary><c>slackWebhookParameterKeyArn</c>: the customer managed KMS key of that parameter, if not the default aws/ssm key.</summary>
    public string? SlackWebhookParameterKeyArn { get; init; }

    /// <summary><c>slackMode</c>: <c>webhook</c> (default) or <c>bot-token</c> (per-account channels and an alert channel).</summary>
    public SlackDeliveryMode SlackMode { get; init; } = SlackDeliveryMode.Webhook;

    /// <summary><c>slackBotTokenParameterName</c>: bot-token mode: the SSM SecureString holding the bot token; default "/security-pipeline/slack-bot-token".</summary>
    public string SlackBotTokenParameterName { get; init; } = "/security-pipeline/slack-bot-token";

    /// <summary><c>slackBotTokenParameterKeyArn</c>: the customer managed KMS key of that parameter, if not the default aws/ssm key.</summary>
    public string? SlackBotTokenParameterKeyArn { get; init; }

    /// <summary><c>slackDefaultChannel</c>: bot-token mode: the channel for accounts whose entry in the accounts table names none (required there).</summary>
    public string? SlackDefaultChannel { get; init; }

    /// <summary><c>slackAlertChannel</c>: bot-token mode, optional: a channel that also receives every digest with risky events.</summary>
    public string? SlackAlertChannel { get; init; }

    /// <summary><c>accountsTableName</c>: account id → name; default "security-pipeline-accounts".</summary>
    public string AccountsTableName { get; init; } = "security-pipeline-accounts";

    /// <summary><c>ledgerTableName</c>: digests already sent (idempotency), items expire by TTL; default "security-pipeline-digest-ledger".</summary>
    public string LedgerTableName { get; init; } = "security-pipeline-digest-ledger";

    /// <summary><c>maxRetryAttempts</c>: retries of a failing batch before it goes to the failure queue; default 3 (0–10000).</summary>
    public int MaxRetryAttempts { get; init; } = 3;

    /// <summary><c>maxRecordAgeSeconds</c>: records older than this are sent to the failure queue unprocessed; default 3600 (60–86400, the stream's retention).</summary>
    public int MaxRecordAgeSeconds { get; init; } = 3600;

    /// <summary><c>batchSize</c>: records per invocation, default 100 (1–10000).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary><c>alarmTopicArn</c>: an SNS topic for the alarms; without it the central stack creates an encrypted topic of its own.</summary>
    public string? AlarmTopicArn { get; init; }

    /// <summary><c>alarmEmail</c>: an address subscribed to the topic the stack creates (not allowed with <c>alarmTopicArn</c>).</summary>
    public string? AlarmEmail { get; init; }

    /// <summary><c>noEventsAlarmMinutes</c>: minutes without any record on the stream before an alarm says the whole organisation went dark. Default 60; 0 off, else 15–1440 in steps of 5.</summary>
    public int NoEventsAlarmMinutes { get; init; } = 60;

    /// <summary><c>bootstrapAsset</c>: folder holding the NativeAOT <c>bootstrap</c>, relative to infra/; default <c>../artifacts/lambda</c>,
    /// where scripts/publish-lambda.sh writes. <c>placeholder-asset</c> names the placeholder that fails every invocation.</summary>
    public required string BootstrapAssetDirectory { get; init; }

    /// <summary><c>functionArchitecture</c>: "arm64" (default, cheaper per GB-second) or "x86_64" when the bootstrap is built on and for x64.</summary>
    public FunctionArchitecture FunctionArchitecture { get; init; } = FunctionArchitecture.Arm64;

    /// <summary>True while the function is the placeholder (<c>-c bootstrapAsset=placeholder-asset</c>).</summary>
    public bool UsesPlaceholderAsset { get; init; }

    /// <summary><c>retainedKeyArn</c>: after a removal, the key it kept. The stack then reuses that key (and its alias) and the kept
    /// accounts and ledger tables, by their names, instead of creating them. Null: the stack creates all three.</summary>
    public string? RetainedKeyArn { get; init; }

    /// <summary><c>muteRulesFile</c>: a mute rules file (relative to infra/ in the setting, full path here), packaged with the function
    /// and named by MUTE_RULES. Null: nothing is muted.</summary>
    public string? MuteRulesFile { get; init; }
}
