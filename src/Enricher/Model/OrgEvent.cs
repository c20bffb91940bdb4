using System.Diagnostics.CodeAnalysis;

namespace Pipeline.Enricher.Model;

/// <summary>
/// One organisation event as the digests need it: the EventBridge envelope fields, plus the
/// CloudTrail record when the event carries one. Everything else in the JSON is left unread.
/// </summary>
public sealed record OrgEvent
{
    public OrgEvent()
    {
    }

    /// <summary>The parser's way in: the id as the model keeps it (no text made for it, see <see cref="EventIdValue"/>).</summary>
    [SetsRequiredMembers]
#pragma warning disable CS8618 // Id is set: it reads _id, which the parser gives as the model keeps it
    internal OrgEvent(EventIdValue id, string account, string region, DateTimeOffset time, string source, string detailType)
#pragma warning restore CS8618
    {
        _id = id;
        Account = account;
        Region = region;
        Time = time;
        Source = source;
        DetailType = detailType;
    }

    private readonly EventIdValue _id;

    /// <summary>Envelope <c>id</c> (for a CloudTrail record replayed from a file: its <c>eventID</c>).</summary>
    /// <remarks>Made into text when read: read it where it is shown, not per event.</remarks>
    public required string Id
    {
        get => _id.Text!;
        init => _id = EventIdValue.Of(value ?? throw new ArgumentNullException(nameof(value)));
    }

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

    /// <summary><see cref="DedupeId"/> as the model keeps it, for the dedupe memory to read without making its text.</summary>
    internal EventIdValue DedupeIdValue => CloudTrail is { EventIdValue.IsPresent: true } ct ? ct.EventIdValue : _id;
}

public sealed record CloudTrailDetail
{
    public required string EventName { get; init; }
    public required string EventSource { get; init; }
    public string? EventId
    {
        get => _eventId.Text;
        init => _eventId = EventIdValue.Of(value);
    }

    private readonly EventIdValue _eventId;

    /// <summary><see cref="EventId"/> as the model keeps it (see <see cref="Model.EventIdValue"/>).</summary>
    internal EventIdValue EventIdValue
    {
        get => _eventId;
        init => _eventId = value;
    }

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
    /// <summary><c>onBehalfOf.userId</c>: the Identity Center user an <c>IdentityCenterUser</c> call was made for.</summary>
    public string? OnBehalfOfUserId { get; init; }
    /// <summary><c>sessionContext.attributes.mfaAuthenticated</c>; null when the record does not say.</summary>
    public bool? MfaAuthenticated { get; init; }
    public string? AccessKeyId { get; init; }

    /// <summary>
    /// The names derived from the fields above, worked out once per instance. The parser shares one instance among every
    /// event with the same <c>userIdentity</c> bytes (IdentityCache), and each event's burst asks for them: built on every
    /// call, they were a good part of what the bursts allocated per event.
    /// </summary>
    private DerivedNames Names
    {
        get
        {
            var names = Volatile.Read(ref _names);
            // A `with` copy starts with its original's names (the copy constructor copies the field): they are worked out again.
            if (ReferenceEquals(names.Owner, this)) return names;
            names = new DerivedNames(this);
            // Published complete (a release write): two threads may both build it, none sees half of it.
            Volatile.Write(ref _names, names);
            return names;
        }
    }

    private DerivedNames _names = DerivedNames.NotYet;

    /// <summary>
    /// The memo of <see cref="Names"/>. Equal to any other and hashed alike, so that the record's equality stays that of its
    /// fields whether or not the names were asked for yet.
    /// </summary>
    private sealed class DerivedNames
    {
        public static readonly DerivedNames NotYet = new();

        private DerivedNames()
        {
            DisplayName = "";
        }

        public DerivedNames(UserIdentity owner)
        {
            Owner = owner;
            RoleName = owner.ComputeRoleName();
            IsPerson = owner.ComputeIsPerson(RoleName);
            DisplayName = owner.ComputeDisplayName(RoleName);
            ActorKey = owner.ComputeActorKey(RoleName, IsPerson);
        }

        public UserIdentity? Owner { get; }
        public string? RoleName { get; }
        public bool IsPerson { get; }
        public string DisplayName { get; }
        public string? ActorKey { get; }

        public override bool Equals(object? obj) => obj is DerivedNames;

