using Pipeline.Aggregator.Notices;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Silence;

/// <summary>Whether a silence notice says an account-region went quiet or that its events came back.</summary>
public enum SilenceState
{
    /// <summary>No event for longer than <see cref="SilenceOptions.After"/> while the organisation's events moved on.</summary>
    Silent,
    /// <summary>Events again after a silence that was reported.</summary>
    Back,
}

/// <summary>
/// An account-region that went silent, or came back after a reported silence. Not an event: it changes no count of the
/// conservation identity. Its id depends only on the account, the region, the state and the last event time before
/// the silence, so every host and every retry makes the same id, and the ledger posts it once.
/// </summary>
public sealed record SilenceNotice : Notice
{
    public required SilenceState State { get; init; }
    public required string Account { get; init; }
    public required AccountInfo? AccountInfo { get; init; }
    /// <summary>The region as its events named it: caller-controlled text (a forged event may say anything), escaped wherever it is shown.</summary>
    public required string Region { get; init; }
    /// <summary>The time of the last event before the silence (the silence's start).</summary>
    public required DateTimeOffset LastEventTime { get; init; }
    /// <summary>Events the account-region had sent when the notice was made.</summary>
    public required long EventCount { get; init; }
    /// <summary>
    /// <see cref="SilenceState.Silent"/>: the organisation's newest event time when the silence was noticed (how long it
    /// had lasted then depends on when a host looked). <see cref="SilenceState.Back"/>: the time of the first event after it.
    /// </summary>
    public required DateTimeOffset ObservedAt { get; init; }

    public string? AccountName => AccountInfo?.Name;

    /// <summary>How long the account-region had been quiet when the notice was made.</summary>
    public TimeSpan SilentFor => ObservedAt - LastEventTime;

    public override string NoticeId => IdFor(State, Account, Region, LastEventTime);
    public override string Kind => "silence";

    public static string IdFor(SilenceState state, string account, string region, DateTimeOffset lastEventTime) =>
        NoticeIds.Of($"silence|{(state == SilenceState.Silent ? "silent" : "back")}|{account}|{region}|{lastEventTime.UtcTicks}");
}
