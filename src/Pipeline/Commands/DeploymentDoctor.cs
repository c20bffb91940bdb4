using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Enricher.Accounts.DynamoDb;
using Pipeline.Kinesis;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Ledger;
using Pipeline.Slack.Secrets;

namespace Pipeline.Cli.Commands;

internal enum CheckStatus { Pass, Warn, Fail, Skip }

/// <summary>One line of the doctor's table: what was checked, how it went, and on anything but a pass what to do next.</summary>
internal sealed record CheckResult(string Name, CheckStatus Status, string Detail, string? Next = null);

/// <summary>What a deployment is made of, as the central stack's outputs and the command line name it. Null: not given, not checked.</summary>
internal sealed record DeploymentTargets
{
    public string? Stream { get; init; }
    public string? AccountsTable { get; init; }
    public string? LedgerTable { get; init; }
    public string? CarryTable { get; init; }
    public string? OutboxQueueUrl { get; init; }
    public string? FailedBatchesQueueUrl { get; init; }
    public string? BusDeadLettersQueueUrl { get; init; }
    public string? FunctionName { get; init; }
    public string? LogGroupName { get; init; }
    /// <summary>Where the webhook URL is read (env:, file:, ssm:); or <see cref="SlackToken"/>, not both.</summary>
    public SecretReference? SlackWebhook { get; init; }
    public SecretReference? SlackToken { get; init; }
    public Uri SlackApiUrl { get; init; } = new("https://slack.com/api/");

    /// <summary>The central stack's output keys (infra/Stacks/CentralStack.cs) and the target each one fills.</summary>
    public static DeploymentTargets FromStackOutputs(IReadOnlyDictionary<string, string> outputs) => new()
    {
        Stream = outputs.GetValueOrDefault("StreamName"),
        AccountsTable = outputs.GetValueOrDefault("AccountsTableName"),
        LedgerTable = outputs.GetValueOrDefault("LedgerTableName"),
        CarryTable = outputs.GetValueOrDefault("CarryTableName"),
        OutboxQueueUrl = outputs.GetValueOrDefault("OutboxQueueUrl"),
        FailedBatchesQueueUrl = outputs.GetValueOrDefault("FailedBatchesQueueUrl"),
        BusDeadLettersQueueUrl = outputs.GetValueOrDefault("BusDeadLettersQueueUrl"),
        FunctionName = outputs.GetValueOrDefault("FunctionName"),
        LogGroupName = outputs.GetValueOrDefault("LogGroupName"),
    };

    /// <summary>
    /// Reads what <c>aws cloudformation describe-stacks --stack-name NAME</c> prints (the first stack's Outputs), or just the
    /// Outputs list (<c>--query 'Stacks[0].Outputs'</c>). Throws <see cref="FormatException"/> saying what was expected.
    /// </summary>
    public static Dictionary<string, string> ParseStackOutputs(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true });
            var outputs = doc.RootElement;
            if (outputs.ValueKind == JsonValueKind.Object)
            {
                if (!outputs.TryGetProperty("Stacks", out var stacks) || stacks.ValueKind != JsonValueKind.Array || stacks.GetArrayLength() == 0)
                    throw new FormatException("expected the JSON of `aws cloudformation describe-stacks` (an object with \"Stacks\") or its Outputs list");
                if (!stacks[0].TryGetProperty("Outputs", out outputs))
                    throw new FormatException("the stack has no Outputs: is it the central stack, and is it deployed (CREATE_COMPLETE)?");
            }
            if (outputs.ValueKind != JsonValueKind.Array) throw new FormatException("Outputs is not a list");
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var o in outputs.EnumerateArray())
                if (o.TryGetProperty("OutputKey", out var k) && o.TryGetProperty("OutputValue", out var v) && k.GetString() is { } key && v.GetString() is { } value)
                    map[key] = value;
            return map;
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}", e);
        }
    }
}

