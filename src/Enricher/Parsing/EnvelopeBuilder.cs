using System.Buffers;
using System.Text.Json;
using Pipeline.Enricher.Model;

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

    /// <summary>The shape of a parsed JSON value (what the benchmark's generator asks); anything but an object is <see cref="Shape.Unknown"/>.</summary>
    public static Shape Detect(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return Shape.Unknown;
        bool Has(string name) => root.TryGetProperty(name, out _);
        return Detect(Has("detail-type"), Has("eventName"), Has("eventSource"), Has("eventVersion"), Has("AwsAccountId"),
            Has("SchemaVersion"), Has("ProductArn"), Has("accountId"), Has("schemaVersion"), Has("severity"));
    }

    /// <summary>The shape of an object whose top-level properties are <paramref name="f"/> (from <see cref="RecordScanner"/>).</summary>
    internal static Shape Detect(in RecordFields f) => Detect(f.DetailType.Present, f.EventName.Present, f.EventSource.Present,
        f.EventVersion.Present, f.AwsAccountId.Present, f.SchemaVersionUpper.Present, f.ProductArn.Present, f.AccountId.Present,
        f.SchemaVersion.Present, f.Severity.Present);

    /// <summary>Decided from which properties are present, whatever their values: only that shape has them.</summary>
    private static Shape Detect(bool detailType, bool eventName, bool eventSource, bool eventVersion, bool awsAccountId,
        bool schemaVersionUpper, bool productArn, bool accountId, bool schemaVersion, bool severity)
    {
        if (detailType) return Shape.Envelope;
        if (eventName || (eventSource && eventVersion)) return Shape.CloudTrailRecord;
        if (awsAccountId && (schemaVersionUpper || productArn)) return Shape.SecurityHubFinding;
        if (accountId && schemaVersion && severity) return Shape.GuardDutyFinding;
        return Shape.Unknown;
    }

    /// <summary>
    /// The envelope fields of an event. <see cref="TryDescribe"/> fills all but <see cref="Id"/>; read from an
    /// envelope in the input, any may be missing (null), and the parser says which.
    /// </summary>
    internal readonly record struct Fields(EventIdValue Id, string? DetailType, string? Source, string? Account, string? Time, string? Region)
    {
        /// <summary>
        /// Where the time is in the record when <see cref="Time"/> was not made into text: a CloudTrail record's
        /// <c>eventTime</c>, read from its bytes (as an envelope's time is), and made into text only if the envelope is written.
        /// </summary>
        internal JsonValueRef TimeAt { get; init; }
    }

    /// <summary>
    /// Reads the envelope fields of a non-envelope shape from the scanned record <paramref name="f"/> (in <paramref name="json"/>).
    /// Returns false (with a reason) when the record lacks what an envelope must have.
    /// </summary>
    internal static bool TryDescribe(Shape shape, ReadOnlySpan<byte> json, in RecordFields f, out Fields? fields, out string? reason)
    {
        EventIdValue id;
        string? detailType, source, account, time = null, region;
        JsonValueRef timeAt = default;
        var cache = StringCache.Shared;
        switch (shape)
        {
            case Shape.CloudTrailRecord:
                id = f.EventId.Id(json);
                detailType = CloudTrailDetailType(f.EventType.Text(json, cache));
                source = SourceFromEventSource(f.EventSource.Text(json, cache));
                // recipientAccountId is the account the event happened in; older or hand-made records may only carry userIdentity.accountId.
                account = f.RecipientAccountId.Text(json, cache) ?? RecordScanner.ReadIdentity(json, f.UserIdentity).AccountId.Text(json);
                // eventTime is read from its bytes later (TimeAt); records that went through a log pipeline may carry only
                // its timestamp (Logstash, Panther).
                if (f.EventTime is { Kind: JsonTokenType.String, Escaped: false } eventTime) timeAt = eventTime;
                else time = f.EventTime.Text(json) ?? f.AtTimestamp.Text(json) ?? f.PEventTime.Text(json);
                region = f.AwsRegion.Text(json, cache);
                break;
            case Shape.GuardDutyFinding:
                id = f.Id.Id(json);
                detailType = "GuardDuty Finding";
                source = "aws.guardduty";
                account = f.AccountId.Text(json);
                time = f.UpdatedAt.Text(json) ?? f.CreatedAt.Text(json);
                region = f.Region.Text(json);
                break;
            case Shape.SecurityHubFinding:
                id = f.IdUpper.Id(json);
                detailType = "Security Hub Findings - Imported";
                source = "aws.securityhub";
                account = f.AwsAccountId.Text(json);
                time = f.UpdatedAtUpper.Text(json) ?? f.CreatedAtUpper.Text(json);
                // A Security Hub finding may name its region only in its product ARN.
                region = f.RegionUpper.Text(json) ?? RegionFromArn(f.ProductArn.Text(json));
                break;
            default:
                fields = null;
                reason = "not an EventBridge event, a CloudTrail record or a finding";
                return false;
        }

        fields = null;
        if (account is null) { reason = $"{Describe(shape)} has no account id"; return false; }
        if (time is null && !timeAt.Present) { reason = $"{Describe(shape)} has no time"; return false; }
        fields = new Fields(id, detailType, source ?? "unknown", account, time, region ?? "unknown") { TimeAt = timeAt };
        reason = null;
        return true;
    }

    /// <summary>Writes <paramref name="fields"/> as an EventBridge envelope whose <c>detail</c> is <paramref name="recordBytes"/>.</summary>
    internal static void Write(Fields fields, ReadOnlySpan<byte> recordBytes, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("version", "0");
        if (fields.Id.Text is { } id) writer.WriteString("id", id);
        writer.WriteString("detail-type", fields.DetailType);
        writer.WriteString("source", fields.Source);
        writer.WriteString("account", fields.Account);
        writer.WriteString("time", fields.Time ?? fields.TimeAt.Text(recordBytes));
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

    /// <summary>
    /// EventBridge's detail-type for each CloudTrail <c>eventType</c>, as EventBridge spells it in the events it
    /// delivers ("Sign In", with a space; AWS's older documents wrote "Signin", and the forwarding rule matches both).
    /// </summary>
    internal static string CloudTrailDetailType(string? eventType) => eventType switch
    {
        "AwsConsoleSignIn" => "AWS Console Sign In via CloudTrail",
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
