namespace Pipeline.Slack.Rendering;

/// <summary>How much of a digest the Slack message shows. Counts are always complete; these cap the lists.</summary>
public sealed record SlackRenderOptions
{
    public static readonly SlackRenderOptions Default = new();

    /// <summary>Entries per top list (actions, principals, regions, sources …). Default 5; 1–20.</summary>
    public int TopN { get; init; } = 5;

    /// <summary>Risky events listed one per line. Default 10; 1–20.</summary>
    public int MaxRiskyShown { get; init; } = 10;

    /// <summary>Kinds of failed call listed with their error message. Default 5; 0–10.</summary>
    public int MaxFailuresShown { get; init; } = 5;

    /// <summary>CloudTrail Event history links (one per region, regions with risky events first). Default 3; 0–5.</summary>
    public int MaxConsoleLinks { get; init; } = 3;

    /// <summary>Throws with a message naming the option and its range: the ranges keep every message within Slack's limits.</summary>
    public SlackRenderOptions Validate()
    {
        Check(nameof(TopN), TopN, 1, 20);
        Check(nameof(MaxRiskyShown), MaxRiskyShown, 1, 20);
        Check(nameof(MaxFailuresShown), MaxFailuresShown, 0, 10);
        Check(nameof(MaxConsoleLinks), MaxConsoleLinks, 0, 5);
        return this;
    }

    private static void Check(string name, int value, int min, int max)
    {
        if (value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"Slack rendering option {name} must be between {min} and {max}; it is {value}.");
    }
}
