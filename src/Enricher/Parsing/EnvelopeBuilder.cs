using System.Buffers;
using System.Text.Json;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// Wraps the shapes that arrive without an EventBridge envelope (CloudTrail records from S3 log files,
/// bare GuardDuty and Security Hub findings) in the envelope EventBridge itself would give them, so
/// every later stage (mute patterns included) sees one shape: the event as it travels on the bus.
/// </summary>
public static class EnvelopeBuilder
{
    /// <summary>The shape of one JSON object, decided from the fields only that shape has.</summary>
    public enum Shape { Envelope, CloudTrailRecord, GuardDutyFinding, SecurityHubFinding, Unknown }

    public static Shape Detect(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object ? Detect(RecordFields.Scan(root)) : Shape.Unknown;

    /// <summary>The shape of an object whose top-level properties are <paramref name="f"/> (from <see cref="RecordFields.Scan"/>).</summary>
    internal static Shape Detect(in RecordFields f)
    {
        static bool Has(JsonElement field) => RecordFields.Has(field);
        if (Has(f.DetailType)) return Shape.Envelope;
        if (Has(f.EventName) || (Has(f.EventSource) && Has(f.EventVersion))) return Shape.CloudTrailRecord;
        if (Has(f.AwsAccountId) && (Has(f.SchemaVersionUpper) || Has(f.ProductArn))) return Shape.SecurityHubFinding;
        if (Has(f.AccountId) && Has(f.SchemaVersion) && Has(f.Severity)) return Shape.GuardDutyFinding;
        return Shape.Unknown;
    }

    /// <summary>
    /// The envelope fields of an event. <see cref="TryDescribe"/> fills all but <see cref="Id"/>; read from an
    /// envelope in the input, any may be missing (null), and the parser says which.
    /// </summary>
    public sealed record Fields(string? Id, string? DetailType, string? Source, string? Account, string? Time, string? Region);

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
        TryDescribe(shape, record, RecordFields.Scan(record), out fields, out reason);

    /// <summary>As above, with the record's top-level properties already scanned into <paramref name="f"/>.</summary>
    internal static bool TryDescribe(Shape shape, JsonElement record, in RecordFields f, out Fields? fields, out string? reason)
    {
        string? id, detailType, source, account, time, region;
        var cache = StringCache.Shared;
        switch (shape)
        {
            case Shape.CloudTrailRecord:
                id = f.EventId.Text();
                detailType = CloudTrailDetailType(f.EventType.Text(cache));
                source = SourceFromEventSource(f.EventSource.Text(cache));
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
        fields = new Fields(id, detailType, source ?? "unknown", account, time, region ?? "unknown");
        reason = null;
        return true;
    }

    /// <summary>
    /// Writes the envelope for a non-envelope shape with <paramref name="record"/> as its <c>detail</c>.
    /// Returns false (with a reason) when the record lacks what an envelope must have.
    /// </summary>
    public static bool TryWrap(Shape shape, JsonElement record, ReadOnlySpan<byte> recordBytes, IBufferWriter<byte> output, out string? reason)
    {
        if (!TryDescribe(shape, record, out var fields, out reason)) return false;
        Write(fields!, recordBytes, output);
        return true;
    }

    /// <summary>Writes <paramref name="fields"/> as an EventBridge envelope whose <c>detail</c> is <paramref name="recordBytes"/>.</summary>
    public static void Write(Fields fields, ReadOnlySpan<byte> recordBytes, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("version", "0");
        if (fields.Id is not null) writer.WriteString("id", fields.Id);
        writer.WriteString("detail-type", fields.DetailType);
        writer.WriteString("source", fields.Source);
        writer.WriteString("account", fields.Account);
        writer.WriteString("time", fields.Time);
        writer.WriteString("region", fields.Region);
        writer.WriteStartArray("resources");
        writer.WriteEndArray();
        writer.WritePropertyName("detail");
        writer.WriteRawValue(recordBytes, skipInputValidation: true);
        writer.WriteEndObject();
    }

    private static string Describe(Shape shape) => shape switch
    {
        Shape.CloudTrailRecord => "CloudTrail record",
        Shape.GuardDutyFinding => "GuardDuty finding",
        Shape.SecurityHubFinding => "Security Hub finding",
        _ => "event",
    };

    /// <summary>EventBridge's detail-type for each CloudTrail <c>eventType</c>.</summary>
    internal static string CloudTrailDetailType(string? eventType) => eventType switch
    {
        "AwsConsoleSignIn" => "AWS Console Signin via CloudTrail",
        "AwsServiceEvent" => "AWS Service Event via CloudTrail",
        "AwsConsoleAction" => "AWS Console Action via CloudTrail",
        "AwsCloudTrailInsight" => "AWS Insight via CloudTrail",
        _ => "AWS API Call via CloudTrail",
    };

    /// <summary><c>ec2.amazonaws.com</c> → <c>aws.ec2</c>, as EventBridge names the source of a CloudTrail event.</summary>
    internal static string? SourceFromEventSource(string? eventSource)
    {
        if (eventSource is null) return null;
        int dot = eventSource.IndexOf('.', StringComparison.Ordinal);
        var service = dot > 0 ? eventSource.AsSpan(0, dot) : eventSource.AsSpan();
        // Built on the stack and shared through the cache: a handful of sources cover nearly every event.
        if (service.Length > 60) return "aws." + service.ToString();
        Span<char> name = stackalloc char[4 + service.Length];
        "aws.".CopyTo(name);
        service.CopyTo(name[4..]);
        return StringCache.Shared.Get(name);
    }

    private static string? RegionFromArn(string? arn)
    {
        // arn:aws:securityhub:us-east-1::product/...
        var parts = arn?.Split(':');
        return parts is { Length: > 3 } && parts[3].Length > 0 ? parts[3] : null;
    }
}