        public override int GetHashCode() => 0;
    }

    public bool IsRoot => string.Equals(Type, "Root", StringComparison.Ordinal);

    /// <summary>
    /// A person acted (root, an IAM user, an Identity Center user directly or through a permission set, a federated
    /// user), not a pipeline or a service. Digests never roll people up across accounts.
    /// </summary>
    public bool IsPerson => Names.IsPerson;

    private bool ComputeIsPerson(string? role) => Type switch
    {
        "Root" or "IAMUser" or "IdentityCenterUser" or "FederatedUser" => true,
        "AssumedRole" => role is not null && IsPermissionSetRole(role),
        _ => false,
    };

    /// <summary>
    /// Who acted, without the account and without the session: the same for the same automation in every account,
    /// so that one change made in many accounts can be recognised. <c>role/RoleName</c> for an assumed role
    /// (service-linked, StackSets and Control Tower roles too), <c>service/ec2.amazonaws.com</c> for a service,
    /// <c>account/111122223333</c> for another account; null for people (<see cref="IsPerson"/>) and for an
    /// identity that names no role, service or account.
    /// </summary>
    public string? ActorKey => Names.ActorKey;

    private string? ComputeActorKey(string? role, bool isPerson) => isPerson ? null : Type switch
    {
        "AssumedRole" when role is not null => "role/" + role,
        "AWSService" when InvokedBy is not null => "service/" + InvokedBy,
        "AWSAccount" when (AccountId ?? PrincipalId) is { } account => "account/" + account,
        _ => null,
    };

    /// <summary>
    /// A short name people recognise: <c>root</c>, <c>user/alice</c>, <c>alice@example.com via AdministratorAccess</c>
    /// (an Identity Center permission set), <c>role/Admin/alice@corp</c> (role and session), roles that AWS
    /// automation uses by what they are (<c>service-linked: autoscaling.amazonaws.com</c>,
    /// <c>StackSets: stacksets-exec-1a2b3c4d…</c>, <c>Control Tower: AWSControlTowerExecution</c>),
    /// <c>service/ec2.amazonaws.com</c>. Falls back to the ARN, the principal id, then the type.
    /// </summary>
    public string DisplayName => Names.DisplayName;

    private string ComputeDisplayName(string? role) => Type switch
    {
        "Root" => "root",
        "IAMUser" when UserName is not null => "user/" + UserName,
        "AssumedRole" when role is not null => AssumedRoleName(role),
        "AWSService" => "service/" + (InvokedBy ?? "unknown"),
        "FederatedUser" when SessionIssuerUserName is not null => FederatedName(SessionIssuerUserName),
        "IdentityCenterUser" => (UserName ?? OnBehalfOfUserId ?? "unknown") + " via Identity Center",
        "AWSAccount" => "account/" + (AccountId ?? PrincipalId ?? "unknown"),
        _ => Arn ?? UserName ?? PrincipalId ?? Type ?? "unknown",
    };

    private const string SsoRolePrefix = "AWSReservedSSO_";
    private const string ControlTowerRolePrefix = "aws-controltower-";
    private const string StackSetsRolePrefix = "stacksets-exec-";
    // The 32 hex characters of stacksets-exec-<hex> are AWS's, not a name anyone reads: 8 are enough to recognise
    // the role in a digest, and ActorKey keeps the whole name.
    private const int StackSetsSuffixShown = 8;

    /// <summary>The role an assumed-role session was issued by: the session issuer, else the ARN's role segment.</summary>
    public string? RoleName => Names.RoleName;

    private string? ComputeRoleName()
    {
        if (SessionIssuerUserName is { Length: > 0 } issuer) return issuer;
        if (Arn is null) return null;
        // arn:aws:sts::123:assumed-role/RoleName/session-name
        int first = Arn.IndexOf('/', StringComparison.Ordinal);
        if (first < 0 || first == Arn.Length - 1) return null;
        int second = Arn.IndexOf('/', first + 1);
        return second < 0 ? Arn[(first + 1)..] : Arn[(first + 1)..second];
    }

    // The parts of a name are spans of the identity's strings, joined once: cutting each part out as a string of its own
    // doubled what building a name allocated. An empty span is a part not there.

