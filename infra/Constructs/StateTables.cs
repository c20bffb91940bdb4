using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.KMS;
using Constructs;
using DynamoAttribute = Amazon.CDK.AWS.DynamoDB.Attribute;

namespace Pipeline.Infra.Constructs;

internal sealed record StateTablesProps
{
    public required string AccountsTableName { get; init; }
    public required string LedgerTableName { get; init; }
    public required IKey Key { get; init; }
    /// <summary>Use the accounts and ledger tables a removal kept (by name, encrypted with <see cref="Key"/>) instead of creating them.</summary>
    public bool ReuseNamedTables { get; init; }
}

/// <summary>
/// The pipeline's DynamoDB tables, on demand, encrypted with the pipeline's key, with point-in-time recovery.
/// Key names are the contract with the code that reads them (<see cref="AccountsKey"/>, <see cref="LedgerKey"/>,
/// <see cref="LedgerTtlAttribute"/>, <see cref="CarryKey"/>, <see cref="CarryTtlAttribute"/>). No checkpoint table:
/// the Lambda event source mapping keeps the Kinesis position. The accounts table and the ledger are retained when the
/// stack is deleted (account names, channels and the digests already posted outlive a redeploy, which takes them
/// up again with <see cref="StateTablesProps.ReuseNamedTables"/>). The carry table is deleted with the stack: its name
/// is generated, so no later deployment could find it, and the open bursts it held have no function left to post them.
/// </summary>
internal sealed class StateTables : Construct
{
    /// <summary>Accounts table partition key (string, the 12-digit id); items also carry <c>name</c>.</summary>
    public const string AccountsKey = "accountId";
    /// <summary>Ledger partition key (string): the digest's idempotency key.</summary>
    public const string LedgerKey = "digestId";
    /// <summary>Ledger TTL attribute: epoch seconds after which DynamoDB may delete the item.</summary>
    public const string LedgerTtlAttribute = "expiresAt";
    /// <summary>Carry table partition key (string, the 12-digit account id): one item per account with open bursts.</summary>
    public const string CarryKey = "account";
    /// <summary>Carry table TTL attribute: epoch seconds after which DynamoDB may delete a carry nobody took.</summary>
    public const string CarryTtlAttribute = "expiresAt";

    public StateTables(Construct scope, string id, StateTablesProps props) : base(scope, id)
    {
        if (props.ReuseNamedTables)
        {
            Accounts = Table.FromTableAttributes(this, "Accounts", new TableAttributes { TableName = props.AccountsTableName, EncryptionKey = props.Key });
            Ledger = Table.FromTableAttributes(this, "Ledger", new TableAttributes { TableName = props.LedgerTableName, EncryptionKey = props.Key });
        }
        else
        {
            Accounts = NewTable("Accounts", props.AccountsTableName, AccountsKey, props.Key, ttlAttribute: null, RemovalPolicy.RETAIN);
            Ledger = NewTable("Ledger", props.LedgerTableName, LedgerKey, props.Key, LedgerTtlAttribute, RemovalPolicy.RETAIN);
        }
        // Open bursts between one tumbling window and the next (or the sweeper). No name setting: nothing outside
        // the function reads it, so CloudFormation names it (the CarryTableName output).
        Carry = NewTable("Carry", name: null, CarryKey, props.Key, CarryTtlAttribute, RemovalPolicy.DESTROY);
    }

    public ITable Accounts { get; }
    public ITable Ledger { get; }
    public ITable Carry { get; }

    private Table NewTable(string id, string? name, string key, IKey encryptionKey, string? ttlAttribute, RemovalPolicy removal) =>
        new(this, id, new TableProps
        {
            TableName = name,
            PartitionKey = new DynamoAttribute { Name = key, Type = AttributeType.STRING },
            BillingMode = BillingMode.PAY_PER_REQUEST,
            Encryption = TableEncryption.CUSTOMER_MANAGED,
            EncryptionKey = encryptionKey,
            PointInTimeRecovery = true,
            TimeToLiveAttribute = ttlAttribute,
            RemovalPolicy = removal,
        });
}
