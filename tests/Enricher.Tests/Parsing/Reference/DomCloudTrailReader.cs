using Pipeline.Enricher.Parsing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Tests.Parsing.Reference;

/// <summary>Reads the CloudTrail record fields a digest needs; everything else is left in the JSON.</summary>
internal static class DomCloudTrailReader
{
    /// <summary>
    /// Request parameters that name the thing a call acts on, most specific first. The first one present
    /// becomes the event's <see cref="CloudTrailDetail.Target"/>, shown next to risky events.
    /// </summary>
    private static readonly string[] TargetKeys =
    [
        "bucketName", "roleName", "userName", "groupName", "policyArn", "policyName", "groupId", "trailName",
        "keyId", "functionName", "instanceId", "dBInstanceIdentifier", "secretId", "topicArn", "queueUrl",
        "clusterName", "repositoryName", "detectorId", "stackName", "snapshotId", "imageId", "vpcId",
        "accountId", "name", "Name",
        "rule", "stackSetName", "streamName", "tableName", "eventBusName",
    ];

    public static CloudTrailDetail Read(JsonElement detail)
    {
        var fields = DomRecordFields.Scan(detail);
        return Read(fields, fields.EventId.Text());
    }

    /// <summary>
    /// Reads a record whose top-level properties are already scanned. <paramref name="eventId"/> is
    /// <c>fields.EventId.Text()</c>, which the caller has usually read already for the envelope.
    /// </summary>
    /// <remarks>
    /// Values that repeat across events (names, sources, regions, identities, user agents) go through
    /// <see cref="StringCache"/>; ids and messages that are unique per event do not.
    /// </remarks>
    internal static CloudTrailDetail Read(in DomRecordFields fields, string? eventId)
    {
        var cache = StringCache.Shared;
        var eventName = fields.EventName.Text(cache) ?? "(no eventName)";
        var request = fields.RequestParameters.AsObject();
        return new CloudTrailDetail
        {
            EventName = eventName,
            EventSource = fields.EventSource.Text(cache) ?? "unknown",
            EventId = eventId,
            EventType = fields.EventType.Text(cache),
            Identity = ReadIdentity(fields.UserIdentity.AsObject(), cache),
            SourceIpAddress = fields.SourceIpAddress.Text(cache),
            UserAgent = fields.UserAgent.Text(cache),
            ErrorCode = fields.ErrorCode.Text(cache),
            ErrorMessage = fields.ErrorMessage.Text(),
            ReadOnly = fields.ReadOnly.BoolValue(),
            SharedEventId = fields.SharedEventId.Text(),
            Target = ReadTarget(request, cache),
            Facts = ReadFacts(eventName, request, fields, cache),
        };
    }

    private static UserIdentity ReadIdentity(JsonElement identity, StringCache cache)
    {
        if (identity.ValueKind != JsonValueKind.Object) return UserIdentity.Unknown;
        // One pass over the identity's properties, for the same reason as DomRecordFields; the last duplicate wins.
        JsonElement type = default, arn = default, principalId = default, accountId = default, userName = default,
            invokedBy = default, accessKeyId = default, sessionContext = default, onBehalfOf = default;
        foreach (var property in identity.EnumerateObject())
        {
            var name = JsonMarshal.GetRawUtf8PropertyName(property);
            if (name.Contains((byte)'\\')) name = Encoding.UTF8.GetBytes(property.Name);
            var value = property.Value;
            switch (name.Length)
            {
                case 3 when name.SequenceEqual("arn"u8): arn = value; break;
                case 4 when name.SequenceEqual("type"u8): type = value; break;
                case 8 when name.SequenceEqual("userName"u8): userName = value; break;
                case 9 when name.SequenceEqual("accountId"u8): accountId = value; break;
                case 9 when name.SequenceEqual("invokedBy"u8): invokedBy = value; break;
                case 10 when name.SequenceEqual("onBehalfOf"u8): onBehalfOf = value; break;
                case 11 when name.SequenceEqual("principalId"u8): principalId = value; break;
                case 11 when name.SequenceEqual("accessKeyId"u8): accessKeyId = value; break;
                case 14 when name.SequenceEqual("sessionContext"u8): sessionContext = value; break;
            }
        }
        var session = sessionContext.AsObject();
        var issuer = session.Obj("sessionIssuer"u8);
        return new UserIdentity
        {
            Type = type.Text(cache),
            Arn = arn.Text(cache),
            PrincipalId = principalId.Text(cache),
            AccountId = accountId.Text(cache),
            UserName = userName.Text(cache),
            InvokedBy = invokedBy.Text(cache),
            OnBehalfOfUserId = onBehalfOf.AsObject().Str("userId"u8, cache),
            // Temporary keys are unique per session: not worth a cache slot.
            AccessKeyId = accessKeyId.Text(),
            SessionIssuerArn = issuer.Str("arn"u8, cache),
            SessionIssuerUserName = issuer.Str("userName"u8, cache),
            MfaAuthenticated = session.Obj("attributes"u8).Bool("mfaAuthenticated"u8),
        };
    }

