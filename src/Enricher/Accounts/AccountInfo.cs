namespace Pipeline.Enricher.Model;

/// <summary>What the account directory knows about one account. Only <see cref="Name"/> is required.</summary>
public sealed record AccountInfo(string Id, string Name)
{
    /// <summary>ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED (as AWS Organizations says), or null when unknown.</summary>
    public string? State { get; init; }
    public string? Environment { get; init; }
    public string? Owner { get; init; }
    /// <summary>Slack channel this account's digests go to; null means the default channel.</summary>
    public string? SlackChannel { get; init; }
}
