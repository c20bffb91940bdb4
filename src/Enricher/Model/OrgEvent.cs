namespace Pipeline.Enricher.Model;

/// <summary>
/// One organisation event as the digests need it: the EventBridge envelope fields, plus the
/// CloudTrail record when the event carries one. Everything else in the JSON is left unread.
/// </summary>
public sealed record OrgEvent
{
    /// <summary>Envelope <c>id</c> (for a CloudTrail record replayed from a file: its <c>eventID</c>).</summary>
    public required string Id { get; init; }
    /// <summary>12-digit account id the event happened in.</summary>
    public required string Account { get; init; }
    public required string Region { get; init; }
    public required DateTimeOffset Time { get; init; }
    /// <summary>Envelope <c>source</c>, e.g. <c>aws.ec2</c>, <c>aws.guardduty</c>.</summary>
    public required string Source { get; init; }
    /// <summary>Envelope <c>detail-type</c>, e.g. <c>AWS API Call via CloudTrail</c>.</summary>
    public required string DetailType { get; init; }
    /// <summary>The CloudTrail record for CloudTrail detail-types; null for every other event.</summary>
    public CloudTrailDetail? CloudTrail { get; init; }
    /// <summary>For findings (GuardDuty, Security Hub): title and severity; null otherwise.</summary>
    public FindingDetail? Finding { get; init; }

    /// <summary>The action name a digest counts: the CloudTrail <c>eventName</c>, else the detail-type.</summary>
    public string ActionName => CloudTrail?.EventName ?? DetailType;

    /// <summary>Who acted, in a short readable form; null for events with no actor (findings, state changes).</summary>
    public string? Principal => CloudTrail?.Identity.DisplayName;

    /// <summary>Key that identifies a delivery of the same event twice (EventBridge and Kinesis are at-least-once).</summary>
    public string DedupeId => CloudTrail?.EventId ?? Id;
}

public sealed record CloudTrailDetail
{
    public required string EventName { get; init; }
    public required string EventSource { get; init; }
    public string? EventId { get; init; }
    public string? EventType { get; init; }
    public required UserIdentity Identity { get; init; }
    public string? SourceIpAddress { get; init; }
    public string? UserAgent { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    public bool? ReadOnly { get; init; }
    public string? SharedEventId { get; init; }
    /// <summary>The main resource the call names (bucket, role, group, key …), taken from <c>requestParameters</c>.</summary>
    public string? Target { get; init; }
    /// <summary>Facts that only the risk catalog needs, extracted once while the JSON is at hand.</summary>
    public RiskFacts Facts { get; init; } = RiskFacts.None;

    public bool Failed => ErrorCode is not null;
}

/// <summary>
/// Fields of <c>requestParameters</c>, <c>responseElements</c> and <c>additionalEventData</c> that decide
/// whether a call is risky. Kept as plain data so the risk catalog stays a pure function.
/// </summary>
public sealed record RiskFacts
{
    public static readonly RiskFacts None = new();

    /// <summary>IPv4/IPv6 ranges an ingress rule opens (security group or network ACL).</summary>
    public IReadOnlyList<string> IngressRanges { get; init; } = [];
    /// <summary><c>additionalEventData.MFAUsed</c> of a console sign-in ("Yes"/"No").</summary>
    public string? MfaUsed { get; init; }
    /// <summary><c>responseElements.ConsoleLogin</c> of a console sign-in ("Success"/"Failure").</summary>
    public string? ConsoleLoginResult { get; init; }
    /// <summary>True when a policy document in the request grants to <c>"*"</c> (public bucket/key/queue policy).</summary>
    public bool GrantsToEveryone { get; init; }
}

public sealed record UserIdentity
{
    public static readonly UserIdentity Unknown = new() { Type = null };

    public required string? Type { get; init; }
    public string? Arn { get; init; }
    public string? PrincipalId { get; init; }
    public string? AccountId { get; init; }
    public string? UserName { get; init; }
    public string? InvokedBy { get; init; }
    public string? SessionIssuerArn { get; init; }
    public string? SessionIssuerUserName { get; init; }
    /// <summary><c>sessionContext.attributes.mfaAuthenticated</c>; null when the record does not say.</summary>
    public bool? MfaAuthenticated { get; init; }
    public string? AccessKeyId { get; init; }

    public bool IsRoot => string.Equals(Type, "Root", StringComparison.Ordinal);

    /// <summary>
    /// A short name people recognise: <c>root</c>, <c>user/alice</c>, <c>role/Admin/alice@corp</c>,
    /// <c>service/ec2.amazonaws.com</c>. Falls back to the ARN, the principal id, then the type.
    /// </summary>
    public string DisplayName => Type switch
    {
        "Root" => "root",
        "IAMUser" when UserName is not null => "user/" + UserName,
        "AssumedRole" when SessionIssuerUserName is not null => "role/" + SessionIssuerUserName + SessionSuffix(),
        "AssumedRole" when Arn is not null => AssumedRoleFromArn(Arn),
        "AWSService" => "service/" + (InvokedBy ?? "unknown"),
        "FederatedUser" when SessionIssuerUserName is not null => "federated/" + SessionIssuerUserName + SessionSuffix(),
        "IdentityCenterUser" when UserName is not null => "sso/" + UserName,
        "AWSAccount" => "account/" + (AccountId ?? PrincipalId ?? "unknown"),
        _ => Arn ?? UserName ?? PrincipalId ?? Type ?? "unknown",
    };

    private string SessionSuffix()
    {
        // arn:aws:sts::123:assumed-role/RoleName/session-name -> "/session-name"
        if (Arn is null) return "";
        int slash = Arn.LastIndexOf('/');
        int first = Arn.IndexOf('/', StringComparison.Ordinal);
        return slash > first && first >= 0 ? Arn[slash..] : "";
    }

    private static string AssumedRoleFromArn(string arn)
    {
        int first = arn.IndexOf('/', StringComparison.Ordinal);
        return first >= 0 ? "role/" + arn[(first + 1)..] : arn;
    }
}

public sealed record FindingDetail(string Title, double? Severity, string? Type);
