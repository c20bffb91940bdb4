using System.CommandLine;
using Amazon;
using Amazon.DynamoDBv2;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;

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
            handler = CreateHandler(options, log);
            log.Info("function ready", w =>
            {
                w.WriteString("ledgerTable", options.LedgerTable);
                w.WriteString("accountsTable", options.AccountsTable);
                w.WriteNumber("burstGapSeconds", options.Window.Gap.TotalSeconds);
                w.WriteNumber("burstMaxWindowSeconds", options.Window.MaxWindow.TotalSeconds);
                w.WriteNumber("stateMaxBytes", options.StateMaxBytes);
            });
        }
        catch (Exception e) when (e is LambdaConfigException or ArgumentException)
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

    /// <summary>Builds the production handler: DynamoDB ledger (and account names), the digest poster.</summary>
    internal static KinesisWindowHandler CreateHandler(LambdaOptions options, LambdaLog log, IMuteRules? mutes = null)
    {
        var dynamo = CreateDynamoDbClient(options);
        var ledger = new DynamoDbDigestLedger(dynamo, options.LedgerTable, TimeProvider.System, options.LedgerClaimLease, options.LedgerTtl);
        IAccountDirectory directory = options.AccountsTable is { } table
            ? new DynamoDbAccountDirectory(dynamo, table, message => log.Warn(message))
            : FileAccountDirectory.Empty;
        var handlerOptions = new KinesisWindowHandlerOptions
        {
            Window = options.Window,
            Enricher = new EnricherOptions { Dedupe = options.Dedupe },
            StateMaxBytes = options.StateMaxBytes,
        };
        return new KinesisWindowHandler(handlerOptions, directory, ledger, CreatePoster(options), log, mutes);
    }

    /// <summary>
    /// Where digests go. Slack delivery through the SSM parameter (src/Slack) is wired here by the lead; until
    /// then a function configured only with SLACK_WEBHOOK_PARAMETER stops at start-up with that message.
    /// </summary>
    private static IDigestPoster CreatePoster(LambdaOptions options)
    {
        if (options.DigestWebhookUrl is { } url)
            return new WebhookDigestPoster(new HttpClient { Timeout = TimeSpan.FromSeconds(10) }, url);
        throw new LambdaConfigException(
            $"{LambdaOptions.SlackWebhookParameterVar} is set but Slack delivery is not wired into this build yet; set {LambdaOptions.DigestWebhookUrlVar} instead.");
    }

    private static AmazonDynamoDBClient CreateDynamoDbClient(LambdaOptions options)
    {
        var config = new AmazonDynamoDBConfig { MaxErrorRetry = 2, Timeout = TimeSpan.FromSeconds(5) };
        if (options.DynamoDbEndpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        return new AmazonDynamoDBClient(config);
    }
}
