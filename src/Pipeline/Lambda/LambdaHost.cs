using System.CommandLine;
using Amazon;
using Amazon.DynamoDBv2;
using Amazon.SQS;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Accounts.DynamoDb;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Muting;
using Pipeline.Slack;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;

namespace Pipeline.Cli.Lambda;

/// <summary>
/// The Lambda entry point: the same `pipeline` binary, published NativeAOT and named <c>bootstrap</c>, runs the
/// Runtime API loop when Lambda starts it (AWS_LAMBDA_RUNTIME_API set, no arguments) or when run as
/// <c>pipeline lambda</c>. Reads and validates the configuration, builds the handler, then serves invocations.
/// </summary>
internal static class LambdaHost
{
    public const string RuntimeApiVar = "AWS_LAMBDA_RUNTIME_API";

    /// <summary>True when the process was started by Lambda as its bootstrap.</summary>
    public static bool StartedByLambda(string[] args) =>
        args.Length == 0 && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RuntimeApiVar));

    public static Command CreateCommand()
    {
        var command = new Command("lambda", "Serve Lambda invocations through the Runtime API at $AWS_LAMBDA_RUNTIME_API (what the bootstrap does).")
        {
            Hidden = true,
        };
        command.SetAction((_, ct) => RunAsync(Environment.GetEnvironmentVariable, Console.Out, ct));
        return command;
    }

    public static async Task<int> RunAsync(Func<string, string?> env, TextWriter stdout, CancellationToken stop)
    {
        var runtimeApi = env(RuntimeApiVar);
        if (string.IsNullOrEmpty(runtimeApi))
        {
            await Console.Error.WriteLineAsync($"error: {RuntimeApiVar} is not set: `pipeline lambda` runs inside AWS Lambda (or against a Runtime API emulator).").ConfigureAwait(false);
            return ExitCodes.UsageError;
        }
        var log = new LambdaLog(stdout, TimeProvider.System);
        using var http = RuntimeApiClient.CreateHttpClient(runtimeApi);
        var api = new RuntimeApiClient(http);

        KinesisWindowHandler handler;
        try
        {
            var options = LambdaOptions.FromEnvironment(env);
            handler = await CreateHandlerAsync(options, log, env, TimeProvider.System, stop).ConfigureAwait(false);
            log.Info("function ready", w =>
            {
                w.WriteString("ledgerTable", options.LedgerTable);
                w.WriteString("accountsTable", options.AccountsTable);
                w.WriteString("slackWebhook", options.SlackWebhookSecret.ToString()); // the reference, never the URL
                w.WriteString("outboxQueue", options.OutboxQueueUrl);
                w.WriteString("muteRules", options.MuteRulesPath);
                w.WriteNumber("burstGapSeconds", options.Window.Gap.TotalSeconds);
                w.WriteNumber("burstMaxWindowSeconds", options.Window.MaxWindow.TotalSeconds);
                w.WriteNumber("stateMaxBytes", options.StateMaxBytes);
            });
        }
        catch (Exception e) when (e is LambdaConfigException or ArgumentException or SlackConfigurationException)
        {
            log.Error(e.Message);
            await api.PostInitErrorAsync("Runtime.InvalidConfiguration", e.Message, stop).ConfigureAwait(false);
            return ExitCodes.UsageError;
        }

        var runtime = new LambdaRuntime(api, async (invocation, ct) =>
        {
            var evt = KinesisWindowEvent.Parse(invocation.Body);
            var response = await handler.HandleAsync(evt, ct).ConfigureAwait(false);
            return response.ToJson();
        }, log, TimeProvider.System);
        await runtime.RunAsync(stop).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Builds the production handler: DynamoDB ledger and account names, mute rules, Slack delivery (the webhook URL
    /// read once, here) with its SQS outbox and the outbox drain. Throws <see cref="LambdaConfigException"/> or
    /// <see cref="SlackConfigurationException"/> with a message naming what to fix (never the secret).
    /// </summary>
    internal static async Task<KinesisWindowHandler> CreateHandlerAsync(
        LambdaOptions options, LambdaLog log, Func<string, string?> env, TimeProvider time, CancellationToken cancellationToken,
        IAmazonSQS? sqs = null, HttpClient? http = null)
    {
        var mutes = LoadMuteRules(options);
        var dynamo = CreateDynamoDbClient(options);
        var ledger = new DynamoDbDigestLedger(dynamo, options.LedgerTable, time, options.LedgerClaimLease, options.LedgerTtl);
        IAccountDirectory directory = options.AccountsTable is { } table
            ? new DynamoDbAccountDirectory(dynamo, new DynamoDbDirectoryOptions { TableName = table }, time, onFailure: message => log.Warn(message))
            : FileAccountDirectory.Empty;
        var handlerOptions = new KinesisWindowHandlerOptions
        {
            Window = options.Window,
            Enricher = new EnricherOptions { Dedupe = options.Dedupe },
            StateMaxBytes = options.StateMaxBytes,
        };

        var outbox = new SqsDigestOutbox(sqs ?? CreateSqsClient(options), new SqsOutboxOptions { QueueUrl = options.OutboxQueueUrl });
        var sender = await SlackDelivery.CreateSenderAsync(SlackOptions(options), http ?? SlackDelivery.CreateHttpClient(),
            new SecretResolver(env), time, line => log.Warn(line), cancellationToken).ConfigureAwait(false);
        var (poster, drain) = CreateDelivery(options, sender, outbox, time, log);
        return new KinesisWindowHandler(handlerOptions, directory, ledger, poster, log, mutes, drain);
    }

    /// <summary>The poster and the drain over one sender (one pacer for both) and one outbox, sharing what they know of Slack.</summary>
    internal static (SlackDigestPoster Poster, OutboxDrain Drain) CreateDelivery(LambdaOptions options, SlackSender sender, IDigestOutbox outbox, TimeProvider time, LambdaLog log)
    {
        var health = new SlackHealth(time, options.SlackCooldown);
        var poster = new SlackDigestPoster(new SlackDigestSink(sender, outbox, time: time, log: line => log.Warn(line)), health, log);
        var drain = new OutboxDrain(new OutboxResender(sender, outbox, line => log.Info(line), time), health, log, time,
            options.OutboxDrainInterval, options.OutboxDrainMax);
        return (poster, drain);
    }

    /// <summary>
    /// Slack's defaults, shortened to fit the function's 2-minute timeout: a digest Slack will not take goes to the
    /// outbox after at most 3 attempts (about 20 s with timeouts and backoff) rather than after 5 (over a minute).
    /// </summary>
    internal static SlackDeliveryOptions SlackOptions(LambdaOptions options) => new()
    {
        Mode = SlackMode.Webhook,
        Secret = options.SlackWebhookSecret,
        MaxAttempts = 3,
        AttemptTimeout = TimeSpan.FromSeconds(5),
        BaseDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromSeconds(4),
        MaxRetryAfter = TimeSpan.FromSeconds(10),
        MinIntervalPerChannel = options.SlackMinInterval,
        // Only for an explicitly given secret (tests): plain http, and only to 127.0.0.1/localhost.
        AllowLoopbackHttp = options.SlackWebhookSecretOverridden,
    };

    private static MuteRuleSet? LoadMuteRules(LambdaOptions options)
    {
        if (options.MuteRulesPath is not { } path) return null;
        try
        {
            return MuteRuleSet.Load(path);
        }
        catch (MuteRuleException e)
        {
            throw new LambdaConfigException($"invalid configuration: {LambdaOptions.MuteRulesVar}: {e.Message}");
        }
    }

    private static AmazonSQSClient CreateSqsClient(LambdaOptions options) =>
        new(Configure(new AmazonSQSConfig(), options.SqsEndpoint, options.Region));

    private static AmazonDynamoDBClient CreateDynamoDbClient(LambdaOptions options) =>
        new(Configure(new AmazonDynamoDBConfig(), options.DynamoDbEndpoint, options.Region));

    /// <summary>Short timeouts and few retries (the function has a deadline); an endpoint override for the tests' loopback servers.</summary>
    private static T Configure<T>(T config, Uri? endpoint, string region) where T : Amazon.Runtime.ClientConfig
    {
        config.MaxErrorRetry = 2;
        config.Timeout = TimeSpan.FromSeconds(5);
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        return config;
    }
}
