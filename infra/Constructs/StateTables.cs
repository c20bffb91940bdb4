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
}

/// <summary>
/// The pipeline's DynamoDB tables, on demand, encrypted with the pipeline's key, with point-in-time recovery.
/// Key names are the contract with the code that reads them (<see cref="AccountsKey"/>, <see cref="LedgerKey"/>,
/// <see cref="LedgerTtlAttribute"/>, <see cref="CarryKey"/>, <see cref="CarryTtlAttribute"/>). No checkpoint table:
/// the Lambda event source mapping keeps the Kinesis position. Tables are retained when the stack is deleted
/// (account names and the ledger outlive a redeploy; the carry table follows the ledger).
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
        Accounts = NewTable("Accounts", props.AccountsTableName, AccountsKey, props.Key, ttlAttribute: null);
        Ledger = NewTable("Ledger", props.LedgerTableName, LedgerKey, props.Key, LedgerTtlAttribute);
        // Open bursts between one tumbling window and the next (or the sweeper). No name setting: nothing outside
        // the function reads it, so CloudFormation names it (the CarryTableName output).
        Carry = NewTable("Carry", name: null, CarryKey, props.Key, CarryTtlAttribute);
    }

    public Table Accounts { get; }
    public Table Ledger { get; }
    public Table Carry { get; }

    private Table NewTable(string id, string? name, string key, IKey encryptionKey, string? ttlAttribute) =>
        new(this, id, new TableProps
        {
            TableName = name,
            PartitionKey = new DynamoAttribute { Name = key, Type = AttributeType.STRING },
            BillingMode = BillingMode.PAY_PER_REQUEST,
            Encryption = TableEncryption.CUSTOMER_MANAGED,
            EncryptionKey = encryptionKey,
            PointInTimeRecovery = true,
            TimeToLiveAttribute = ttlAttribute,
            RemovalPolicy = RemovalPolicy.RETAIN,
        });
}
