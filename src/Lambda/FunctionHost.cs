using Amazon.DynamoDBv2;
using Amazon.SQS;
using Amazon;
using Pipeline.Aggregator.Delivery;
using Pipeline.Enricher.Accounts.DynamoDb;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Muting;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Delivery;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Metrics;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;
using Pipeline.Slack.Threads;
using Pipeline.Slack;

namespace Pipeline.Lambda;

/// <summary>
/// The function as Lambda starts it: reads and validates the configuration, builds the window handler with its
/// production edges (DynamoDB ledger and account names, Slack with its SQS outbox), then serves invocations
/// through the Runtime API until the process is stopped.
/// </summary>
internal static class FunctionHost
{
    /// <summary>The process's exit codes (Lambda only logs them; a bad configuration is also reported as an init error).</summary>
    internal static class ExitCodes
    {
        public const int Ok = 0;
        public const int InvalidConfiguration = 2;
    }

    public static async Task<int> RunAsync(Func<string, string?> env, TextWriter stdout, CancellationToken stop)
    {
        var runtimeApi = env(FunctionEnvironment.RuntimeApi);
        if (string.IsNullOrEmpty(runtimeApi))
        {
            await Console.Error.WriteLineAsync($"error: {FunctionEnvironment.RuntimeApi} is not set: the bootstrap runs inside AWS Lambda (or against a Runtime API emulator).").ConfigureAwait(false);
            return ExitCodes.InvalidConfiguration;
        }
        var log = new LambdaLog(stdout, TimeProvider.System);
        using var http = RuntimeApiClient.CreateHttpClient(runtimeApi);
        var api = new RuntimeApiClient(http);

        KinesisWindowHandler handler;
        CarrySweeper sweeper;
        var meter = new InvocationMeter(TimeProvider.System);
        try
        {
            var options = LambdaOptions.FromEnvironment(env);
            // The composition root: the clock and the randomness (Slack's backoff jitter, no seed needed) enter here.
#pragma warning disable RS0030 // Random.Shared is banned in library code, not at the composition root.
            (handler, sweeper) = await CreateHandlerAsync(options, log, env, TimeProvider.System, Random.Shared.NextDouble, stop, meter: meter).ConfigureAwait(false);
#pragma warning restore RS0030
            log.Info("function ready", w =>
            {
                w.WriteString("ledgerTable", options.LedgerTable);
                w.WriteString("accountsTable", options.AccountsTable);
                w.WriteString("carryTable", options.CarryTable);
                // The reference, never the URL or the token.
                w.WriteString(options.SlackMode == SlackMode.BotToken ? "slackBotToken" : "slackWebhook", options.SlackSecret.ToString());
                if (options.SlackMode == SlackMode.BotToken)
                {
                    w.WriteString("slackDefaultChannel", options.SlackDefaultChannel);
                    w.WriteString("slackAlertChannel", options.SlackAlertChannel);
                }
                w.WriteString("outboxQueue", options.OutboxQueueUrl);
                w.WriteString("muteRules", options.MuteRulesPath);
                w.WriteNumber("burstGapSeconds", options.Window.Gap.TotalSeconds);
                w.WriteNumber("burstMaxWindowSeconds", options.Window.MaxWindow.TotalSeconds);
                w.WriteNumber("burstLatenessSeconds", options.Window.Lateness.TotalSeconds);
                w.WriteNumber("stateMaxBytes", options.StateMaxBytes);
                // Roll-ups and immediate alerts (issue 13).
                w.WriteNumber("rollupMinAccounts", options.Rollup.MinAccounts);
                w.WriteNumber("rollupWindowSeconds", options.Rollup.Window.TotalSeconds);
                w.WriteString("alertSeverity", options.Window.AlertSeverity?.ToString().ToLowerInvariant() ?? "off");
                w.WriteNumber("silenceAfterSeconds", options.Silence.After.TotalSeconds);
            });
        }
        catch (Exception e) when (e is LambdaConfigException or ArgumentException or SlackConfigurationException)
        {
            log.Error(e.Message);
            await api.PostInitErrorAsync("Runtime.InvalidConfiguration", e.Message, stop).ConfigureAwait(false);
            return ExitCodes.InvalidConfiguration;
        }

        var metrics = new EmfWriter(stdout, TimeProvider.System, env(MeteredFunction.FunctionNameVariable) is { Length: > 0 } name ? name : MeteredFunction.UnnamedFunction);
        var function = new MeteredFunction(handler, sweeper, meter, metrics);
        var runtime = new LambdaRuntime(api, function.InvokeAsync, log, TimeProvider.System);
        await runtime.RunAsync(stop).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Builds the production handler: DynamoDB ledger and account names (with their Slack channels), mute rules, Slack
    /// delivery (the webhook URL or bot token read once, here) with its SQS outbox and the outbox drain. Throws <see cref="LambdaConfigException"/> or
    /// <see cref="SlackConfigurationException"/> with a message naming what to fix (never the secret).
    /// </summary>
    internal static async Task<(KinesisWindowHandler Handler, CarrySweeper Sweeper)> CreateHandlerAsync(
        LambdaOptions options, LambdaLog log, Func<string, string?> env, TimeProvider time, Func<double> random, CancellationToken cancellationToken,
        IAmazonSQS? sqs = null, HttpClient? http = null, IAmazonDynamoDB? dynamoDb = null, InvocationMeter? meter = null)
    {
        var mutes = LoadMuteRules(options);
        var dynamo = dynamoDb ?? CreateDynamoDbClient(options);
        var ledger = new DynamoDbDigestLedger(dynamo, options.LedgerTable, time, options.LedgerClaimLease, options.LedgerTtl);
        IAccountDirectory directory = options.AccountsTable is { } table
            ? new DynamoDbAccountDirectory(dynamo, new DynamoDbDirectoryOptions { TableName = table }, time, onFailure: message => log.Warn(message))
            : FileAccountDirectory.Empty;
        ICarryStore carries = new DynamoDbCarryStore(dynamo, options.CarryTable);
        // Last-seen per account-region lives beside the carries (reserved keys seen#…), where the sweeper looks.
        var silence = new DynamoDbSilenceStore(dynamo, options.CarryTable);
        var handlerOptions = new KinesisWindowHandlerOptions
        {
            Core = new DigestCoreOptions { Window = options.Window, Rollup = options.Rollup, Silence = options.Silence, Enricher = new EnricherOptions { Dedupe = options.Dedupe } },
            StateMaxBytes = options.StateMaxBytes,
            CarryLease = options.CarryLease,
        };

        var outbox = new SqsDigestOutbox(sqs ?? CreateSqsClient(options), new SqsOutboxOptions { QueueUrl = options.OutboxQueueUrl });
        var sender = await SlackDelivery.CreateSenderAsync(SlackOptions(options), random, http ?? SlackDelivery.CreateHttpClient(),
            new SecretResolver(env), time, line => log.Warn(line), cancellationToken).ConfigureAwait(false);
        var (slackSink, drain) = CreateDelivery(options, sender, outbox, time, log, threads: ledger);
        // With a meter (the function's metrics), the edges are counted as they are used; the handler and the sweeper
        // see the same interfaces either way.
        IDigestLedger ledgerEdge = meter is null ? ledger : new MeteredDigestLedger(ledger, meter);
        IDigestSink sink = meter is null ? slackSink : new MeteredDigestSink(slackSink, meter);
        if (meter is not null) carries = new MeteredCarryStore(carries, meter);
        return (
            new KinesisWindowHandler(handlerOptions, directory, ledgerEdge, carries, sink, log, time, mutes, drain, silence),
            new CarrySweeper(handlerOptions.Core, directory, carries, ledgerEdge, sink, log, time, mutes, silence));
    }

    /// <summary>
    /// The sink and the drain over one sender (one pacer for both) and one outbox, sharing one circuit breaker on Slack.
    /// <paramref name="threads"/> (the ledger, in production) remembers alerts' messages for their digests' threads.
    /// </summary>
    internal static (FunctionSlackSink Sink, OutboxDrain Drain) CreateDelivery(LambdaOptions options, SlackSender sender, IDigestOutbox outbox, TimeProvider time, LambdaLog log, IAlertThreads? threads = null)
    {
        var slack = new SlackCircuit(time, sender.Options.Cooldown);
        var sink = new FunctionSlackSink(new SlackDigestSink(sender, outbox, time: time, log: line => log.Warn(line), threads: threads, circuit: slack), log);
        var drain = new OutboxDrain(new OutboxResender(sender, outbox, line => log.Info(line), time), slack, log, time,
            options.OutboxDrainInterval, options.OutboxDrainMax);
        return (sink, drain);
    }

    /// <summary>
    /// Slack's defaults, shortened to fit the function's 2-minute timeout: a digest Slack will not take goes to the
    /// outbox after at most 3 attempts (about 20 s with timeouts and backoff) rather than after 5 (over a minute).
    /// </summary>
    internal static SlackDeliveryOptions SlackOptions(LambdaOptions options) => new()
    {
        Mode = options.SlackMode,
        Secret = options.SlackSecret,
        DefaultChannel = options.SlackDefaultChannel,
        AlertChannel = options.SlackAlertChannel,
        ApiBaseUrl = options.SlackApiUrl ?? new SlackDeliveryOptions().ApiBaseUrl,
        MaxAttempts = 3,
        AttemptTimeout = TimeSpan.FromSeconds(5),
        BaseDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromSeconds(4),
        MaxRetryAfter = TimeSpan.FromSeconds(10),
        MinIntervalPerChannel = options.SlackMinInterval,
        Cooldown = options.SlackCooldown,
        // Only for an explicitly given secret (tests): plain http, and only to 127.0.0.1/localhost.
        AllowLoopbackHttp = options.SlackSecretOverridden,
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
            throw new LambdaConfigException($"invalid configuration: {FunctionEnvironment.MuteRules}: {e.Message}");
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
