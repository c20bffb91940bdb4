using System.CommandLine;
using Pipeline.Aggregator.Bursts;

namespace Pipeline.Cli.Commands;

/// <summary>--gap, --max-window and --lateness: the burst window of the commands that make digests (`digest`, `demo`, `run`).</summary>
internal sealed class WindowOptions : IOptionGroup
{
    public Option<string> Gap { get; } = CommonOptions.Gap();
    public Option<string> MaxWindow { get; } = CommonOptions.MaxWindow();
    public Option<string> Lateness { get; } = CommonOptions.Lateness();

    public IEnumerable<Option> Options => [Gap, MaxWindow, Lateness];

    /// <summary>The burst window (validated later, with the other settings).</summary>
    public BurstWindowOptions Read(ParseResult parse) => CommonOptions.Window(parse, Gap, MaxWindow, Lateness);
}