    private static string? ReadTarget(JsonElement request, StringCache cache)
    {
        if (request.ValueKind != JsonValueKind.Object) return null;
        // Which target keys occur at all, in one pass: most requests have a few properties and none or one of the
        // 30 keys, so only those are looked up (in TargetKeys order, with TryGetProperty's last-duplicate-wins).
        uint present = 0;
        bool hasInstancesSet = false;
        foreach (var property in request.EnumerateObject())
        {
            var name = JsonMarshal.GetRawUtf8PropertyName(property);
            if (name.Contains((byte)'\\')) name = Encoding.UTF8.GetBytes(property.Name);
            int index = TargetKeyIndex(name);
            if (index >= 0) present |= 1u << index;
            else if (name.SequenceEqual("instancesSet"u8)) hasInstancesSet = true;
        }
        for (int i = 0; present != 0 && i < TargetKeys.Length; i++)
        {
            if ((present & (1u << i)) == 0) continue;
            present &= ~(1u << i);
            var value = request.GetProperty(TargetKeysUtf8[i]);
            if (value.ValueKind == JsonValueKind.String) return value.GetString()!;
            if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.String)
                return value[0].GetString() + (value.GetArrayLength() > 1 ? $" (+{value.GetArrayLength() - 1})" : "");
        }
        if (!hasInstancesSet) return null;
        // ec2 RunInstances-style: {"instancesSet":{"items":[{"instanceId":"i-…"}]}}
        var items = request.Obj("instancesSet");
        if (items.ValueKind == JsonValueKind.Object && items.TryGetProperty("items", out var list) &&
            list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0)
            return list[0].Str("instanceId") ?? list[0].Str("imageId");
        return null;
    }

    private static int TargetKeyIndex(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < TargetKeysUtf8.Length; i++)
            if (name.SequenceEqual(TargetKeysUtf8[i])) return i;
        return -1;
    }

    private static readonly byte[][] TargetKeysUtf8 = [.. TargetKeys.Select(Encoding.UTF8.GetBytes)];

    private static RiskFacts ReadFacts(string eventName, JsonElement request, in DomRecordFields fields, StringCache cache)
    {
        var ranges = request.ValueKind == JsonValueKind.Object ? CollectRanges(request, cache) : null;
        var mfaUsed = fields.AdditionalEventData.AsObject().Str("MFAUsed"u8, cache);
        var login = fields.ResponseElements.AsObject().Str("ConsoleLogin"u8, cache);
        bool grants = request.ValueKind == JsonValueKind.Object && MayCarryPolicy(eventName) && GrantsToEveryone(request);
        if (ranges is null && mfaUsed is null && login is null && !grants) return RiskFacts.None;
        return new RiskFacts { IngressRanges = ranges ?? new List<string>(), MfaUsed = mfaUsed, ConsoleLoginResult = login, GrantsToEveryone = grants };
    }

    /// <summary>Every <c>cidrIp</c>/<c>cidrIpv6</c>/<c>cidrBlock</c> in the request, wherever the API nests it.</summary>
    /// <remarks>Null when there are none: most requests have none, and the list is only allocated on the first find.</remarks>
    private static List<string>? CollectRanges(JsonElement request, StringCache cache)
    {
        List<string>? found = null;
        Walk(request, 0);
        return found;

        void Walk(JsonElement element, int depth)
        {
            if (depth > 8 || found?.Count >= 16) return;
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String &&
                        (property.NameEquals("cidrIp"u8) || property.NameEquals("cidrIpv6"u8) || property.NameEquals("cidrBlock"u8) ||
                         property.NameEquals("CidrIp"u8) || property.NameEquals("CidrIpv6"u8) || property.NameEquals("ipv6CidrBlock"u8)))
                        (found ??= []).Add(property.Value.GetString()!);
                    else
                        Walk(property.Value, depth + 1);
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray()) Walk(item, depth + 1);
            }
        }
    }

    private static bool MayCarryPolicy(string eventName) =>
        eventName.Contains("Policy", StringComparison.Ordinal) ||
        eventName.Contains("Permission", StringComparison.Ordinal) ||
        eventName.EndsWith("Attributes", StringComparison.Ordinal);

    /// <summary>
    /// True when a policy in the request grants to everyone (<c>"Principal":"*"</c>, <c>{"AWS":"*"}</c>, or a
    /// Lambda permission for principal <c>*</c>), whether the policy is nested JSON or a JSON string inside the request.
    /// </summary>
    private static bool GrantsToEveryone(JsonElement element, int depth = 0)
    {
        if (depth > 10) return false;
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if ((property.NameEquals("Principal"u8) || property.NameEquals("principal"u8)) && IsEveryone(property.Value)) return true;
                    if (GrantsToEveryone(property.Value, depth + 1)) return true;
                }
                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    if (GrantsToEveryone(item, depth + 1)) return true;
                return false;
            case JsonValueKind.String:
                // SQS, SNS and KMS pass the policy as a JSON string.
                var text = element.GetString();
                if (text is null || text.Length < 10 || !text.Contains("rincipal", StringComparison.Ordinal)) return false;
                // Only an object, an array or a (double-encoded) string can hold a principal; anything else would
                // only throw below, and a thrown exception per event costs more than the rest of the record.
                if (text.AsSpan().TrimStart() is not ['{' or '[' or '"', ..]) return false;
                try
                {
                    // Repaired as the record is: an unpaired surrogate escape in the policy's JSON becomes U+FFFD.
                    using var inner = JsonDocument.Parse(JsonTextRepair.Repair(System.Text.Encoding.UTF8.GetBytes(text)));
                    return GrantsToEveryone(inner.RootElement, depth + 1);
                }
                catch (JsonException)
                {
                    return false;
                }
            default:
                return false;
        }
    }

    private static bool IsEveryone(JsonElement principal) => principal.ValueKind switch
    {
        JsonValueKind.String => principal.GetString() == "*",
        JsonValueKind.Object => principal.TryGetProperty("AWS", out var aws) && IsEveryone(aws),
        JsonValueKind.Array => principal.EnumerateArray().Any(IsEveryone),
        _ => false,
    };
}

