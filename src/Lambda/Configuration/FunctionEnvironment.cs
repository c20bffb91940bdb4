namespace Pipeline.Lambda.Configuration;

/// <summary>
/// The function's environment contract: every variable it reads, written once. The function reads them
/// (<see cref="LambdaOptions.FromEnvironment"/>) and the CDK app sets them (infra/ compiles this very file), so the
/// two cannot drift apart. Plain constants only: infra/ builds it without any other part of src/.
/// </summary>
public static class FunctionEnvironment
{
    /// <summary>DynamoDB table with account names; unset: digests show account ids only.</summary>
    public const string AccountsTable = "ACCOUNTS_TABLE";
    /// <summary>DynamoDB table of posted digests (the digest ledger). Required.</summary>
    public const string LedgerTable = "LEDGER_TABLE";
    /// <summary>A burst closes after this much quiet in its account: seconds (120) or a duration (2m).</summary>
    public const string BurstGap = "BURST_GAP";
    /// <summary>A burst closes after lasting this long (on its account's clock; no longer tied to the tumbling window).</summary>
    public const string BurstMaxWindow = "BURST_MAX_WINDOW";
    /// <summary>How late an event may arrive and still be windowed at its own time (default 5m); also how long a quiet burst waits for late events.</summary>
    public const string BurstLateness = "BURST_LATENESS";
    /// <summary>DynamoDB table that carries open bursts and dedupe memory from one window to the next (partition key <c>account</c>, TTL <c>expiresAt</c>). Required.</summary>
    public const string CarryTable = "CARRY_TABLE";
    /// <summary>How long a window may hold an account's carry before the sweeper may take it (default 1h).</summary>
    public const string CarryLease = "CARRY_LEASE";
    public const string DedupeHorizon = "DEDUPE_HORIZON";
    public const string DedupeMaxIds = "DEDUPE_MAX_IDS";
    /// <summary>How the function posts: <c>webhook</c> (default; one channel, the webhook's) or <c>bot-token</c> (chat.postMessage; each account's channel).</summary>
    public const string SlackMode = "SLACK_MODE";
    /// <summary>SSM SecureString parameter holding the Slack webhook URL.</summary>
    public const string SlackWebhookParameter = "SLACK_WEBHOOK_PARAMETER";
    /// <summary>A secret reference (env:, file:, ssm:) that overrides <see cref="SlackWebhookParameter"/> (tests, SSM-less set-ups).</summary>
    public const string SlackWebhookSecret = "SLACK_WEBHOOK_SECRET";
    /// <summary>Bot-token mode: SSM SecureString parameter holding the bot token (xoxb-…).</summary>
    public const string SlackBotTokenParameter = "SLACK_BOT_TOKEN_PARAMETER";
    /// <summary>Bot-token mode: a secret reference (env:, file:, ssm:) that overrides <see cref="SlackBotTokenParameter"/> (tests, SSM-less set-ups).</summary>
    public const string SlackBotTokenSecret = "SLACK_BOT_TOKEN_SECRET";
    /// <summary>Bot-token mode: the channel for accounts whose entry in the accounts table names none. Required there.</summary>
    public const string SlackDefaultChannel = "SLACK_DEFAULT_CHANNEL";
    /// <summary>Bot-token mode, optional: a channel that also receives every digest with risky events.</summary>
    public const string SlackAlertChannel = "SLACK_ALERT_CHANNEL";
    /// <summary>Bot-token mode: overrides the Slack Web API base (the tests' loopback Slack); unset on AWS.</summary>
    public const string SlackApiUrl = "SLACK_API_URL";
    public const string SlackMinInterval = "SLACK_MIN_INTERVAL";
    public const string SlackCooldown = "SLACK_COOLDOWN";
    /// <summary>SQS queue that keeps the digests Slack did not take. Required.</summary>
    public const string OutboxQueueUrl = "OUTBOX_QUEUE_URL";
    public const string OutboxDrainInterval = "OUTBOX_DRAIN_INTERVAL";
    public const string OutboxDrainMax = "OUTBOX_DRAIN_MAX";
    public const string MuteRules = "MUTE_RULES";
    public const string StateMaxBytes = "STATE_MAX_BYTES";
    public const string LedgerTtl = "LEDGER_TTL";
    public const string LedgerClaimLease = "LEDGER_CLAIM_LEASE";
    /// <summary>Endpoint overrides for the tests' loopback peers; unset on AWS.</summary>
    public const string SqsEndpoint = "SQS_ENDPOINT";
    public const string DynamoDbEndpoint = "DYNAMODB_ENDPOINT";

    // Roll-ups and immediate alerts (issue 13).
    /// <summary>Accounts that must show the same automated change for one roll-up (default 3; 0 turns roll-ups off).</summary>
    public const string RollupMinAccounts = "ROLLUP_MIN_ACCOUNTS";
    /// <summary>How far apart, on the events' own times, the same change may be in two accounts and still be one roll-up: seconds (180) or a duration (3m).</summary>
    public const string RollupWindow = "ROLLUP_WINDOW";
    /// <summary>Risky events at or above this severity are posted at once: critical (default), high, or off.</summary>
    public const string AlertSeverity = "ALERT_SEVERITY";

    // The silence check (issue 15).
    /// <summary>An account-region that sent events and then none for this long, while the organisation's events went on, is reported (default 6h; 0 turns it off).</summary>
    public const string SilenceAfter = "SILENCE_AFTER";

    /// <summary>Set by Lambda itself.</summary>
    public const string Region = "AWS_REGION";
    /// <summary>Set by Lambda itself: where the Runtime API listens.</summary>
    public const string RuntimeApi = "AWS_LAMBDA_RUNTIME_API";
}
