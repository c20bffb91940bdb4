using System.Globalization;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Dedupe;

namespace Pipeline.Cli.Lambda;

/// <summary>
/// Everything the Lambda reads from its environment, validated once at start-up. A bad value stops the
/// function before its first invocation with a message naming the variable (POST /runtime/init/error).
/// </summary>
internal sealed record LambdaOptions
{
    public const string AccountsTableVar = "ACCOUNTS_TABLE";
    public const string LedgerTableVar = "LEDGER_TABLE";
    public const string BurstGapVar = "BURST_GAP";
    public const string BurstMaxWindowVar = "BURST_MAX_WINDOW";
    public const string DedupeHorizonVar = "DEDUPE_HORIZON";
    public const string DedupeMaxIdsVar = "DEDUPE_MAX_IDS";
    public const string SlackWebhookParameterVar = "SLACK_WEBHOOK_PARAMETER";
    public const string DigestWebhookUrlVar = "DIGEST_WEBHOOK_URL";
    public const string StateMaxBytesVar = "STATE_MAX_BYTES";
    public const string LedgerTtlVar = "LEDGER_TTL";
    public const string LedgerLeaseVar = "LEDGER_CLAIM_LEASE";
    public const string DynamoDbEndpointVar = "DYNAMODB_ENDPOINT";
    public const string RegionVar = "AWS_REGION";

    /// <summary>Lambda's hard limit on a shard's window state is 1 MB; this leaves room for the response's own JSON.</summary>
    public const int DefaultStateMaxBytes = 900_000;

    /// <summary>DynamoDB table with account names (partition key <c>accountId</c>, attribute <c>name</c>); null: ids only.</summary>
    public string? AccountsTable { get; init; }

    /// <summary>DynamoDB table of posted digests (partition key <c>digestId</c>, TTL attribute <c>expiresAt</c>). Required.</summary>
    public required string LedgerTable { get; init; }

    public BurstWindowOptions Window { get; init; } = new();

    public DedupeOptions Dedupe { get; init; } = new() { MaxEntries = 50_000 };

    /// <summary>SSM parameter (SecureString) holding the Slack webhook URL; resolved by the Slack delivery.</summary>
    public string? SlackWebhookParameter { get; init; }

    /// <summary>
    /// A plain URL that receives each digest as a Slack-style <c>{"text":…}</c> POST. For tests and for
    /// setups without SSM; never put a real Slack webhook in an environment variable.
    /// </summary>
    public Uri? DigestWebhookUrl { get; init; }

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

    /// <summary>Reads and validates the environment; throws <see cref="LambdaConfigException"/> listing every problem.</summary>
    public static LambdaOptions FromEnvironment(Func<string, string?> env)
    {
        var problems = new List<string>();
        string? Get(string name) => env(name) is { Length: > 0 } v ? v.Trim() : null;

        TimeSpan DurationOf(string name, TimeSpan fallback)
        {
            var text = Get(name);
            if (text is null) return fallback;
            // The CDK stack writes whole seconds ("120"); people write "2m".
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0) return TimeSpan.FromSeconds(seconds);
            if (Duration.TryParse(text, out var value) && value > TimeSpan.Zero) return value;
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

        Uri? UriOf(string name)
        {
            var text = Get(name);
            if (text is null) return null;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) return uri;
            problems.Add($"{name}='{text}' is not an http(s) URL.");
            return null;
        }

        var defaults = new BurstWindowOptions();
        var ledger = Get(LedgerTableVar);
        if (ledger is null) problems.Add($"{LedgerTableVar} is not set: name the DynamoDB table that records posted digests (partition key digestId).");

        var options = new LambdaOptions
        {
            AccountsTable = Get(AccountsTableVar),
            LedgerTable = ledger ?? "",
            Window = new BurstWindowOptions
            {
                Gap = DurationOf(BurstGapVar, defaults.Gap),
                MaxWindow = DurationOf(BurstMaxWindowVar, defaults.MaxWindow),
            },
            Dedupe = new DedupeOptions
            {
                Horizon = DurationOf(DedupeHorizonVar, new DedupeOptions().Horizon),
                MaxEntries = IntOf(DedupeMaxIdsVar, 50_000, 1, 10_000_000),
            },
            SlackWebhookParameter = Get(SlackWebhookParameterVar),
            DigestWebhookUrl = UriOf(DigestWebhookUrlVar),
            StateMaxBytes = IntOf(StateMaxBytesVar, DefaultStateMaxBytes, 1_000, 1_000_000),
            LedgerTtl = DurationOf(LedgerTtlVar, TimeSpan.FromDays(7)),
            LedgerClaimLease = DurationOf(LedgerLeaseVar, TimeSpan.FromMinutes(5)),
            DynamoDbEndpoint = UriOf(DynamoDbEndpointVar),
            Region = Get(RegionVar) ?? "us-east-1",
        };

        if (options.SlackWebhookParameter is null && options.DigestWebhookUrl is null)
            problems.Add($"no digest destination: set {SlackWebhookParameterVar} (the SSM parameter holding the Slack webhook URL) or {DigestWebhookUrlVar}.");
        try
        {
            options.Window.Validate();
        }
        catch (ArgumentException e)
        {
            problems.Add(e.Message.Replace("--gap", BurstGapVar, StringComparison.Ordinal).Replace("--max-window", BurstMaxWindowVar, StringComparison.Ordinal));
        }
        if (options.LedgerTtl <= options.LedgerClaimLease)
            problems.Add($"{LedgerTtlVar} ({Duration.Format(options.LedgerTtl)}) must be longer than {LedgerLeaseVar} ({Duration.Format(options.LedgerClaimLease)}).");

        if (problems.Count > 0) throw new LambdaConfigException("invalid configuration: " + string.Join(" ", problems));
        return options;
    }
}

/// <summary>The environment cannot make a working function; the message names the variables to fix.</summary>
internal sealed class LambdaConfigException(string message) : Exception(message);
