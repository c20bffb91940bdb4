using System.Globalization;
using Pipeline.Enricher.Configuration;
using Env = Pipeline.Lambda.Configuration.FunctionEnvironment;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Enricher.Dedupe;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Secrets;

namespace Pipeline.Lambda.Configuration;

/// <summary>
/// Everything the Lambda reads from its environment, validated once at start-up. A bad value stops the
/// function before its first invocation with a message naming the variable (POST /runtime/init/error).
/// </summary>
internal sealed record LambdaOptions
{
    /// <summary>Lambda's hard limit on a shard's window state is 1 MB; this leaves room for the response's own JSON.</summary>
    public const int DefaultStateMaxBytes = 900_000;

    /// <summary>DynamoDB table with account names (partition key <c>accountId</c>, attribute <c>name</c>); null: ids only.</summary>
    public string? AccountsTable { get; init; }

    /// <summary>DynamoDB table of posted digests (partition key <c>digestId</c>, TTL attribute <c>expiresAt</c>). Required.</summary>
    public required string LedgerTable { get; init; }

    public BurstWindowOptions Window { get; init; } = new();

    /// <summary>DynamoDB table that carries open bursts and dedupe memory between windows (partition key <c>account</c>, TTL <c>expiresAt</c>). Required.</summary>
    public required string CarryTable { get; init; }

    /// <summary>How long past its window's end a window holds the carries it claimed (the sweeper waits that long for a stuck window). Default 1 h.</summary>
    public TimeSpan CarryLease { get; init; } = TimeSpan.FromHours(1);

    public DedupeOptions Dedupe { get; init; } = new() { MaxEntries = 50_000 };

    /// <summary>Webhook (default: one channel, the webhook's) or bot token (chat.postMessage: each account's channel, and the alert channel).</summary>
    public SlackMode SlackMode { get; init; } = SlackMode.Webhook;

    /// <summary>SSM parameter (SecureString) holding the Slack webhook URL (the CDK stack sets it in webhook mode).</summary>
    public string? SlackWebhookParameter { get; init; }

    /// <summary>SSM parameter (SecureString) holding the Slack bot token (the CDK stack sets it in bot-token mode).</summary>
    public string? SlackBotTokenParameter { get; init; }

    /// <summary>
    /// Where the webhook URL or the bot token (by <see cref="SlackMode"/>) is read from at start-up:
    /// <c>SLACK_WEBHOOK_SECRET</c> / <c>SLACK_BOT_TOKEN_SECRET</c> (env:NAME, file:PATH or ssm:NAME) when set, else
    /// <c>ssm:</c> + <see cref="SlackWebhookParameter"/> / <see cref="SlackBotTokenParameter"/>.
    /// </summary>
    public required SecretReference SlackSecret { get; init; }

    /// <summary>
    /// True when the secret came from a <c>…_SECRET</c> reference (tests, SSM-less setups): only then may Slack be
    /// plain http, and only to a loopback address.
    /// </summary>
    public bool SlackSecretOverridden { get; init; }

    /// <summary>Bot-token mode: the channel for accounts whose entry in the accounts table names none (required there).</summary>
    public string? SlackDefaultChannel { get; init; }

    /// <summary>Bot-token mode: a channel that also receives every digest with risky events; null: none.</summary>
    public string? SlackAlertChannel { get; init; }

    /// <summary>Bot-token mode: overrides the Slack Web API base (the tests' loopback Slack); null: https://slack.com/api/.</summary>
    public Uri? SlackApiUrl { get; init; }

