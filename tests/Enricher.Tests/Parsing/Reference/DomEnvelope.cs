using System.Buffers;
using System.Text.Json;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Shape = Pipeline.Enricher.Parsing.EnvelopeBuilder.Shape;
using Fields = Pipeline.Enricher.Parsing.EnvelopeBuilder.Fields;

namespace Pipeline.Enricher.Tests.Parsing.Reference;

/// <summary>
/// Wraps the shapes that arrive without an EventBridge envelope (CloudTrail records from S3 log files,
/// bare GuardDuty and Security Hub findings) in the envelope EventBridge itself would give them, so
/// every later stage (mute patterns included) sees one shape: the event as it travels on the bus.
/// </summary>
internal static class DomEnvelope
{

    public static Shape Detect(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object ? Detect(DomRecordFields.Scan(root)) : Shape.Unknown;

    /// <summary>The shape of an object whose top-level properties are <paramref name="f"/> (from <see cref="DomRecordFields.Scan"/>).</summary>
    internal static Shape Detect(in DomRecordFields f)
    {
        static bool Has(JsonElement field) => DomRecordFields.Has(field);
        if (Has(f.DetailType)) return Shape.Envelope;
        if (Has(f.EventName) || (Has(f.EventSource) && Has(f.EventVersion))) return Shape.CloudTrailRecord;
        if (Has(f.AwsAccountId) && (Has(f.SchemaVersionUpper) || Has(f.ProductArn))) return Shape.SecurityHubFinding;
        if (Has(f.AccountId) && Has(f.SchemaVersion) && Has(f.Severity)) return Shape.GuardDutyFinding;
        return Shape.Unknown;
    }


    /// <summary>Where a finding keeps what its envelope needs, and what EventBridge calls it: the two services differ only in names.</summary>
    private sealed record FindingNames(string DetailType, string Source, string Id, string Account, string UpdatedAt, string CreatedAt, string Region, string? RegionArn);

    private static readonly FindingNames GuardDutyNames = new("GuardDuty Finding", "aws.guardduty", "id", "accountId", "updatedAt", "createdAt", "region", RegionArn: null);

    // A Security Hub finding may name its region only in its product ARN.
    private static readonly FindingNames SecurityHubNames = new("Security Hub Findings - Imported", "aws.securityhub", "Id", "AwsAccountId", "UpdatedAt", "CreatedAt", "Region", RegionArn: "ProductArn");

    /// <summary>
    /// Reads the envelope fields of a non-envelope shape from <paramref name="record"/>.
    /// Returns false (with a reason) when the record lacks what an envelope must have.
    /// </summary>
    public static bool TryDescribe(Shape shape, JsonElement record, out Fields? fields, out string? reason) =>
        TryDescribe(shape, record, DomRecordFields.Scan(record), out fields, out reason);

    /// <summary>As above, with the record's top-level properties already scanned into <paramref name="f"/>.</summary>
    internal static bool TryDescribe(Shape shape, JsonElement record, in DomRecordFields f, out Fields? fields, out string? reason)
    {
        string? id, detailType, source, account, time, region;
        var cache = StringCache.Shared;
        switch (shape)
        {
            case Shape.CloudTrailRecord:
                id = f.EventId.Text();
                detailType = EnvelopeBuilder.CloudTrailDetailType(f.EventType.Text(cache));
                source = EnvelopeBuilder.SourceFromEventSource(f.EventSource.Text(cache));
                // recipientAccountId is the account the event happened in; older or hand-made records may only carry userIdentity.accountId.
                account = f.RecipientAccountId.Text(cache) ?? f.UserIdentity.AsObject().Str("accountId");
                // Records that went through a log pipeline may carry only its timestamp (Logstash, Panther).
                time = f.EventTime.Text() ?? f.AtTimestamp.Text() ?? f.PEventTime.Text();
                region = f.AwsRegion.Text(cache);
                break;
            case Shape.GuardDutyFinding or Shape.SecurityHubFinding:
                var names = shape == Shape.GuardDutyFinding ? GuardDutyNames : SecurityHubNames;
                id = record.Str(names.Id);
                detailType = names.DetailType;
                source = names.Source;
                account = record.Str(names.Account);
                time = record.Str(names.UpdatedAt) ?? record.Str(names.CreatedAt);
                region = record.Str(names.Region) ?? (names.RegionArn is null ? null : RegionFromArn(record.Str(names.RegionArn)));
                break;
            default:
                fields = null;
                reason = "not an EventBridge event, a CloudTrail record or a finding";
                return false;
        }

        fields = null;
        if (account is null) { reason = $"{Describe(shape)} has no account id"; return false; }
        if (time is null) { reason = $"{Describe(shape)} has no time"; return false; }
        fields = new Fields(EventIdValue.Of(id), detailType, source ?? "unknown", account, time, region ?? "unknown");
        reason = null;
        return true;
    }

    private static string Describe(Shape shape) => shape switch
    {
        Shape.CloudTrailRecord => "CloudTrail record",
        Shape.GuardDutyFinding => "GuardDuty finding",
        Shape.SecurityHubFinding => "Security Hub finding",
        _ => "event",
    };

    private static string? RegionFromArn(string? arn)
    {
        // arn:aws:securityhub:us-east-1::product/...
        var parts = arn?.Split(':');
        return parts is { Length: > 3 } && parts[3].Length > 0 ? parts[3] : null;
    }
}
