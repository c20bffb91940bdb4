using System.Reflection;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>
/// The checkpoint table's creation and its wait for ACTIVE, in virtual time: dynalite turns a table ACTIVE on the
/// real clock, so a scripted client answers instead, one table status per DescribeTable.
/// </summary>
public sealed class DynamoDbCheckpointStoreTests
{
    private readonly InstantTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task A_new_table_is_asked_for_its_status_every_quarter_second_until_it_is_active()
    {
        var dynamo = ScriptedDynamoDb.Create(TableStatus.CREATING, TableStatus.CREATING, TableStatus.ACTIVE);

        await new DynamoDbCheckpointStore(dynamo, "checkpoints", _time).CreateIfMissingAsync(default);

        Assert.Equal(3, ScriptedDynamoDb.Of(dynamo).Describes);
        Assert.Equal([TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250)], _time.Delays);
    }

    [Fact]
    public async Task A_table_never_active_is_polled_120_times_and_the_run_goes_on()
    {
        var dynamo = ScriptedDynamoDb.Create(TableStatus.CREATING);

        await new DynamoDbCheckpointStore(dynamo, "checkpoints", _time).CreateIfMissingAsync(default);

        Assert.Equal(DynamoDbCheckpointStore.StatusPolls, ScriptedDynamoDb.Of(dynamo).Describes);
        Assert.Equal(120, DynamoDbCheckpointStore.StatusPolls);
        Assert.Equal(119, _time.Delays.Count); // none after the last poll
        Assert.All(_time.Delays, d => Assert.Equal(TimeSpan.FromMilliseconds(250), d));
    }

    [Fact]
    public async Task An_existing_table_is_not_waited_for()
    {
        var dynamo = ScriptedDynamoDb.Create(TableStatus.CREATING);
        ScriptedDynamoDb.Of(dynamo).TableExists = true;

        await new DynamoDbCheckpointStore(dynamo, "checkpoints", _time).CreateIfMissingAsync(default);

        Assert.Equal(0, ScriptedDynamoDb.Of(dynamo).Describes);
        Assert.Empty(_time.Delays);
    }

    [Fact]
    public async Task A_failing_DescribeTable_is_not_polled_again()
    {
        var dynamo = ScriptedDynamoDb.Create(TableStatus.CREATING);
        ScriptedDynamoDb.Of(dynamo).DescribeFails = true;

        await Assert.ThrowsAsync<AmazonDynamoDBException>(() => new DynamoDbCheckpointStore(dynamo, "checkpoints", _time).CreateIfMissingAsync(default));

        Assert.Equal(1, ScriptedDynamoDb.Of(dynamo).Describes);
        Assert.Empty(_time.Delays);
    }

    [Fact]
    public async Task A_saved_checkpoint_is_stamped_with_the_injected_clock()
    {
        var dynamo = ScriptedDynamoDb.Create(TableStatus.ACTIVE);

        await new DynamoDbCheckpointStore(dynamo, "checkpoints", _time).SaveAsync("stream", ShardCheckpoint.Start("shardId-000000000000"), default);

        var put = Assert.Single(ScriptedDynamoDb.Of(dynamo).Puts);
        Assert.Equal("2026-11-25T12:00:00.0000000+00:00", put.Item["updatedAt"].S);
    }

    /// <summary>IAmazonDynamoDB answering only what the store calls; anything else fails the test loudly.</summary>
    internal class ScriptedDynamoDb : DispatchProxy
    {
        private readonly Queue<TableStatus> _statuses = new();
        private TableStatus _last = TableStatus.CREATING;

        public int Describes { get; private set; }
        public bool TableExists { get; set; }
        public bool DescribeFails { get; set; }
        public List<PutItemRequest> Puts { get; } = [];

        /// <summary>DescribeTable answers these statuses in turn, then the last one for ever.</summary>
        public static IAmazonDynamoDB Create(params TableStatus[] statuses)
        {
            var client = DispatchProxy.Create<IAmazonDynamoDB, ScriptedDynamoDb>();
            foreach (var s in statuses) Of(client)._statuses.Enqueue(s);
            return client;
        }

        public static ScriptedDynamoDb Of(IAmazonDynamoDB client) => (ScriptedDynamoDb)(object)client;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            switch (targetMethod!.Name)
            {
                case nameof(IAmazonDynamoDB.CreateTableAsync):
                    return TableExists
                        ? Task.FromException<CreateTableResponse>(new ResourceInUseException("Table already exists: checkpoints"))
                        : Task.FromResult(new CreateTableResponse());
                case nameof(IAmazonDynamoDB.DescribeTableAsync):
                    Describes++;
                    if (DescribeFails) return Task.FromException<DescribeTableResponse>(new AmazonDynamoDBException("internal server error"));
                    if (_statuses.Count > 0) _last = _statuses.Dequeue();
                    return Task.FromResult(new DescribeTableResponse { Table = new TableDescription { TableStatus = _last } });
                case nameof(IAmazonDynamoDB.PutItemAsync):
                    Puts.Add((PutItemRequest)args![0]!);
                    return Task.FromResult(new PutItemResponse());
                default:
                    throw new NotSupportedException($"the checkpoint store is not expected to call {targetMethod.Name}");
            }
        }
    }
}
