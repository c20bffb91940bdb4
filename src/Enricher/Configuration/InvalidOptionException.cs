using System.Text.RegularExpressions;

namespace Pipeline.Enricher.Configuration;

/// <summary>
/// An options object failed its start-up validation. The problem is written in the options' own property names,
/// in braces (<c>{Gap} (5m) must not be longer than {MaxWindow} (2m)</c>), so each host can say it in the names its
/// users know: the command line its flags (<c>--gap</c>), the Lambda its environment variables (<c>BURST_GAP</c>).
/// </summary>
public sealed partial class InvalidOptionException : ArgumentException
{
    public InvalidOptionException(string problem)
        : base(Describe(problem, static name => name))
    {
        Problem = problem;
    }

    /// <summary>The problem with property names in braces.</summary>
    public string Problem { get; }

    /// <summary>The properties the problem is about, in the order it names them.</summary>
    public IReadOnlyList<string> Properties => [.. PropertyName().Matches(Problem).Select(m => m.Groups[1].Value)];

    /// <summary>The problem in a host's words: each property name replaced by <paramref name="nameOf"/> of it.</summary>
    public string Describe(Func<string, string> nameOf) => Describe(Problem, nameOf);

    /// <summary>The problem in a host's words, from a table of its names; properties it does not know keep their own name.</summary>
    public string Describe(IReadOnlyDictionary<string, string> names) => Describe(name => names.TryGetValue(name, out var own) ? own : name);

    private static string Describe(string problem, Func<string, string> nameOf) =>
        PropertyName().Replace(problem, m => nameOf(m.Groups[1].Value));

    [GeneratedRegex(@"\{([A-Za-z][A-Za-z0-9]*)\}")]
    private static partial Regex PropertyName();
}
