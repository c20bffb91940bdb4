using System.CommandLine;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;

namespace Pipeline.Cli.Commands;

/// <summary>
/// --gap, --max-window, --lateness, --alert-severity, the roll-up thresholds and --silence-after: how the commands that make digests
/// (`digest`, `demo`, `run`) turn events into messages.
/// </summary>
internal sealed class WindowOptions : IOptionGroup
{
    public Option<string> Gap { get; } = CommonOptions.Gap();
    public Option<string> MaxWindow { get; } = CommonOptions.MaxWindow();
    public Option<string> Lateness { get; } = CommonOptions.Lateness();
    public Option<string> AlertSeverity { get; } = CommonOptions.AlertSeverity();
    public Option<int> RollupMinAccounts { get; } = CommonOptions.RollupMinAccounts();
    public Option<string> RollupWindow { get; } = CommonOptions.RollupWindow();
    public Option<string> SilenceAfter { get; } = CommonOptions.SilenceAfter();

    public IEnumerable<Option> Options => [Gap, MaxWindow, Lateness, AlertSeverity, RollupMinAccounts, RollupWindow, SilenceAfter];

    /// <summary>The burst window and the alert severity (validated later, with the other settings).</summary>
    public BurstWindowOptions Read(ParseResult parse) =>
        CommonOptions.Window(parse, Gap, MaxWindow, Lateness) with { AlertSeverity = CommonOptions.ParseSeverity(parse.GetValue(AlertSeverity)!) };

    /// <summary>The roll-up thresholds (validated later).</summary>
    public RollupOptions ReadRollup(ParseResult parse) => CommonOptions.Rollup(parse, RollupMinAccounts, RollupWindow);

    /// <summary>The silence check (validated later).</summary>
    public SilenceOptions ReadSilence(ParseResult parse) => new() { After = CommonOptions.ParseDuration("--silence-after", parse.GetValue(SilenceAfter)!, allowZero: true) };
}
