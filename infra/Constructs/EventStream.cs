using Amazon.CDK;
using Amazon.CDK.AWS.Kinesis;
using Amazon.CDK.AWS.KMS;
using Constructs;
using Stream = Amazon.CDK.AWS.Kinesis.Stream;
using Pipeline.Infra.Settings;

namespace Pipeline.Infra.Constructs;

internal sealed record EventStreamProps
{
    public required string StreamName { get; init; }
    public required IKey Key { get; init; }
    public required StreamCapacityMode Mode { get; init; }
    /// <summary>Used only when <see cref="Mode"/> is provisioned.</summary>
    public required int ShardCount { get; init; }
}

/// <summary>The central Kinesis stream: KMS-encrypted with the pipeline's key, records kept 24 hours.</summary>
internal sealed class EventStream : Construct
{
    public EventStream(Construct scope, string id, EventStreamProps props) : base(scope, id)
    {
        var provisioned = props.Mode == StreamCapacityMode.Provisioned;
        Stream = new Stream(this, "Stream", new StreamProps
        {
            StreamName = props.StreamName,
            Encryption = StreamEncryption.KMS,
            EncryptionKey = props.Key,
            StreamMode = provisioned ? StreamMode.PROVISIONED : StreamMode.ON_DEMAND,
            ShardCount = provisioned ? props.ShardCount : null,
            RetentionPeriod = Duration.Hours(24),
            // It holds at most 24 hours of events that are also in CloudTrail: nothing worth keeping after a teardown.
            RemovalPolicy = RemovalPolicy.DESTROY,
        });
        Nag.Suppress(Stream, new NagSuppression("AwsSolutions-KDS3",
            "The stream uses the pipeline's customer managed key on purpose: its key policy, rotation and grants stay in the security "
            + "account's hands and are scoped to this pipeline (the bus rule's role, the function); at security-event volumes the KMS cost is small."));
    }

    public Stream Stream { get; }
}
