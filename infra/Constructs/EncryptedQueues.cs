using Amazon.CDK;
using Amazon.CDK.AWS.KMS;
using Amazon.CDK.AWS.SQS;
using Constructs;

namespace Pipeline.Infra.Constructs;

/// <summary>Every queue of the pipeline: encrypted with the pipeline's key, TLS-only, kept the SQS maximum of 14 days.</summary>
internal static class EncryptedQueues
{
    public static Queue Create(Construct scope, string id, IKey key, IDeadLetterQueue? deadLetterQueue = null) =>
        new(scope, id, new QueueProps
        {
            Encryption = QueueEncryption.KMS,
            EncryptionMasterKey = key,
            // KMS calls are billed per data key: reuse each one for the SQS maximum of 24 hours.
            DataKeyReuse = Duration.Hours(24),
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
            DeadLetterQueue = deadLetterQueue,
        });

    /// <summary>A queue that is itself the last stop (a DLQ or an on-failure destination): cdk-nag's SQS3 does not apply.</summary>
    public static Queue CreateDeadLetter(Construct scope, string id, IKey key, string whatLandsHere)
    {
        var queue = Create(scope, id, key);
        Nag.Suppress(queue, new NagSuppression("AwsSolutions-SQS3",
            $"This queue is itself a dead-letter destination ({whatLandsHere}); a DLQ behind it would only move the same messages again. Its depth raises an alarm instead."));
        return queue;
    }
}
