using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Rollups;

/// <summary>
/// One organisation-level message for one change made in many accounts by the same automated actor (a StackSet
/// execution role, Control Tower, one CI role, an AWS service) or reported as the same finding type. Made of the
/// actor's shares of the accounts' bursts; what else happened in those accounts stays in their own digests.
/// </summary>
public sealed record Rollup : Notice
{
    /// <summary>Deterministic: the actor and the ids of the digests it folds.</summary>
    public required string RollupId { get; init; }
    /// <summary><c>role/NAME</c>, <c>service/NAME</c> or <c>finding/TYPE</c> (<see cref="ChangeActor"/>).</summary>
    public required string ActorKey { get; init; }
    /// <summary>The accounts, with their share: named first (by name), then by id.</summary>
    public required IReadOnlyList<RollupAccount> Accounts { get; init; }
    public required DateTimeOffset FirstEventTime { get; init; }
    public required DateTimeOffset LastEventTime { get; init; }
    public required int EventCount { get; init; }
    public required int ErrorCount { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> EventNames { get; init; }
    /// <summary>The principals as the accounts' digests show them (sessions differ by account).</summary>
    public required IReadOnlyList<KeyValuePair<string, int>> Principals { get; init; }
    public required IReadOnlyList<KeyValuePair<string, int>> Regions { get; init; }
    /// <summary>What failed and where: each failing call with the accounts that refused it.</summary>
    public required IReadOnlyList<RollupFailure> Failures { get; init; }
    /// <summary>The risky calls, most severe first, with how many accounts saw each.</summary>
    public required IReadOnlyList<RollupRisk> Risky { get; init; }
    public required int RiskyCount { get; init; }
    /// <summary>When the roll-up was decided, on the host's processing clock: when a live host posts it.</summary>
    public required DateTimeOffset ClosedAt { get; init; }

    /// <summary>Who made the change as a reader knows it: the one principal name all accounts show (e.g. <c>StackSets: stacksets-exec-…</c>), else the actor key.</summary>
    public string ActorShown => Principals.Count == 1 ? Principals[0].Key : ActorKey;

    /// <summary>An account of the roll-up by its name when the directory knows one, else its id.</summary>
    public string NameOf(string account) =>
        Accounts.FirstOrDefault(a => a.Account == account)?.AccountName ?? account;

    public override string NoticeId => RollupId;
    public override string Kind => "rollup";
}

/// <summary>One account of a roll-up: its digest and how many of that digest's events the roll-up holds.</summary>
public sealed record RollupAccount(string Account, AccountInfo? AccountInfo, string DigestId, int EventCount)
{
    public string? AccountName => AccountInfo?.Name;
}

/// <summary>A call that failed in some accounts of a roll-up ("2 accounts refused PutRolePolicy: AccessDenied").</summary>
public sealed record RollupFailure(string EventName, string ErrorCode, string? ErrorMessage, IReadOnlyList<string> Accounts, int Count);

/// <summary>A risky call of a roll-up, with the accounts that saw it.</summary>
public sealed record RollupRisk(string EventName, string Reason, RiskSeverity Severity, IReadOnlyList<string> Accounts, int Count, string? Target);