/// <summary>
/// Checks a deployed pipeline from a workstation, one line per piece: the stream, the tables (keys and TTL as the
/// function uses them), the Slack secret and Slack itself (without posting anything), and the queues where the function's
/// failures end up. Reads only: it changes nothing, posts nothing, receives no message from a queue.
/// </summary>
internal sealed class DeploymentDoctor(KinesisClient kinesis, IAmazonDynamoDB dynamoDb, IAmazonSQS sqs, HttpClient http, SecretResolver secrets)
{
    public async Task<IReadOnlyList<CheckResult>> RunAsync(DeploymentTargets t, CancellationToken cancellationToken)
    {
        var results = new List<CheckResult>
        {
            await StreamAsync(t.Stream, cancellationToken).ConfigureAwait(false),
            await TableAsync("accounts table", t.AccountsTable, AccountTable.KeyAttribute, "AccountsTableName", optional: true, cancellationToken).ConfigureAwait(false),
            await TableAsync("ledger table", t.LedgerTable, DynamoDbDigestLedger.KeyAttribute, "LedgerTableName", optional: false, cancellationToken).ConfigureAwait(false),
            await TtlAsync("ledger TTL", t.LedgerTable, DynamoDbDigestLedger.TtlAttribute, "posted digests' ids are never deleted (the table only grows)", cancellationToken).ConfigureAwait(false),
            await TableAsync("carry table", t.CarryTable, DynamoDbCarryStore.KeyAttribute, "CarryTableName", optional: false, cancellationToken).ConfigureAwait(false),
            await TtlAsync("carry TTL", t.CarryTable, DynamoDbCarryStore.TtlAttribute, "carries nobody takes (a closed account) stay forever", cancellationToken).ConfigureAwait(false),
        };
        results.AddRange(await SlackAsync(t, cancellationToken).ConfigureAwait(false));
        results.Add(await QueueAsync("outbox queue", t.OutboxQueueUrl, "OutboxQueueUrl",
            n => $"{n} digest(s) parked: Slack did not take them. Check Slack (the line above); the function resends them by itself once Slack answers (see docs/lambda.md, Slack delivery from the function).",
            cancellationToken).ConfigureAwait(false));
        results.Add(await QueueAsync("failed batches", t.FailedBatchesQueueUrl, "FailedBatchesQueueUrl",
            n => $"{n} batch(es) the function gave up on after its retries: their records were not digested. Find the cause in the function's log (errors around the time of the batch), then see docs/lambda.md for replaying them.",
            cancellationToken).ConfigureAwait(false));
        results.Add(await QueueAsync("bus dead letters", t.BusDeadLettersQueueUrl, "BusDeadLettersQueueUrl",
            n => $"{n} event(s) the bus could not put on the stream (throttling, a key or permission problem): check the stream and the rule's role.",
            cancellationToken).ConfigureAwait(false));
        results.Add(FunctionErrors(t));
        return results;
    }

    private static CheckResult NotGiven(string name, string option, string output) =>
        new(name, CheckStatus.Skip, "not checked: no name given", $"give {option}, or --stack-outputs with the central stack's {output} output");

    private async Task<CheckResult> StreamAsync(string? stream, CancellationToken cancellationToken)
    {
        const string name = "kinesis stream";
        if (stream is null) return NotGiven(name, "--stream", "StreamName");
        try
        {
            var summary = await kinesis.DescribeStreamSummaryAsync(stream, cancellationToken).ConfigureAwait(false);
            return summary.StreamStatus switch
            {
                "ACTIVE" => new(name, CheckStatus.Pass, $"{stream}: ACTIVE, {summary.OpenShardCount} open shard(s), {summary.RetentionPeriodHours} h retention"),
                "UPDATING" => new(name, CheckStatus.Warn, $"{stream}: UPDATING (a reshard or mode change is under way; it still takes records)", "run the doctor again when the update is done"),
                var status => new(name, CheckStatus.Fail, $"{stream}: {status}, not taking records", "wait for CREATING to end, or redeploy the central stack if it is DELETING"),
            };
        }
        catch (KinesisException e) when (e.ErrorType == "ResourceNotFoundException")
        {
            return new(name, CheckStatus.Fail, $"{stream}: no such stream in this account and region", "check the name (the stack's StreamName output), --region and your credentials' account");
        }
        catch (KinesisException e)
        {
            return Unreachable(name, "Kinesis", e.Message);
        }
    }

