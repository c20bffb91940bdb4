using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Rollups;

/// <summary>
/// Who made a change, without the account and without the session (<see cref="UserIdentity.ActorKey"/>, plus finding
/// types): what lets the same change be recognised in many accounts. Automation has one (a role name such as
/// <c>stacksets-exec-…</c> or <c>AWSControlTowerExecution</c>, an AWS service, a finding type); people have none
/// (<see cref="UserIdentity.IsPerson"/>), so a person's calls are never rolled up into anything.
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
        // The same rules as UserIdentity.ActorKey, without building the key string for every event.
        if (evt.CloudTrail is not { } ct || ct.Identity.IsPerson) return false;
        var identity = ct.Identity;
        switch (identity.Type)
        {
            case "AssumedRole" when identity.RoleName is { } role:
                kind = ActorKind.Role;
                name = role;
                return true;
            case "AWSService" when identity.InvokedBy is { } service:
                kind = ActorKind.Service;
                name = service;
                return true;
            case "AWSAccount" when (identity.AccountId ?? identity.PrincipalId) is { } account:
                kind = ActorKind.Account;
                name = account;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The actor key as JSON and the roll-up show it: <c>role/NAME</c>, <c>service/NAME</c>, <c>finding/TYPE</c>.</summary>
    public static string Key(ActorKind kind, string name) => kind switch
    {
        ActorKind.Role => RolePrefix + name,
        ActorKind.Service => ServicePrefix + name,
        ActorKind.Account => "account/" + name,
        _ => FindingPrefix + name,
    };

    /// <summary>The key of <paramref name="evt"/>'s actor, or null for a person.</summary>
    public static string? KeyOf(OrgEvent evt) => TryGet(evt, out var kind, out var name) ? Key(kind, name) : null;
}

public enum ActorKind : byte
{
    Role = 1,
    Service = 2,
    Finding = 3,
    /// <summary>Another account acting (a cross-account call): the calling account, the same in every target.</summary>
    Account = 4,
}
