namespace Pipeline.Slack.Rendering;

/// <summary>
/// Slack's Block Kit limits (checked against Slack's Block Kit reference; see shared/reference/aws-slack-facts.md).
/// Over any of them Slack answers <c>invalid_blocks</c> and the digest would not arrive, so the renderer enforces
/// them itself instead of trusting the digest to be small.
/// </summary>
internal static class SlackLimits
{
    public const int MaxBlocks = 50;
    public const int MaxSectionText = 3_000;
    public const int MaxFields = 10;
    public const int MaxFieldText = 2_000;
    public const int MaxHeaderText = 150;
    public const int MaxContextElements = 10;
    /// <summary>A context element's text is a text object (3,000 like any); we keep them much shorter.</summary>
    public const int MaxContextElementText = 3_000;
    public const int MaxBlockId = 255;
    /// <summary>Slack truncates a message's top-level <c>text</c> past 40,000 characters.</summary>
    public const int MaxMessageText = 40_000;
}
