namespace Pipeline.Lambda.Configuration;

/// <summary>
/// The function's metrics contract: the CloudWatch namespace, dimension and metric names the function writes as
/// embedded metric format (EMF) log lines, written once. The function emits them and the CDK app's dashboard and
/// alarms read them (infra/ compiles this very file), so the two cannot drift apart. Plain constants only.
/// </summary>
public static class FunctionMetrics
{
    /// <summary>The CloudWatch namespace of every metric below.</summary>
    public const string Namespace = "SecurityPipeline";
    /// <summary>The one dimension: the function's name (Lambda's AWS_LAMBDA_FUNCTION_NAME).</summary>
    public const string FunctionDimension = "FunctionName";

    // The conservation identity, per invocation: Received = Rejected + Duplicates + Muted + Digested (Count).
    public const string Received = "Received";
    public const string Rejected = "Rejected";
    public const string Duplicates = "Duplicates";
    public const string Muted = "Muted";
    public const string Digested = "Digested";

    /// <summary>Slack messages (digests, roll-ups, alerts) Slack took (Count).</summary>
    public const string DigestsPosted = "DigestsPosted";
    /// <summary>Slack messages parked in the outbox because Slack did not take them (Count).</summary>
    public const string DigestsParked = "DigestsParked";
    /// <summary>From a digest's newest event (its event time) to the moment it was posted or parked (Milliseconds).</summary>
    public const string DigestLag = "DigestLag";
    /// <summary>Size of the tumbling window's state the function returned (Bytes).</summary>
    public const string WindowStateBytes = "WindowStateBytes";
    /// <summary>Size of the carries written to the carry table in this invocation (Bytes).</summary>
    public const string CarryBytes = "CarryBytes";
    /// <summary>Digest-ledger calls that failed after retries (Count): digests may be posted twice or held back.</summary>
    public const string LedgerErrors = "LedgerErrors";
    /// <summary>Carry-table calls that failed after retries (Count): open bursts may be cut or held back.</summary>
    public const string CarryStoreErrors = "CarryStoreErrors";
    /// <summary>Account-regions newly reported silent (Count): they used to send events and stopped.</summary>
    public const string SilentAccountRegions = "SilentAccountRegions";
}
