using System.Text.Json;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Parsing;

/// <summary>Reads the CloudTrail record fields a digest needs; everything else is left in the JSON.</summary>
internal static class CloudTrailReader
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
    ];

    public static CloudTrailDetail Read(JsonElement detail)
    {
        var eventName = detail.Str("eventName") ?? "(no eventName)";
        var request = detail.Obj("requestParameters");
        return new CloudTrailDetail
        {
            EventName = eventName,
            EventSource = detail.Str("eventSource") ?? "unknown",
            EventId = detail.Str("eventID"),
            EventType = detail.Str("eventType"),
            Identity = ReadIdentity(detail.Obj("userIdentity")),
            SourceIpAddress = detail.Str("sourceIPAddress"),
            UserAgent = detail.Str("userAgent"),
            ErrorCode = detail.Str("errorCode"),
            ErrorMessage = detail.Str("errorMessage"),
            ReadOnly = detail.Bool("readOnly"),
            SharedEventId = detail.Str("sharedEventID"),
            Target = ReadTarget(request),
            Facts = ReadFacts(eventName, request, detail),
        };
    }

    private static UserIdentity ReadIdentity(JsonElement identity)
    {
        if (identity.ValueKind != JsonValueKind.Object) return UserIdentity.Unknown;
        var session = identity.Obj("sessionContext");
        var issuer = session.Obj("sessionIssuer");
        return new UserIdentity
        {
            Type = identity.Str("type"),
            Arn = identity.Str("arn"),
            PrincipalId = identity.Str("principalId"),
            AccountId = identity.Str("accountId"),
            UserName = identity.Str("userName"),
            InvokedBy = identity.Str("invokedBy"),
            AccessKeyId = identity.Str("accessKeyId"),
            SessionIssuerArn = issuer.Str("arn"),
            SessionIssuerUserName = issuer.Str("userName"),
            MfaAuthenticated = session.Obj("attributes").Bool("mfaAuthenticated"),
        };
    }

    private static string? ReadTarget(JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object) return null;
        foreach (var key in TargetKeys)
        {
            if (!request.TryGetProperty(key, out var value)) continue;
            if (value.ValueKind == JsonValueKind.String) return value.GetString();
            if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0 && value[0].ValueKind == JsonValueKind.String)
                return value[0].GetString() + (value.GetArrayLength() > 1 ? $" (+{value.GetArrayLength() - 1})" : "");
        }
        // ec2 RunInstances-style: {"instancesSet":{"items":[{"instanceId":"i-…"}]}}
        var items = request.Obj("instancesSet");
        if (items.ValueKind == JsonValueKind.Object && items.TryGetProperty("items", out var list) &&
            list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0)
            return list[0].Str("instanceId") ?? list[0].Str("imageId");
        return null;
    }

    private static RiskFacts ReadFacts(string eventName, JsonElement request, JsonElement detail)
    {
        var ranges = request.ValueKind == JsonValueKind.Object ? CollectRanges(request) : [];
        var mfaUsed = detail.Obj("additionalEventData").Str("MFAUsed");
        var login = detail.Obj("responseElements").Str("ConsoleLogin");
        bool grants = request.ValueKind == JsonValueKind.Object && MayCarryPolicy(eventName) && GrantsToEveryone(request);
        if (ranges.Count == 0 && mfaUsed is null && login is null && !grants) return RiskFacts.None;
        return new RiskFacts { IngressRanges = ranges, MfaUsed = mfaUsed, ConsoleLoginResult = login, GrantsToEveryone = grants };
    }

    /// <summary>Every <c>cidrIp</c>/<c>cidrIpv6</c>/<c>cidrBlock</c> in the request, wherever the API nests it.</summary>
    private static List<string> CollectRanges(JsonElement request)
    {
        var found = new List<string>();
        Walk(request, 0);
        return found;

        void Walk(JsonElement element, int depth)
        {
            if (depth > 8 || found.Count >= 16) return;
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String &&
                        (property.NameEquals("cidrIp") || property.NameEquals("cidrIpv6") || property.NameEquals("cidrBlock") ||
                         property.NameEquals("CidrIp") || property.NameEquals("CidrIpv6") || property.NameEquals("ipv6CidrBlock")))
                        found.Add(property.Value.GetString()!);
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
                    if ((property.NameEquals("Principal") || property.NameEquals("principal")) && IsEveryone(property.Value)) return true;
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
                    using var inner = JsonDocument.Parse(text);
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
internal static class FindingReader
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
