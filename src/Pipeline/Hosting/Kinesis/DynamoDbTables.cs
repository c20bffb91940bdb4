using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Pipeline.Lambda.Carry;
using Polly;
using Polly.Retry;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>The tables `pipeline run` keeps in DynamoDB, created when missing as the CDK stack would create them.</summary>
internal static class DynamoDbTables
{
    // Up to 30 s of CREATING: dynalite takes a moment, DynamoDB a few seconds.
    internal const int StatusPolls = 120;
    internal static readonly TimeSpan StatusPollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>`--carry-table`: partition key <c>account</c>, on demand.</summary>
    public static Task CreateCarryTableIfMissingAsync(IAmazonDynamoDB client, string table, TimeProvider time, CancellationToken cancellationToken) =>
        CreateIfMissingAsync(client, new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new(DynamoDbCarryStore.KeyAttribute, ScalarAttributeType.S)],
            KeySchema = [new(DynamoDbCarryStore.KeyAttribute, KeyType.HASH)],
        }, time, cancellationToken);

    /// <summary>Creates the table unless it exists, then waits until it is ACTIVE.</summary>
    public static async Task CreateIfMissingAsync(IAmazonDynamoDB client, CreateTableRequest request, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await client.CreateTableAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (ResourceInUseException)
        {
            return;
        }
        // A new table is CREATING for a while and cannot be read or written yet. After the last poll the run goes on
        // anyway: a table still not ready then fails the first use with DynamoDB's own error.
        var untilActive = new ResiliencePipelineBuilder<TableStatus> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<TableStatus>
            {
                MaxRetryAttempts = StatusPolls - 1,
                Delay = StatusPollInterval,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                // Only a status that is not ACTIVE yet: an error from DescribeTable is not a reason to poll again.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { } status && status != TableStatus.ACTIVE),
            })
            .Build();
        await untilActive.ExecuteAsync(
            async ct => (await client.DescribeTableAsync(request.TableName, ct).ConfigureAwait(false)).Table.TableStatus,
            cancellationToken).ConfigureAwait(false);
    }
}
