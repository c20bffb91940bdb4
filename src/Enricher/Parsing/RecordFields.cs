using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// The properties of one JSON object that the parser reads (envelope, CloudTrail record, finding), located in a single
/// forward pass of a <see cref="JsonCursor"/> (<see cref="RecordScanner"/>); the rest of the object is skipped.
/// Names are compared as raw UTF-8 (an escaped name unescaped first); when a name occurs twice the last occurrence wins,
/// as it does for <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/>. A missing property is <c>default</c>.
/// </summary>
internal struct RecordFields
{
    // EventBridge envelope
    public JsonValueRef Id, DetailType, Source, Account, Time, Region, Detail;
    // CloudTrail record
    public JsonValueRef EventName, EventSource, EventVersion, EventId, EventType, EventTime, AwsRegion, RecipientAccountId,
        SourceIpAddress, UserAgent, ErrorCode, ErrorMessage, ReadOnly, SharedEventId, AdditionalEventData, ResponseElements;
    /// <summary>The whole <c>userIdentity</c> value (its extent; its fields are read by <see cref="RecordScanner.ReadIdentity"/>).</summary>
    public JsonValueRef UserIdentity;
    /// <summary>The whole <c>requestParameters</c> value (an object's or array's extent), read by <see cref="RequestReader"/> once the event's name is known.</summary>
    public JsonValueRef RequestParameters;
    /// <summary>Where its target keys are (<see cref="RequestReader.Locate"/>).</summary>
    public RequestTop RequestTop;
    /// <summary><c>additionalEventData.MFAUsed</c> and <c>responseElements.ConsoleLogin</c> of a console sign-in.</summary>
    public JsonValueRef MfaUsed, ConsoleLogin;
    // Timestamps written by log pipelines (Logstash, Panther) in place of eventTime
    public JsonValueRef AtTimestamp, PEventTime;
    // Marker fields of bare findings: Security Hub (AwsAccountId, SchemaVersion, ProductArn), GuardDuty (accountId, schemaVersion, severity)
    public JsonValueRef AwsAccountId, SchemaVersionUpper, ProductArn, AccountId, SchemaVersion, Severity;
    // What a bare finding's envelope is made of (GuardDuty: id, updatedAt, createdAt; Security Hub: Id, UpdatedAt, CreatedAt, Region)
    public JsonValueRef IdUpper, UpdatedAt, CreatedAt, UpdatedAtUpper, CreatedAtUpper, RegionUpper;
    // A GuardDuty finding's title and type
    public JsonValueRef Title, Type;
    /// <summary>The first of a Security Hub event's <c>findings</c>; <see cref="Findings"/> is the array itself.</summary>
    public JsonValueRef Findings;
    public FirstFinding FirstFinding;
}

/// <summary>The <c>userIdentity</c> properties a digest names the caller by.</summary>
internal struct IdentityFields
{
    public JsonValueRef Type, Arn, PrincipalId, AccountId, UserName, InvokedBy, AccessKeyId;
    /// <summary><c>sessionContext.sessionIssuer.arn</c>/<c>.userName</c>, <c>sessionContext.attributes.mfaAuthenticated</c>, <c>onBehalfOf.userId</c>.</summary>
    public JsonValueRef IssuerArn, IssuerUserName, MfaAuthenticated, OnBehalfOfUserId;
}

/// <summary>Title, severity and generator of the first finding of a Security Hub event.</summary>
internal struct FirstFinding
{
    public bool Present;
    public JsonValueRef Title, GeneratorId, SeverityNormalized, SeverityLabel;
}

/// <summary>What the record's pass found at the top of a <c>requestParameters</c> object (<see cref="RequestReader.Locate"/>).</summary>
internal struct RequestTop
{
    /// <summary>For each of <see cref="RequestReader"/>'s target keys, in its order: where the key's last value starts in the record, plus one (0: absent).</summary>
    public TargetKeyPositions Keys;
    /// <summary>The last <c>instancesSet</c> value (an object's extent), where RunInstances names its instances.</summary>
    public JsonValueRef InstancesSet;
}

/// <summary>Room for one position per target key.</summary>
[InlineArray(Length)]
internal struct TargetKeyPositions
{
    public const int Length = 32;
    private int _first;
}