    /// <summary>The last segment of an ARN with more than one, as in <c>assumed-role/Role/session</c>; empty when there is none.</summary>
    private ReadOnlySpan<char> ArnSession
    {
        get
        {
            if (Arn is null) return default;
            int first = Arn.IndexOf('/', StringComparison.Ordinal);
            int last = Arn.LastIndexOf('/');
            return first >= 0 && last > first && last < Arn.Length - 1 ? Arn.AsSpan(last + 1) : default;
        }
    }

    /// <summary>
    /// A role session's name: from the ARN, else what follows the colon of the principal id (<c>AROA…:session</c>),
    /// which records keep when their ARN is cut short; empty when neither has one.
    /// </summary>
    private ReadOnlySpan<char> RoleSession
    {
        get
        {
            var session = ArnSession;
            if (!session.IsEmpty) return session;
            int colon = PrincipalId?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            return colon >= 0 && colon < PrincipalId!.Length - 1 ? PrincipalId.AsSpan(colon + 1) : default;
        }
    }

    private string FederatedName(string issuer)
    {
        var session = ArnSession;
        return session.IsEmpty ? "federated/" + issuer : string.Concat("federated/", issuer, "/", session);
    }

    private string AssumedRoleName(string role)
    {
        if (IsPermissionSetRole(role))
        {
            var session = RoleSession;
            return string.Concat(session.IsEmpty ? "unknown" : session, " via ", PermissionSetOf(role));
        }
        if (IsServiceLinked(role)) return "service-linked: " + (ServiceLinkedService() ?? InvokedBy ?? role);
        if (role.StartsWith(StackSetsRolePrefix, StringComparison.Ordinal))
        {
            int room = StackSetsRolePrefix.Length + StackSetsSuffixShown;
            return "StackSets: " + (role.Length > room ? role[..room] + "…" : role);
        }
        if (role == "AWSCloudFormationStackSetExecutionRole") return "StackSets: " + role;
        if (role.StartsWith(ControlTowerRolePrefix, StringComparison.Ordinal) && role.Length > ControlTowerRolePrefix.Length)
            return "Control Tower: " + role[ControlTowerRolePrefix.Length..];
        if (role.StartsWith("AWSControlTower", StringComparison.Ordinal)) return "Control Tower: " + role;
        var roleSession = RoleSession;
        return roleSession.IsEmpty ? "role/" + role : string.Concat("role/", role, "/", roleSession);
    }

    /// <summary>Whether <paramref name="role"/> is an Identity Center role, one with a permission set (<see cref="PermissionSetOf"/>).</summary>
    private static bool IsPermissionSetRole(string role) =>
        role.StartsWith(SsoRolePrefix, StringComparison.Ordinal) && role.Length > SsoRolePrefix.Length;

    /// <summary>
    /// The permission set of an Identity Center role (<see cref="IsPermissionSetRole"/>),
    /// <c>AWSReservedSSO_&lt;PermissionSet&gt;_&lt;16 hex&gt;</c>. The last <c>_</c> part is AWS's suffix (a permission set
    /// name may itself hold <c>_</c>).
    /// </summary>
    private static ReadOnlySpan<char> PermissionSetOf(string role)
    {
        int suffix = role.LastIndexOf('_');
        return suffix > SsoRolePrefix.Length ? role.AsSpan(SsoRolePrefix.Length, suffix - SsoRolePrefix.Length) : role.AsSpan(SsoRolePrefix.Length);
    }

    private bool IsServiceLinked(string role) =>
        role.StartsWith("AWSServiceRoleFor", StringComparison.Ordinal)
        || (SessionIssuerArn?.Contains(":role/aws-service-role/", StringComparison.Ordinal) ?? false);

    /// <summary>The service of a service-linked role's path: <c>arn:aws:iam::123:role/aws-service-role/&lt;service&gt;/RoleName</c>.</summary>
    private string? ServiceLinkedService()
    {
        const string path = ":role/aws-service-role/";
        int at = SessionIssuerArn?.IndexOf(path, StringComparison.Ordinal) ?? -1;
        if (at < 0) return null;
        int start = at + path.Length;
        int end = SessionIssuerArn!.IndexOf('/', start);
        return end > start ? SessionIssuerArn[start..end] : null;
    }
}

public sealed record FindingDetail(string Title, double? Severity, string? Type);
