using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Rollups;

/// <summary>
/// Who made a change, without the account and without the session: what lets the same change be recognised in many
/// accounts. Automation has one (a role name such as <c>stacksets-exec-…</c> or <c>AWSControlTowerExecution</c>, an
/// AWS service, a finding type); people have none, so a person's calls are never rolled up into anything.
/// </summary>
public static class ChangeActor
{
    public const string RolePrefix = "role/";
    public const string ServicePrefix = "service/";
    public const string FindingPrefix = "finding/";

    /// <summary>The kind and name of the actor, without allocating (called per event); false for people and for events with no actor.</summary>
    public static bool TryGet(OrgEvent evt, out ActorKind kind, out string name)
    {
        if (evt.Finding is { } finding)
        {
            kind = ActorKind.Finding;
            name = finding.Type ?? finding.Title;
            return true;
        }
        kind = default;
        name = "";
        if (evt.CloudTrail is not { } ct) return false;
        var identity = ct.Identity;
        switch (identity.Type)
        {
            case "AssumedRole":
                var role = identity.SessionIssuerUserName ?? RoleFromArn(identity.Arn);
                // Identity Center sessions are people, whatever the role they arrive through.
                if (role is null || role.StartsWith("AWSReservedSSO_", StringComparison.Ordinal)) return false;
                kind = ActorKind.Role;
                name = role;
                return true;
            case "AWSService":
                kind = ActorKind.Service;
                name = identity.InvokedBy ?? "unknown";
                return true;
            default:
                return false; // root, IAM users, Identity Center users, federated users: people
        }
    }

    /// <summary>The actor key as JSON and the roll-up show it: <c>role/NAME</c>, <c>service/NAME</c>, <c>finding/TYPE</c>.</summary>
    public static string Key(ActorKind kind, string name) => kind switch
    {
        ActorKind.Role => RolePrefix + name,
        ActorKind.Service => ServicePrefix + name,
        _ => FindingPrefix + name,
    };

    /// <summary>The key of <paramref name="evt"/>'s actor, or null for a person.</summary>
    public static string? KeyOf(OrgEvent evt) => TryGet(evt, out var kind, out var name) ? Key(kind, name) : null;

    private static string? RoleFromArn(string? arn)
    {
        // arn:aws:sts::123456789012:assumed-role/RoleName/session
        if (arn is null) return null;
        int first = arn.IndexOf('/', StringComparison.Ordinal);
        if (first < 0) return null;
        int second = arn.IndexOf('/', first + 1);
        return second > first ? arn[(first + 1)..second] : arn[(first + 1)..];
    }
}

public enum ActorKind : byte
{
    Role = 1,
    Service = 2,
    Finding = 3,
}