    /// <summary>Least time between two posts to the webhook (Slack allows about one message per second). Default 1 s.</summary>
    public TimeSpan SlackMinInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>After a digest had to be parked, the next ones are parked without trying Slack (and nothing is drained) for this long. Default 1 min.</summary>
    public TimeSpan SlackCooldown { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>SQS queue that keeps digests Slack did not take (the CDK stack's outbox). Required.</summary>
    public required string OutboxQueueUrl { get; init; }

    /// <summary>Least time between two drains of the outbox by one process; zero: before every batch; null: never.</summary>
    public TimeSpan? OutboxDrainInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Most parked digests one drain resends. Default 10.</summary>
    public int OutboxDrainMax { get; init; } = 10;

    /// <summary>Overrides the SQS endpoint (the loopback SQS peer in tests); null on AWS.</summary>
    public Uri? SqsEndpoint { get; init; }

    /// <summary>Mute-rule file shipped in the function package (relative paths are under the package, /var/task); null: nothing muted.</summary>
    public string? MuteRulesPath { get; init; }

    /// <summary>Largest response (state included) the function returns; over it, bursts close early.</summary>
    public int StateMaxBytes { get; init; } = DefaultStateMaxBytes;

    /// <summary>How long a ledger entry is kept (DynamoDB TTL): longer than any retry of a batch can take.</summary>
    public TimeSpan LedgerTtl { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long a claimed-but-unconfirmed digest is reserved for the attempt that claimed it. After it, a retry
    /// may post it again: set it above the function timeout so a live attempt is never overtaken.
    /// </summary>
    public TimeSpan LedgerClaimLease { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Overrides the DynamoDB endpoint (dynalite on loopback in tests); null on AWS.</summary>
    public Uri? DynamoDbEndpoint { get; init; }

    public string Region { get; init; } = "us-east-1";

    // Roll-ups and immediate alerts (issue 13): ROLLUP_MIN_ACCOUNTS, ROLLUP_WINDOW; ALERT_SEVERITY is Window.AlertSeverity.
    /// <summary>When the same automated change in many accounts becomes one roll-up; the sweeper decides them.</summary>
    public RollupOptions Rollup { get; init; } = new();

    /// <summary>When a silent account-region is reported (SILENCE_AFTER); the sweeper checks, over what every window wrote.</summary>
    public Aggregator.Silence.SilenceOptions Silence { get; init; } = new();

    /// <summary>The variable that sets each option of the core, for validation messages in the operator's words.</summary>
    internal static readonly IReadOnlyDictionary<string, string> VariableOf = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(BurstWindowOptions.Gap)] = Env.BurstGap,
        [nameof(BurstWindowOptions.MaxWindow)] = Env.BurstMaxWindow,
        [nameof(BurstWindowOptions.Lateness)] = Env.BurstLateness,
        ["CarryLease"] = Env.CarryLease,
        [nameof(DedupeOptions.Horizon)] = Env.DedupeHorizon,
        [nameof(DedupeOptions.MaxEntries)] = Env.DedupeMaxIds,
        [nameof(StateMaxBytes)] = Env.StateMaxBytes,
        // Roll-ups (issue 13).
        [nameof(RollupOptions.MinAccounts)] = Env.RollupMinAccounts,
        [nameof(RollupOptions.Window)] = Env.RollupWindow,
        ["SilenceAfter"] = Env.SilenceAfter,
    };

    /// <summary>Reads and validates the environment; throws <see cref="LambdaConfigException"/> listing every problem.</summary>
    public static LambdaOptions FromEnvironment(Func<string, string?> env)
    {
        var problems = new List<string>();
        string? Get(string name) => env(name) is { Length: > 0 } v ? v.Trim() : null;

        TimeSpan DurationOf(string name, TimeSpan fallback, bool allowZero = false)
        {
            var text = Get(name);
            if (text is null) return fallback;
            if (allowZero && text == "0") return TimeSpan.Zero;
            // The CDK stack writes whole seconds ("120"); people write "2m".
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0) return TimeSpan.FromSeconds(seconds);
            if (Duration.TryParse(text, out var value) && (value > TimeSpan.Zero || allowZero)) return value;
            problems.Add($"{name}='{text}' is not a duration: write seconds (120) or 30s, 2m, 1h30m.");
            return fallback;
        }

        int IntOf(string name, int fallback, int min, int max)
        {
            var text = Get(name);
            if (text is null) return fallback;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
            problems.Add($"{name}='{text}' must be a whole number from {min} to {max}.");
            return fallback;
        }

        T Problem<T>(T fallback, string problem)
        {
            problems.Add(problem);
            return fallback;
        }

        Uri? UriOf(string name)
        {
            var text = Get(name);
            if (text is null) return null;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) return uri;
            problems.Add($"{name}='{text}' is not an http(s) URL.");
            return null;
        }

        var slackMode = Get(Env.SlackMode) switch
        {
            null or "webhook" => SlackMode.Webhook,
            "bot-token" => SlackMode.BotToken,
            var other => Problem(SlackMode.Webhook, $"{Env.SlackMode}='{other}' must be webhook or bot-token."),
        };
        bool botToken = slackMode == SlackMode.BotToken;
        // The other mode's variables would be silently ignored: name them, so that a half-switched setup is seen at once.
        string[] otherModeVariables = botToken
            ? [Env.SlackWebhookParameter, Env.SlackWebhookSecret]
            : [Env.SlackBotTokenParameter, Env.SlackBotTokenSecret, Env.SlackDefaultChannel, Env.SlackAlertChannel, Env.SlackApiUrl];
        foreach (var name in otherModeVariables.Where(n => Get(n) is not null))
            problems.Add(botToken
                ? $"{name} is set but {Env.SlackMode} is bot-token, which does not use it: remove it, or set {Env.SlackMode}=webhook."
                : $"{name} is set but {Env.SlackMode} is webhook (the default): a webhook posts only to its own channel; set {Env.SlackMode}=bot-token to route by account and severity.");

        var (secretVariable, parameterVariable, what) = botToken
            ? (Env.SlackBotTokenSecret, Env.SlackBotTokenParameter, "the Slack bot token (xoxb-…)")
            : (Env.SlackWebhookSecret, Env.SlackWebhookParameter, "the Slack webhook URL");
        SecretReference? slackSecret = null;
        if (Get(secretVariable) is { } secretSpec)
        {
            try
            {
                slackSecret = SecretReference.Parse(secretSpec);
            }
            catch (FormatException e)
            {
                // The reference is not the secret, but someone may have pasted the URL or token itself here: never echo it.
                problems.Add($"{secretVariable} is not a secret reference: {e.Message}");
            }
        }
        else if (Get(parameterVariable) is { } parameter)
        {
            slackSecret = new SecretReference(SecretSourceKind.Ssm, parameter);
        }
        else
        {
            problems.Add($"{parameterVariable} is not set: name the SSM SecureString parameter that holds {what}.");
        }
        var apiUrl = botToken ? UriOf(Env.SlackApiUrl) : null;
        if (apiUrl is not null && apiUrl.Scheme != Uri.UriSchemeHttps && !(apiUrl.IsLoopback && Get(secretVariable) is not null))
            problems.Add($"{Env.SlackApiUrl}='{apiUrl}' must use https (plain http only to a loopback address, with {Env.SlackBotTokenSecret}).");
        var defaultChannel = botToken ? Get(Env.SlackDefaultChannel) : null;
        if (botToken && defaultChannel is null)
            problems.Add($"{Env.SlackDefaultChannel} is not set: with {Env.SlackMode}=bot-token, name the channel for accounts whose entry in the accounts table names none.");

        var outboxUrl = UriOf(Env.OutboxQueueUrl);
        if (Get(Env.OutboxQueueUrl) is null)
            problems.Add($"{Env.OutboxQueueUrl} is not set: name the SQS queue that keeps digests Slack did not take (without it a Slack outage would lose them).");

        // Roll-ups and immediate alerts (issue 13).
        var rollupDefaults = new RollupOptions();
        var rollup = rollupDefaults with
        {
            MinAccounts = IntOf(Env.RollupMinAccounts, rollupDefaults.MinAccounts, 0, 100_000),
            Window = DurationOf(Env.RollupWindow, rollupDefaults.Window),
        };
        RiskSeverity? alertSeverity = new BurstWindowOptions().AlertSeverity;
        switch (Get(Env.AlertSeverity)?.ToLowerInvariant())
        {
            case null: break;
            case "critical": alertSeverity = RiskSeverity.Critical; break;
            case "high": alertSeverity = RiskSeverity.High; break;
            case "off": alertSeverity = null; break;
            case var other: problems.Add($"{Env.AlertSeverity}='{other}' must be critical, high or off."); break;
        }

        var defaults = new BurstWindowOptions();
        var ledger = Get(Env.LedgerTable);
        if (ledger is null) problems.Add($"{Env.LedgerTable} is not set: name the DynamoDB table that records posted digests (partition key digestId).");
        var carry = Get(Env.CarryTable);
        if (carry is null) problems.Add($"{Env.CarryTable} is not set: name the DynamoDB table that carries open bursts between windows (partition key account).");

        var options = new LambdaOptions
        {
            AccountsTable = Get(Env.AccountsTable),
            LedgerTable = ledger ?? "",
            CarryTable = carry ?? "",
            CarryLease = DurationOf(Env.CarryLease, TimeSpan.FromHours(1)),
            Window = new BurstWindowOptions
            {
                Gap = DurationOf(Env.BurstGap, defaults.Gap),
                MaxWindow = DurationOf(Env.BurstMaxWindow, defaults.MaxWindow),
                Lateness = DurationOf(Env.BurstLateness, defaults.Lateness, allowZero: true),
                AlertSeverity = alertSeverity,
            },
            Rollup = rollup,
            Silence = new Aggregator.Silence.SilenceOptions { After = DurationOf(Env.SilenceAfter, Aggregator.Silence.SilenceOptions.DefaultAfter, allowZero: true) },
            Dedupe = new DedupeOptions
            {
                Horizon = DurationOf(Env.DedupeHorizon, new DedupeOptions().Horizon),
                MaxEntries = IntOf(Env.DedupeMaxIds, 50_000, 1, 10_000_000),
            },
            SlackMode = slackMode,
            SlackWebhookParameter = botToken ? null : Get(Env.SlackWebhookParameter),
            SlackBotTokenParameter = botToken ? Get(Env.SlackBotTokenParameter) : null,
            SlackSecret = slackSecret ?? new SecretReference(SecretSourceKind.Ssm, "-"),
            SlackSecretOverridden = Get(secretVariable) is not null,
            SlackDefaultChannel = defaultChannel,
            SlackAlertChannel = botToken ? Get(Env.SlackAlertChannel) : null,
            SlackApiUrl = apiUrl,
            SlackMinInterval = DurationOf(Env.SlackMinInterval, TimeSpan.FromSeconds(1), allowZero: true),
            SlackCooldown = DurationOf(Env.SlackCooldown, TimeSpan.FromMinutes(1), allowZero: true),
            OutboxQueueUrl = outboxUrl?.OriginalString ?? "",
            OutboxDrainInterval = Get(Env.OutboxDrainInterval) is "off" ? null : DurationOf(Env.OutboxDrainInterval, TimeSpan.FromMinutes(1), allowZero: true),
            OutboxDrainMax = IntOf(Env.OutboxDrainMax, 10, 1, 100),
            SqsEndpoint = UriOf(Env.SqsEndpoint),
            MuteRulesPath = Get(Env.MuteRules),
            StateMaxBytes = IntOf(Env.StateMaxBytes, DefaultStateMaxBytes, 1_000, 1_000_000),
            LedgerTtl = DurationOf(Env.LedgerTtl, TimeSpan.FromDays(7)),
            LedgerClaimLease = DurationOf(Env.LedgerClaimLease, TimeSpan.FromMinutes(5)),
            DynamoDbEndpoint = UriOf(Env.DynamoDbEndpoint),
            Region = Get(Env.Region) ?? "us-east-1",
        };

        try
        {
            options.Window.Validate();
            options.Dedupe.Validate();
        }
        catch (InvalidOptionException e)
        {
            problems.Add(e.Describe(VariableOf));
        }
        try
        {
            options.Rollup.Validate();
        }
        catch (InvalidOptionException e)
        {
            problems.Add(e.Describe(VariableOf));
        }
        try
        {
            options.Silence.Validate();
        }
        catch (InvalidOptionException e)
        {
            problems.Add(e.Describe(VariableOf));
        }
        if (options.CarryLease < TimeSpan.FromMinutes(1))
            problems.Add($"{Env.CarryLease} ({Duration.Format(options.CarryLease)}) must be at least 1m: a window holds its carries that long after its end.");
        if (options.LedgerTtl <= options.LedgerClaimLease)
            problems.Add($"{Env.LedgerTtl} ({Duration.Format(options.LedgerTtl)}) must be longer than {Env.LedgerClaimLease} ({Duration.Format(options.LedgerClaimLease)}).");

        if (problems.Count > 0) throw new LambdaConfigException("invalid configuration: " + string.Join(" ", problems));
        return options;
    }
}

/// <summary>The environment cannot make a working function; the message names the variables to fix.</summary>
internal sealed class LambdaConfigException(string message) : Exception(message);
