using System.CommandLine;
using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.SQS;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Reading;
using Pipeline.Slack.Secrets;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline doctor`: checks a deployment from a workstation and prints one line per check. Exit 0 when nothing
/// failed (warnings and skipped checks are printed, not failures), 7 when a check failed.
/// </summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var outputs = new Option<string?>("--stack-outputs")
        {
            Description = "The central stack's outputs: a file with what `aws cloudformation describe-stacks --stack-name NAME` prints (or just its Outputs list); '-' reads stdin. The options below override single values.",
        };
        var stream = new Option<string?>("--stream") { Description = "The Kinesis stream (output StreamName)." };
        var accounts = new Option<string?>("--accounts-table") { Description = "The accounts table (output AccountsTableName; optional for the function)." };
        var ledger = new Option<string?>("--ledger-table") { Description = "The digest ledger table (output LedgerTableName)." };
        var carry = new Option<string?>("--carry-table") { Description = "The carry table (output CarryTableName)." };
        var outbox = new Option<string?>("--outbox-queue-url") { Description = "The SQS outbox of digests Slack did not take (output OutboxQueueUrl)." };
        var failed = new Option<string?>("--failed-batches-url") { Description = "The SQS queue of batches the function gave up on (output FailedBatchesQueueUrl)." };
        var deadLetters = new Option<string?>("--bus-dead-letters-url") { Description = "The SQS queue of events the bus could not deliver (output BusDeadLettersQueueUrl)." };
        var webhook = new Option<string?>("--slack-webhook") { Description = "Where the webhook URL is read: ssm:PARAMETER (as the function reads it), env:NAME or file:PATH. Probed with an empty message Slack refuses: nothing is posted." };
        var token = new Option<string?>("--slack-token") { Description = "Where the bot token is read (ssm:, env:, file:). Checked with auth.test: nothing is posted." };
        var apiUrl = new Option<string?>("--slack-api-url") { Description = "With --slack-token: the Slack Web API base (default https://slack.com/api/)." };
        var region = new Option<string?>("--region") { Description = "AWS region of the deployment (default: $AWS_REGION, else us-east-1)." };
        var kinesisEndpoint = new Option<string?>("--kinesis-endpoint") { Description = "Kinesis endpoint override (a local kinesalite, e.g. http://127.0.0.1:4567)." };
        var dynamoEndpoint = new Option<string?>("--dynamodb-endpoint") { Description = "DynamoDB endpoint override (a local dynalite)." };
        var sqsEndpoint = new Option<string?>("--sqs-endpoint") { Description = "SQS endpoint override (a local SQS stand-in)." };

        var command = new Command("doctor",
            "Check a deployment: the stream, the tables, the Slack secret, Slack (without posting) and the queues where failures end up. " +
            "Prints one line per check (PASS, WARN, FAIL, SKIP) with what to do next; exit 0 when none failed, 7 when one did. Reads only.")
        {
            outputs, stream, accounts, ledger, carry, outbox, failed, deadLetters, webhook, token, apiUrl, region, kinesisEndpoint, dynamoEndpoint, sqsEndpoint,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var targets = await ReadOutputsAsync(parse.GetValue(outputs), ct).ConfigureAwait(false);
            targets = targets with
            {
                Stream = parse.GetValue(stream) ?? targets.Stream,
                AccountsTable = parse.GetValue(accounts) ?? targets.AccountsTable,
                LedgerTable = parse.GetValue(ledger) ?? targets.LedgerTable,
                CarryTable = parse.GetValue(carry) ?? targets.CarryTable,
                OutboxQueueUrl = parse.GetValue(outbox) ?? targets.OutboxQueueUrl,
                FailedBatchesQueueUrl = parse.GetValue(failed) ?? targets.FailedBatchesQueueUrl,
                BusDeadLettersQueueUrl = parse.GetValue(deadLetters) ?? targets.BusDeadLettersQueueUrl,
            };
            var webhookSpec = parse.GetValue(webhook);
            var tokenSpec = parse.GetValue(token);
            if (webhookSpec is not null && tokenSpec is not null) throw new UsageException("give --slack-webhook or --slack-token, not both.");
            if (webhookSpec is not null) targets = targets with { SlackWebhook = SlackOptions.ParseSecret("--slack-webhook", webhookSpec) };
            if (tokenSpec is not null) targets = targets with { SlackToken = SlackOptions.ParseSecret("--slack-token", tokenSpec) };
            if (parse.GetValue(apiUrl) is { } api)
            {
                if (!Uri.TryCreate(api.EndsWith('/') ? api : api + "/", UriKind.Absolute, out var uri))
                    throw new UsageException($"--slack-api-url '{api}' is not an absolute URL.");
                targets = targets with { SlackApiUrl = uri };
            }
            if (targets is { Stream: null, LedgerTable: null, CarryTable: null, AccountsTable: null, OutboxQueueUrl: null, FailedBatchesQueueUrl: null, BusDeadLettersQueueUrl: null, SlackWebhook: null, SlackToken: null })
                throw new UsageException("nothing to check: give --stack-outputs FILE (aws cloudformation describe-stacks --stack-name NAME > FILE), or the names (--stream, --ledger-table, …).");

            var regionName = parse.GetValue(region) ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") ?? "us-east-1";
            using var kinesis = CreateKinesis(regionName, Endpoint(parse.GetValue(kinesisEndpoint), "--kinesis-endpoint"));
            using var dynamo = CreateDynamoDb(regionName, Endpoint(parse.GetValue(dynamoEndpoint), "--dynamodb-endpoint"));
            using var sqs = CreateSqs(regionName, Endpoint(parse.GetValue(sqsEndpoint), "--sqs-endpoint"));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var doctor = new DeploymentDoctor(kinesis, dynamo, sqs, http, new SecretResolver());
            var results = await doctor.RunAsync(targets, ct).ConfigureAwait(false);
            Print(results, Console.Out);
            return results.Any(r => r.Status == CheckStatus.Fail) ? ExitCode.ChecksFailed : ExitCode.Ok;
        }));
        return command;
    }

    private static async Task<DeploymentTargets> ReadOutputsAsync(string? path, CancellationToken cancellationToken)
    {
        if (path is null) return new DeploymentTargets();
        string json;
        try
        {
            json = path == "-" ? await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false) : await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"cannot read --stack-outputs '{path}': {e.Message}", e);
        }
        try
        {
            return DeploymentTargets.FromStackOutputs(DeploymentTargets.ParseStackOutputs(json));
        }
        catch (FormatException e)
        {
            throw new InputException($"--stack-outputs '{path}': {e.Message}. Write it with: aws cloudformation describe-stacks --stack-name NAME > FILE", e);
        }
    }

    /// <summary>The table: one line per check, and under each that did not pass, what to do next.</summary>
    internal static void Print(IReadOnlyList<CheckResult> results, TextWriter output)
    {
        int width = results.Max(r => r.Name.Length);
        output.WriteLine($"{"check".PadRight(width)}  result  detail");
        foreach (var r in results)
        {
            output.WriteLine($"{r.Name.PadRight(width)}  {Label(r.Status),-6}  {r.Detail}");
            if (r.Status != CheckStatus.Pass && r.Next is { } next) output.WriteLine($"{"".PadRight(width)}          → {next}");
        }
        int Count(CheckStatus s) => results.Count(r => r.Status == s);
        output.WriteLine($"{Count(CheckStatus.Pass)} passed, {Count(CheckStatus.Warn)} warnings, {Count(CheckStatus.Fail)} failed, {Count(CheckStatus.Skip)} not checked");
    }

    private static string Label(CheckStatus status) => status switch
    {
        CheckStatus.Pass => "PASS",
        CheckStatus.Warn => "WARN",
        CheckStatus.Fail => "FAIL",
        _ => "SKIP",
    };

    private static Uri? Endpoint(string? value, string option)
    {
        if (value is null) return null;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri))
            throw new UsageException($"{option} '{value}' is not an absolute URL (e.g. http://127.0.0.1:4567).");
        return uri;
    }

    /// <summary>Placeholder credentials for a loopback endpoint with none configured: emulators do not check signatures.</summary>
    private static AWSCredentials? LocalCredentials(Uri? endpoint) =>
        endpoint is { IsLoopback: true } && !AwsOptions.HasConfiguredCredentials() ? new BasicAWSCredentials("local", "local") : null;

    private static Kinesis.KinesisClient CreateKinesis(string region, Uri? endpoint)
    {
        try
        {
            return new Kinesis.KinesisClient(new Kinesis.KinesisClientOptions { Region = region, ServiceUrl = endpoint, Credentials = LocalCredentials(endpoint), MaxAttempts = 2 });
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static AmazonDynamoDBClient CreateDynamoDb(string region, Uri? endpoint) =>
        Configure(new AmazonDynamoDBConfig(), region, endpoint, c => LocalCredentials(endpoint) is { } creds ? new AmazonDynamoDBClient(creds, c) : new AmazonDynamoDBClient(c));

    private static AmazonSQSClient CreateSqs(string region, Uri? endpoint) =>
        Configure(new AmazonSQSConfig(), region, endpoint, c => LocalCredentials(endpoint) is { } creds ? new AmazonSQSClient(creds, c) : new AmazonSQSClient(c));

    /// <summary>Few retries and a short timeout: a doctor should answer in seconds, and an unreachable service is a finding.</summary>
    private static TClient Configure<TConfig, TClient>(TConfig config, string region, Uri? endpoint, Func<TConfig, TClient> create) where TConfig : ClientConfig
    {
        config.MaxErrorRetry = 1;
        config.Timeout = TimeSpan.FromSeconds(10);
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        return create(config);
    }
}
