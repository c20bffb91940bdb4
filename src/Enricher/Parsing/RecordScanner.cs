using System.Text.Json;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// One forward pass over a record with a <see cref="JsonCursor"/>: the properties in <see cref="RecordFields"/> are
/// located, everything else is skipped (and still validated: a record that is not JSON is rejected whatever part of it
/// is broken, as a DOM parse would). No value is decoded here and nothing is allocated.
/// </summary>
/// <remarks>
/// Property names are matched by length first and then as raw UTF-8 bytes, the way the event's own bytes hold them; an
/// escaped name (<c>"event\u004eame"</c>) is unescaped first. Every object is read to its end, so a
/// later duplicate replaces an earlier one (each nested object's fields are cleared when its name comes again).
/// </remarks>
internal static class RecordScanner
{
    /// <summary>
    /// Reads the object the reader stands on (its start) to its end. At the top level (<paramref name="detail"/> given)
    /// an EventBridge envelope's <c>detail</c> object is scanned too, into <paramref name="detail"/>. <paramref name="json"/>
    /// is what the reader reads.
    /// </summary>
    public static void Scan(ref JsonCursor reader, ReadOnlySpan<byte> json, ref RecordFields f, ref RecordFields detail, bool topLevel)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = Name(ref reader);
            reader.Read();
            switch (name.Length)
            {
                case 2:
                    if (name.SequenceEqual("id"u8)) f.Id = Take(ref reader);
                    else if (name.SequenceEqual("Id"u8)) f.IdUpper = Take(ref reader);
                    else reader.Skip();
                    break;
                case 4:
                    if (name.SequenceEqual("time"u8)) f.Time = Take(ref reader);
                    else if (name.SequenceEqual("type"u8)) f.Type = Take(ref reader);
                    else reader.Skip();
                    break;
                case 5:
                    if (name.SequenceEqual("title"u8)) f.Title = Take(ref reader);
                    else reader.Skip();
                    break;
                case 6:
                    if (name.SequenceEqual("source"u8)) f.Source = Take(ref reader);
                    else if (name.SequenceEqual("region"u8)) f.Region = Take(ref reader);
                    else if (name.SequenceEqual("Region"u8)) f.RegionUpper = Take(ref reader);
                    else if (name.SequenceEqual("detail"u8))
                    {
                        if (topLevel && reader.TokenType == JsonTokenType.StartObject)
                        {
                            f.Detail = JsonValueRef.At(ref reader);
                            detail = default;
                            RecordFields none = default;
                            Scan(ref reader, json, ref detail, ref none, topLevel: false);
                        }
                        else
                        {
                            f.Detail = Take(ref reader);
                            detail = default;
                        }
                    }
                    else reader.Skip();
                    break;
                case 7:
                    if (name.SequenceEqual("eventID"u8)) f.EventId = Take(ref reader);
                    else if (name.SequenceEqual("account"u8)) f.Account = Take(ref reader);
                    else reader.Skip();
                    break;
                case 8:
                    if (name.SequenceEqual("readOnly"u8)) f.ReadOnly = Take(ref reader);
                    else if (name.SequenceEqual("severity"u8)) f.Severity = Take(ref reader);
                    else if (name.SequenceEqual("findings"u8)) ScanFindings(ref reader, ref f);
                    else reader.Skip();
                    break;
                case 9:
                    if (name.SequenceEqual("eventName"u8)) f.EventName = Take(ref reader);
                    else if (name.SequenceEqual("eventTime"u8)) f.EventTime = Take(ref reader);
                    else if (name.SequenceEqual("eventType"u8)) f.EventType = Take(ref reader);
                    else if (name.SequenceEqual("awsRegion"u8)) f.AwsRegion = Take(ref reader);
                    else if (name.SequenceEqual("userAgent"u8)) f.UserAgent = Take(ref reader);
                    else if (name.SequenceEqual("errorCode"u8)) f.ErrorCode = Take(ref reader);
                    else if (name.SequenceEqual("accountId"u8)) f.AccountId = Take(ref reader);
                    else if (name.SequenceEqual("updatedAt"u8)) f.UpdatedAt = Take(ref reader);
                    else if (name.SequenceEqual("createdAt"u8)) f.CreatedAt = Take(ref reader);
                    else if (name.SequenceEqual("UpdatedAt"u8)) f.UpdatedAtUpper = Take(ref reader);
                    else if (name.SequenceEqual("CreatedAt"u8)) f.CreatedAtUpper = Take(ref reader);
                    else reader.Skip();
                    break;
                case 10:
                    if (name.SequenceEqual("@timestamp"u8)) f.AtTimestamp = Take(ref reader);
                    else if (name.SequenceEqual("ProductArn"u8)) f.ProductArn = Take(ref reader);
                    else reader.Skip();
                    break;
                case 11:
                    if (name.SequenceEqual("eventSource"u8)) f.EventSource = Take(ref reader);
                    else if (name.SequenceEqual("detail-type"u8)) f.DetailType = Take(ref reader);
                    else reader.Skip();
                    break;
                case 12:
                    // Its whole extent, read by ReadIdentity only when IdentityCache has not seen the same bytes.
                    if (name.SequenceEqual("userIdentity"u8)) f.UserIdentity = JsonValueRef.Extent(ref reader);
                    else if (name.SequenceEqual("eventVersion"u8)) f.EventVersion = Take(ref reader);
                    else if (name.SequenceEqual("errorMessage"u8)) f.ErrorMessage = Take(ref reader);
                    else if (name.SequenceEqual("p_event_time"u8)) f.PEventTime = Take(ref reader);
                    else if (name.SequenceEqual("AwsAccountId"u8)) f.AwsAccountId = Take(ref reader);
                    else reader.Skip();
                    break;
                case 13:
                    if (name.SequenceEqual("sharedEventID"u8)) f.SharedEventId = Take(ref reader);
                    else if (name.SequenceEqual("SchemaVersion"u8)) f.SchemaVersionUpper = Take(ref reader);
                    else if (name.SequenceEqual("schemaVersion"u8)) f.SchemaVersion = Take(ref reader);
                    else reader.Skip();
                    break;
                case 15:
                    if (name.SequenceEqual("sourceIPAddress"u8)) f.SourceIpAddress = Take(ref reader);
                    else reader.Skip();
                    break;
                case 16:
                    if (name.SequenceEqual("responseElements"u8)) f.ResponseElements = One(ref reader, "ConsoleLogin"u8, out f.ConsoleLogin);
                    else reader.Skip();
                    break;
                case 17:
                    if (name.SequenceEqual("requestParameters"u8)) f.RequestParameters = RequestReader.Locate(ref reader, ref f.RequestTop);
                    else reader.Skip();
                    break;
                case 18:
                    if (name.SequenceEqual("recipientAccountId"u8)) f.RecipientAccountId = Take(ref reader);
                    else reader.Skip();
                    break;
                case 19:
                    if (name.SequenceEqual("additionalEventData"u8)) f.AdditionalEventData = One(ref reader, "MFAUsed"u8, out f.MfaUsed);
                    else reader.Skip();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    /// <summary>
    /// The current property's name as UTF-8, unescaped when the input escaped it (rare: only then is anything allocated).
    /// </summary>
    internal static ReadOnlySpan<byte> Name(ref JsonCursor reader) =>
        reader.ValueIsEscaped ? System.Text.Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan;

    /// <summary>The value the reader stands on; an object or array is skipped and kept by its kind only.</summary>
    private static JsonValueRef Take(ref JsonCursor reader)
    {
        var value = JsonValueRef.At(ref reader);
        reader.Skip(); // a no-op on a scalar
        return value;
    }

    /// <summary>A value whose only interesting part is one property of it (when it is an object): that property, last occurrence.</summary>
    private static JsonValueRef One(ref JsonCursor reader, ReadOnlySpan<byte> wanted, out JsonValueRef property)
    {
        var value = JsonValueRef.At(ref reader);
        property = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return value;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool match = Name(ref reader).SequenceEqual(wanted);
            reader.Read();
            if (match) property = Take(ref reader);
            else reader.Skip();
        }
        return value;
    }