/// <summary>Title and severity of GuardDuty and Security Hub findings, the two finding shapes the digests name.</summary>
internal static class DomFindingReader
{
    public static FindingDetail? Read(string detailType, JsonElement detail)
    {
        if (detail.ValueKind != JsonValueKind.Object) return null;
        if (detailType == "GuardDuty Finding")
            return new FindingDetail(detail.Str("title") ?? detail.Str("type") ?? "GuardDuty finding", detail.Number("severity"), detail.Str("type"));

        if (detailType.StartsWith("Security Hub Findings", StringComparison.Ordinal) &&
            detail.TryGetProperty("findings", out var findings) && findings.ValueKind == JsonValueKind.Array && findings.GetArrayLength() > 0)
        {
            var first = findings[0];
            var severity = first.Obj("Severity");
            // Security Hub's 0–100 scale, brought to GuardDuty's 0–10 so one threshold serves both.
            double? normalized = severity.Number("Normalized") is double n ? n / 10.0 : LabelSeverity(severity.Str("Label"));
            return new FindingDetail(first.Str("Title") ?? "Security Hub finding", normalized, first.Str("GeneratorId"));
        }
        return null;
    }

    private static double? LabelSeverity(string? label) => label switch
    {
        "CRITICAL" => 9.0,
        "HIGH" => 7.0,
        "MEDIUM" => 4.0,
        "LOW" => 1.0,
        _ => null,
    };
}
