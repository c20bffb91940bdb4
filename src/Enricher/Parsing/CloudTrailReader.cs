using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Parsing;

/// <summary>Reads the CloudTrail record fields a digest needs from a scanned record; everything else stays in the bytes.</summary>
/// <remarks>
/// Values that repeat across events (names, sources, regions, identities, user agents) go through
/// <see cref="StringCache.Shared"/>, error messages (long, repeated by retries) through <see cref="StringCache.Messages"/>;
/// ids, unique per event, through neither.
/// </remarks>
internal static class CloudTrailReader
{
    /// <summary>Reads a record scanned into <paramref name="fields"/>; <paramref name="eventId"/> is its <c>eventID</c>, usually read already for the envelope.</summary>
    public static CloudTrailDetail Read(ReadOnlySpan<byte> json, in RecordFields fields, EventIdValue eventId)
    {
        var cache = StringCache.Shared;
        var eventName = fields.EventName.Text(json, cache) ?? "(no eventName)";
        RequestReader.Facts request = default;
        if (fields.RequestParameters.IsObject)
            request = RequestReader.Read(json, fields.RequestParameters, fields.RequestTop, MayCarryPolicy(eventName), cache);
        return new CloudTrailDetail
        {
            EventName = eventName,
            EventSource = fields.EventSource.Text(json, cache) ?? "unknown",
            EventIdValue = eventId,
            EventType = fields.EventType.Text(json, cache),
            Identity = ReadIdentity(json, fields, cache),
            SourceIpAddress = fields.SourceIpAddress.Text(json, cache),
            UserAgent = fields.UserAgent.Text(json, cache),
            ErrorCode = fields.ErrorCode.Text(json, cache),
            ErrorMessage = fields.ErrorMessage.Text(json, StringCache.Messages),
            ReadOnly = fields.ReadOnly.Bool(json),
            SharedEventId = fields.SharedEventId.Text(json),
            Target = request.Target,
            Facts = ReadFacts(json, fields, request, cache),
        };
    }

    private static UserIdentity ReadIdentity(ReadOnlySpan<byte> json, in RecordFields fields, StringCache cache)
    {
        if (!fields.UserIdentity.IsObject) return UserIdentity.Unknown;
        var bytes = fields.UserIdentity.Raw(json);
        if (IdentityCache.Shared.TryGet(bytes, out var known, out var hash)) return known;
        var identity = RecordScanner.ReadIdentity(json, fields.UserIdentity);
        var read = new UserIdentity
        {
            Type = identity.Type.Text(json, cache),
            Arn = identity.Arn.Text(json, cache),
            PrincipalId = identity.PrincipalId.Text(json, cache),
            AccountId = identity.AccountId.Text(json, cache),
            UserName = identity.UserName.Text(json, cache),
            InvokedBy = identity.InvokedBy.Text(json, cache),
            OnBehalfOfUserId = identity.OnBehalfOfUserId.Text(json, cache),
            // Temporary keys are unique per session: not worth a cache slot.
            AccessKeyId = identity.AccessKeyId.Text(json),
            SessionIssuerArn = identity.IssuerArn.Text(json, cache),
            SessionIssuerUserName = identity.IssuerUserName.Text(json, cache),
            MfaAuthenticated = identity.MfaAuthenticated.Bool(json),
        };
        IdentityCache.Shared.Add(bytes, hash, read);
        return read;
    }

    private static RiskFacts ReadFacts(ReadOnlySpan<byte> json, in RecordFields fields, RequestReader.Facts request, StringCache cache)
    {
        var mfaUsed = fields.MfaUsed.Text(json, cache);
        var login = fields.ConsoleLogin.Text(json, cache);
        if (request.Ranges is null && mfaUsed is null && login is null && !request.GrantsToEveryone) return RiskFacts.None;
        return new RiskFacts
        {
            IngressRanges = request.Ranges ?? [],
            MfaUsed = mfaUsed,
            ConsoleLoginResult = login,
            GrantsToEveryone = request.GrantsToEveryone,
        };
    }

    /// <summary>Calls that may carry a resource policy: only their requests are searched for a grant to everyone.</summary>
    private static bool MayCarryPolicy(string eventName) =>
        eventName.Contains("Policy", StringComparison.Ordinal) ||
        eventName.Contains("Permission", StringComparison.Ordinal) ||
        eventName.EndsWith("Attributes", StringComparison.Ordinal);
}

/// <summary>Title and severity of GuardDuty and Security Hub findings, the two finding shapes the digests name.</summary>
internal static class FindingReader
{
    public static FindingDetail? Read(ReadOnlySpan<byte> json, string detailType, in RecordFields detail, bool detailIsObject)
    {
        if (!detailIsObject) return null;
        if (detailType == "GuardDuty Finding")
            return new FindingDetail(detail.Title.Text(json) ?? detail.Type.Text(json) ?? "GuardDuty finding", detail.Severity.Number(json), detail.Type.Text(json));

        if (detailType.StartsWith("Security Hub Findings", StringComparison.Ordinal) && detail.FirstFinding.Present)
        {
            ref readonly var first = ref detail.FirstFinding;
            // Security Hub's 0–100 scale, brought to GuardDuty's 0–10 so one threshold serves both.
            double? normalized = first.SeverityNormalized.Number(json) is double n ? n / 10.0 : LabelSeverity(first.SeverityLabel.Text(json));
            return new FindingDetail(first.Title.Text(json) ?? "Security Hub finding", normalized, first.GeneratorId.Text(json));
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
