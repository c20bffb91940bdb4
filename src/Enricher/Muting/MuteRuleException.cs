namespace Pipeline.Enricher.Muting;

/// <summary>
/// A mute-rule file that EventBridge would reject, or that cannot be read. The message names the file,
/// the rule (by name, or by position when it has none), the place in the pattern, and what is wrong.
/// </summary>
public sealed class MuteRuleException : Exception
{
    public MuteRuleException() { }

    public MuteRuleException(string message) : base(message) { }

    public MuteRuleException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>What is wrong with one pattern, before it is placed in its file and rule.</summary>
internal sealed class PatternException(string message) : Exception(message)
{
    /// <summary>Where in the pattern, e.g. <c>detail.userIdentity.arn</c>; empty at the top.</summary>
    public string Location { get; init; } = "";
}
