using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Pipeline.Lambda.Carry;
using Polly;
using Polly.Retry;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>`pipeline run --carry-table`: the table is created as the CDK stack creates it, when it is missing.</summary>
internal static class CarryTableSetup
{
    private const int StatusPolls = 30;
    private static readonly TimeSpan StatusPollInterval = TimeSpan.FromSeconds(1);

    public static async Task CreateIfMissingAsync(IAmazonDynamoDB client, string table, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await client.CreateTableAsync(new CreateTableRequest
            {
                TableName = table,
                BillingMode = BillingMode.PAY_PER_REQUEST,
                AttributeDefinitions = [new(DynamoDbCarryStore.KeyAttribute, ScalarAttributeType.S)],
                KeySchema = [new(DynamoDbCarryStore.KeyAttribute, KeyType.HASH)],
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ResourceInUseException)
        {
            return;
        }
        // As for the checkpoint table: poll until ACTIVE, then go on (a table still not ready fails with DynamoDB's own error).
        var untilActive = new ResiliencePipelineBuilder<TableStatus> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<TableStatus>
            {
                MaxRetryAttempts = StatusPolls - 1,
                Delay = StatusPollInterval,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { } status && status != TableStatus.ACTIVE),
            })
            .Build();
        await untilActive.ExecuteAsync(
            async ct => (await client.DescribeTableAsync(table, ct).ConfigureAwait(false)).Table.TableStatus,
            cancellationToken).ConfigureAwait(false);
    }
}