    private async Task<CheckResult> TableAsync(string name, string? table, string key, string output, bool optional, CancellationToken cancellationToken)
    {
        if (table is null)
        {
            return optional
                ? new(name, CheckStatus.Skip, "not checked: no table given (optional: without it digests show account ids only)", $"give --{name.Split(' ')[0]}-table, or --stack-outputs with {output}")
                : NotGiven(name, $"--{name.Split(' ')[0]}-table", output);
        }
        try
        {
            var description = (await dynamoDb.DescribeTableAsync(table, cancellationToken).ConfigureAwait(false)).Table;
            var keys = description.KeySchema ?? [];
            var hash = keys.FirstOrDefault(k => k.KeyType == KeyType.HASH)?.AttributeName;
            var type = description.AttributeDefinitions?.FirstOrDefault(a => a.AttributeName == hash)?.AttributeType;
            if (hash != key || keys.Count != 1 || type != ScalarAttributeType.S)
            {
                var found = string.Join(", ", keys.Select(k => $"{k.AttributeName} ({k.KeyType})"));
                return new(name, CheckStatus.Fail, $"{table}: key is {found}, the function expects {key} (string, partition key only)",
                    "this is not the table the function uses: check the name, or redeploy the central stack");
            }
            if (description.TableStatus != TableStatus.ACTIVE)
                return new(name, CheckStatus.Warn, $"{table}: {description.TableStatus}, key {key}", "wait until the table is ACTIVE");
            return new(name, CheckStatus.Pass, $"{table}: ACTIVE, key {key}");
        }
        catch (Amazon.DynamoDBv2.Model.ResourceNotFoundException)
        {
            return new(name, CheckStatus.Fail, $"{table}: no such table in this account and region", $"check the name (the stack's {output} output), --region and your credentials' account");
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            return Unreachable(name, "DynamoDB", e.Message);
        }
    }