    /// <summary>
    /// The caller's fields from a record's <c>userIdentity</c> object (<paramref name="userIdentity"/>: its extent in
    /// <paramref name="json"/>, checked as JSON in the record's pass). Read only for an identity not seen before: most
    /// events repeat one (<see cref="IdentityCache"/>), and the pass skips it whole.
    /// </summary>
    public static IdentityFields ReadIdentity(ReadOnlySpan<byte> json, JsonValueRef userIdentity)
    {
        IdentityFields identity = default;
        if (!userIdentity.IsObject) return identity;
        var reader = new JsonCursor(json, userIdentity, EventParser.MaxDepth);
        reader.Read();
        ScanIdentity(ref reader, ref identity);
        return identity;
    }

    private static void ScanIdentity(ref JsonCursor reader, ref IdentityFields identity)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = Name(ref reader);
            reader.Read();
            switch (name.Length)
            {
                case 3 when name.SequenceEqual("arn"u8): identity.Arn = Take(ref reader); break;
                case 4 when name.SequenceEqual("type"u8): identity.Type = Take(ref reader); break;
                case 8 when name.SequenceEqual("userName"u8): identity.UserName = Take(ref reader); break;
                case 9 when name.SequenceEqual("accountId"u8): identity.AccountId = Take(ref reader); break;
                case 9 when name.SequenceEqual("invokedBy"u8): identity.InvokedBy = Take(ref reader); break;
                case 10 when name.SequenceEqual("onBehalfOf"u8): One(ref reader, "userId"u8, out identity.OnBehalfOfUserId); break;
                case 11 when name.SequenceEqual("principalId"u8): identity.PrincipalId = Take(ref reader); break;
                case 11 when name.SequenceEqual("accessKeyId"u8): identity.AccessKeyId = Take(ref reader); break;
                case 14 when name.SequenceEqual("sessionContext"u8): ScanSessionContext(ref reader, ref identity); break;
                default: reader.Skip(); break;
            }
        }
    }

    /// <summary><c>sessionContext</c>: the issuer's ARN and name, and whether the session was MFA-authenticated.</summary>
    private static void ScanSessionContext(ref JsonCursor reader, ref IdentityFields identity)
    {
        identity.IssuerArn = identity.IssuerUserName = identity.MfaAuthenticated = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = Name(ref reader);
            reader.Read();
            if (name.SequenceEqual("attributes"u8))
            {
                One(ref reader, "mfaAuthenticated"u8, out identity.MfaAuthenticated);
            }
            else if (name.SequenceEqual("sessionIssuer"u8))
            {
                identity.IssuerArn = identity.IssuerUserName = default;
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var issuerName = Name(ref reader);
                    reader.Read();
                    if (issuerName.SequenceEqual("arn"u8)) identity.IssuerArn = Take(ref reader);
                    else if (issuerName.SequenceEqual("userName"u8)) identity.IssuerUserName = Take(ref reader);
                    else reader.Skip();
                }
            }
            else
            {
                reader.Skip();
            }
        }
    }

    /// <summary>A Security Hub event's <c>findings</c>: the first element's title, severity and generator; the rest skipped.</summary>
    private static void ScanFindings(ref JsonCursor reader, ref RecordFields f)
    {
        f.Findings = JsonValueRef.At(ref reader);
        f.FirstFinding = default;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return;
        }
        bool first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!first || reader.TokenType != JsonTokenType.StartObject)
            {
                f.FirstFinding.Present |= first;
                first = false;
                reader.Skip();
                continue;
            }
            first = false;
            f.FirstFinding.Present = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = Name(ref reader);
                reader.Read();
                if (name.SequenceEqual("Title"u8)) f.FirstFinding.Title = Take(ref reader);
                else if (name.SequenceEqual("GeneratorId"u8)) f.FirstFinding.GeneratorId = Take(ref reader);
                else if (name.SequenceEqual("Severity"u8)) ScanSeverity(ref reader, ref f.FirstFinding);
                else reader.Skip();
            }
        }
    }

    private static void ScanSeverity(ref JsonCursor reader, ref FirstFinding finding)
    {
        finding.SeverityNormalized = finding.SeverityLabel = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = Name(ref reader);
            reader.Read();
            if (name.SequenceEqual("Normalized"u8)) finding.SeverityNormalized = Take(ref reader);
            else if (name.SequenceEqual("Label"u8)) finding.SeverityLabel = Take(ref reader);
            else reader.Skip();
        }
    }
}
