using Pipeline.Enricher.Parsing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Pipeline.Enricher.Tests.Parsing.Reference;

/// <summary>
/// The top-level properties of one JSON object that the parser reads (envelope, CloudTrail record, finding
/// shape markers), found in a single pass over the object.
/// <para>
/// <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/> scans the object's properties and
/// transcodes the name on every call; ~40 such lookups per CloudTrail record were most of the parse time.
/// One pass that compares each raw UTF-8 name against the few names of the same length costs about as
/// much as one lookup. A missing property is <c>default</c> (<see cref="JsonValueKind.Undefined"/>). When a
/// name occurs twice the last occurrence wins, as it does for <c>TryGetProperty</c>.
/// </para>
/// </summary>
internal struct DomRecordFields
{
    // EventBridge envelope
    public JsonElement Id, DetailType, Source, Account, Time, Region, Detail;
    // CloudTrail record
    public JsonElement EventName, EventSource, EventVersion, EventId, EventType, EventTime, AwsRegion, RecipientAccountId,
        UserIdentity, SourceIpAddress, UserAgent, ErrorCode, ErrorMessage, ReadOnly, SharedEventId,
        RequestParameters, AdditionalEventData, ResponseElements;
    // Timestamps written by log pipelines (Logstash, Panther) in place of eventTime
    public JsonElement AtTimestamp, PEventTime;
    // Marker fields of bare findings: Security Hub (AwsAccountId, SchemaVersion, ProductArn), GuardDuty (accountId, schemaVersion, severity)
    public JsonElement AwsAccountId, SchemaVersionUpper, ProductArn, AccountId, SchemaVersion, Severity;

    /// <summary>Reads the properties of <paramref name="obj"/>; anything but an object gives all-missing fields.</summary>
    public static DomRecordFields Scan(JsonElement obj)
    {
        var f = new DomRecordFields();
        if (obj.ValueKind != JsonValueKind.Object) return f;
        foreach (var property in obj.EnumerateObject())
        {
            var name = JsonMarshal.GetRawUtf8PropertyName(property);
            // An escaped name ("event\u004eame") is compared unescaped, as TryGetProperty does.
            if (name.Contains((byte)'\\')) name = Encoding.UTF8.GetBytes(property.Name);
            var value = property.Value;
            switch (name.Length)
            {
                case 2:
                    if (name.SequenceEqual("id"u8)) f.Id = value;
                    break;
                case 4:
                    if (name.SequenceEqual("time"u8)) f.Time = value;
                    break;
                case 6:
                    if (name.SequenceEqual("source"u8)) f.Source = value;
                    else if (name.SequenceEqual("region"u8)) f.Region = value;
                    else if (name.SequenceEqual("detail"u8)) f.Detail = value;
                    break;
                case 7:
                    if (name.SequenceEqual("eventID"u8)) f.EventId = value;
                    else if (name.SequenceEqual("account"u8)) f.Account = value;
                    break;
                case 8:
                    if (name.SequenceEqual("readOnly"u8)) f.ReadOnly = value;
                    else if (name.SequenceEqual("severity"u8)) f.Severity = value;
                    break;
                case 9:
                    if (name.SequenceEqual("eventName"u8)) f.EventName = value;
                    else if (name.SequenceEqual("eventTime"u8)) f.EventTime = value;
                    else if (name.SequenceEqual("eventType"u8)) f.EventType = value;
                    else if (name.SequenceEqual("awsRegion"u8)) f.AwsRegion = value;
                    else if (name.SequenceEqual("userAgent"u8)) f.UserAgent = value;
                    else if (name.SequenceEqual("errorCode"u8)) f.ErrorCode = value;
                    else if (name.SequenceEqual("accountId"u8)) f.AccountId = value;
                    break;
                case 10:
                    if (name.SequenceEqual("@timestamp"u8)) f.AtTimestamp = value;
                    else if (name.SequenceEqual("ProductArn"u8)) f.ProductArn = value;
                    break;
                case 11:
                    if (name.SequenceEqual("eventSource"u8)) f.EventSource = value;
                    else if (name.SequenceEqual("detail-type"u8)) f.DetailType = value;
                    break;
                case 12:
                    if (name.SequenceEqual("userIdentity"u8)) f.UserIdentity = value;
                    else if (name.SequenceEqual("eventVersion"u8)) f.EventVersion = value;
                    else if (name.SequenceEqual("errorMessage"u8)) f.ErrorMessage = value;
                    else if (name.SequenceEqual("p_event_time"u8)) f.PEventTime = value;
                    else if (name.SequenceEqual("AwsAccountId"u8)) f.AwsAccountId = value;
                    break;
                case 13:
                    if (name.SequenceEqual("sharedEventID"u8)) f.SharedEventId = value;
                    else if (name.SequenceEqual("SchemaVersion"u8)) f.SchemaVersionUpper = value;
                    else if (name.SequenceEqual("schemaVersion"u8)) f.SchemaVersion = value;
                    break;
                case 15:
                    if (name.SequenceEqual("sourceIPAddress"u8)) f.SourceIpAddress = value;
                    break;
                case 16:
                    if (name.SequenceEqual("responseElements"u8)) f.ResponseElements = value;
                    break;
                case 17:
                    if (name.SequenceEqual("requestParameters"u8)) f.RequestParameters = value;
                    break;
                case 18:
                    if (name.SequenceEqual("recipientAccountId"u8)) f.RecipientAccountId = value;
                    break;
                case 19:
                    if (name.SequenceEqual("additionalEventData"u8)) f.AdditionalEventData = value;
                    break;
            }
        }
        return f;
    }

    public static bool Has(JsonElement field) => field.ValueKind != JsonValueKind.Undefined;
}
