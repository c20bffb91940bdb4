namespace Pipeline.Aggregator.Notices;

/// <summary>
/// One message the pipeline may post: a burst's <see cref="Bursts.Digest"/>, an organisation-wide
/// <see cref="Rollups.Rollup"/>, or an immediate <see cref="Alerts.Alert"/>. Every kind has a deterministic id, so the
/// ledger refuses to post the same one twice, whichever host, retry or shard produced it.
/// </summary>
public abstract record Notice
{
    /// <summary>The ledger's key: the same notice always gets the same id.</summary>
    public abstract string NoticeId { get; }

    /// <summary>The notice's kind as the JSON contract names it: <c>digest</c>, <c>rollup</c>, <c>alert</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>
    /// True when the notice becomes a Slack message of its own. A digest whose events a roll-up fully explains is
    /// written to the JSON stream (with its <c>rollupId</c>) but not posted.
    /// </summary>
    public virtual bool Posted => true;
}