    /// <summary>
    /// The TTL the function relies on to forget old items. A warning, not a failure: without it nothing breaks at once,
    /// the table only grows. (dynalite, the local emulator, always reports TTL as disabled.)
    /// </summary>
    private async Task<CheckResult> TtlAsync(string name, string? table, string attribute, string consequence, CancellationToken cancellationToken)
    {
        if (table is null) return new(name, CheckStatus.Skip, "not checked: no table given");
        try
        {
            var ttl = (await dynamoDb.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = table }, cancellationToken).ConfigureAwait(false)).TimeToLiveDescription;
            var status = ttl?.TimeToLiveStatus?.Value ?? "DISABLED";
            if ((status == "ENABLED" || status == "ENABLING") && ttl?.AttributeName == attribute)
                return new(name, CheckStatus.Pass, $"{table}: TTL on {attribute} ({status})");
            var what = status is "ENABLED" or "ENABLING" ? $"TTL is on '{ttl?.AttributeName}', the function writes {attribute}" : "TTL is off";
            return new(name, CheckStatus.Warn, $"{table}: {what}: {consequence}",
                $"aws dynamodb update-time-to-live --table-name {table} --time-to-live-specification Enabled=true,AttributeName={attribute}");
        }
        catch (Amazon.DynamoDBv2.Model.ResourceNotFoundException)
        {
            return new(name, CheckStatus.Skip, $"{table}: no such table (see above)");
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            return Unreachable(name, "DynamoDB", e.Message);
        }
    }

    private async Task<IReadOnlyList<CheckResult>> SlackAsync(DeploymentTargets t, CancellationToken cancellationToken)
    {
        const string secretName = "slack secret", reachName = "slack reachable";
        var reference = t.SlackWebhook ?? t.SlackToken;
        if (reference is null)
        {
            return
            [
                new(secretName, CheckStatus.Skip, "not checked: no secret reference given",
                    "give --slack-webhook ssm:PARAMETER (or --slack-token ssm:PARAMETER): the parameter your stack's Slack setting names"),
                new(reachName, CheckStatus.Skip, "not checked: needs the secret"),
            ];
        }
        bool webhook = t.SlackWebhook is not null;
        SlackSecret secret;
        try
        {
            secret = await secrets.ResolveAsync(reference, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SlackConfigurationException or AmazonClientException)
        {
            return
            [
                new(secretName, CheckStatus.Fail, e.Message, reference.Kind == SecretSourceKind.Ssm
                    ? "check the parameter name and --region; your credentials need ssm:GetParameter and kms:Decrypt on its key"
                    : "set the variable or fix the file, then run the doctor again"),
                new(reachName, CheckStatus.Skip, "not checked: needs the secret"),
            ];
        }

        if (webhook && !(Uri.TryCreate(secret.Reveal(), UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && url.IsLoopback))))
        {
            return
            [
                new(secretName, CheckStatus.Fail, $"{reference}: readable, but not an https URL (a webhook URL is https://hooks.slack.com/services/…)", "put the webhook URL itself into the parameter"),
                new(reachName, CheckStatus.Skip, "not checked: needs a webhook URL"),
            ];
        }
        var secretLine = new CheckResult(secretName, CheckStatus.Pass, $"{reference}: readable ({(webhook ? "a webhook URL" : "a bot token")}; the value is not shown)");
        try
        {
            var reach = webhook
                ? await ProbeWebhookAsync(secret, cancellationToken).ConfigureAwait(false)
                : await ProbeTokenAsync(secret, t.SlackApiUrl, cancellationToken).ConfigureAwait(false);
            return [secretLine, reach];
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Never the URL: it is the secret. The SDK's message names the host at most; redact it anyway.
            return [secretLine, new(reachName, CheckStatus.Fail, "cannot reach Slack: " + secret.Redact(e.Message),
                "check this machine's (and the function's) way out to Slack: proxy, firewall, DNS")];
        }
    }

    /// <summary>
    /// Posts an empty message, which Slack refuses without posting anything: the refusal's words tell a live webhook
    /// ("no_text", "invalid_payload": it read the message) from a dead one ("no_service", "invalid_token": revoked or
    /// mistyped; "channel_is_archived", "channel_not_found", "action_prohibited").
    /// </summary>
    private async Task<CheckResult> ProbeWebhookAsync(SlackSecret secret, CancellationToken cancellationToken)
    {
        const string name = "slack reachable";
        using var content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(secret.Reveal()), content, cancellationToken).ConfigureAwait(false);
        var body = secret.Redact((await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim());
        if (body.Length > 80) body = body[..80] + "…";
        int status = (int)response.StatusCode;
        return (status, body) switch
        {
            (400, "no_text" or "invalid_payload" or "missing_text_or_fallback_or_attachments") =>
                new(name, CheckStatus.Pass, $"webhook is live (Slack refused an empty message with {status} {body}; nothing was posted)"),
            (404, "no_service") or (403, "invalid_token") or (403, "no_team") or (410, "team_disabled") =>
                new(name, CheckStatus.Fail, $"webhook is dead: {status} {body} (revoked, or the URL is wrong)", "create a new incoming webhook in the Slack app and put its URL into the parameter"),
            (410, "channel_is_archived") or (404, "channel_not_found") =>
                new(name, CheckStatus.Fail, $"webhook's channel is gone: {status} {body}", "unarchive the channel, or create a webhook for another channel and put its URL into the parameter"),
            (403, "action_prohibited") =>
                new(name, CheckStatus.Fail, $"Slack refuses posts from this webhook: {status} {body}", "ask a Slack admin: the workspace restricts this app or channel"),
            (200, _) =>
                new(name, CheckStatus.Warn, $"answered 200 {body} to an empty message: not what Slack does", "check that the URL is a Slack incoming webhook"),
            _ => new(name, CheckStatus.Fail, $"unexpected answer: {status} {body}", "if it persists, create a new webhook; a 5xx is Slack's side: try again later"),
        };
    }

    /// <summary><c>auth.test</c>: checks the token and posts nothing.</summary>
    private async Task<CheckResult> ProbeTokenAsync(SlackSecret secret, Uri api, CancellationToken cancellationToken)
    {
        const string name = "slack reachable";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, "auth.test"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret.Reveal());
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
            return new(name, CheckStatus.Fail, $"auth.test answered {(int)response.StatusCode}", "check --slack-api-url; a 5xx is Slack's side: try again later");
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True)
            {
                string Text(string p) => root.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "?";
                return new(name, CheckStatus.Pass, $"bot token is valid: workspace {Text("team")}, bot user {Text("user")} (auth.test; nothing was posted)");
            }
            var error = root.TryGetProperty("error", out var err) ? err.GetString() : "unknown";
            return new(name, CheckStatus.Fail, $"bot token refused: {error}", "reinstall the Slack app (or copy its current Bot User OAuth Token) and put the token into the parameter");
        }
        catch (JsonException)
        {
            return new(name, CheckStatus.Fail, "auth.test did not answer JSON", "check --slack-api-url: it must be Slack's Web API base, https://slack.com/api/");
        }
    }

    private async Task<CheckResult> QueueAsync(string name, string? queueUrl, string output, Func<int, string> whatToDo, CancellationToken cancellationToken)
    {
        if (queueUrl is null) return NotGiven(name, "--" + name.Replace(' ', '-') + "-url", output);
        try
        {
            var attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest
            {
                QueueUrl = queueUrl,
                AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            }, cancellationToken).ConfigureAwait(false);
            int waiting = attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible;
            string queue = queueUrl[(queueUrl.LastIndexOf('/') + 1)..];
            return waiting == 0
                ? new(name, CheckStatus.Pass, $"{queue}: empty")
                : new(name, CheckStatus.Fail, $"{queue}: {waiting} message(s) waiting", whatToDo(waiting));
        }
        catch (QueueDoesNotExistException)
        {
            return new(name, CheckStatus.Fail, $"{queueUrl}: no such queue", $"check the URL (the stack's {output} output) and --region");
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            return Unreachable(name, "SQS", e.Message);
        }
    }

    /// <summary>
    /// Honest about its limits: this build has no CloudWatch client (AWSSDK.CloudWatch is not available here), so the
    /// function's own error count is not read; the queues above are where its failures end up.
    /// </summary>
    private static CheckResult FunctionErrors(DeploymentTargets t) =>
        new("function errors", CheckStatus.Skip,
            "not read: the doctor has no CloudWatch client; the queue lines above show where the function's failures end up",
            t.LogGroupName is { } group
                ? $"aws logs tail {group} --since 1h --filter-pattern '\"level\":\"ERROR\"'; the stack's alarms and dashboard watch Errors and the EMF metrics (docs/lambda.md, Metrics)"
                : "give --stack-outputs for the log group's name; the stack's alarms watch the function's Errors");

    private static CheckResult Unreachable(string name, string service, string message)
    {
        int nl = message.IndexOfAny(['\r', '\n']);
        return new(name, CheckStatus.Fail, $"cannot reach {service}: {(nl < 0 ? message : message[..nl])}",
            "check your AWS credentials and --region (or the endpoint option, for a local emulator)");
    }
}
