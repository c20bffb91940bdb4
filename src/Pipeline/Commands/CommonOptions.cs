using System.CommandLine;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Cli.Hosting;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Enricher.Configuration;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Reading;

namespace Pipeline.Cli.Commands;

/// <summary>Options several commands share, defined once so their names, defaults and help read the same everywhere.</summary>
internal static class CommonOptions
{
    public static Option<string[]> Input() => new("--input", "-i")
    {
        Description = "Events to read: a file (JSON Lines of EventBridge events, a CloudTrail log file .json/.json.gz, a Lambda Kinesis event), a folder (every file in it), or '-' for stdin. Repeat for several.",
        Required = true,
        Arity = ArgumentArity.OneOrMore,
    };

    public static Option<string?> Accounts() => new("--accounts")
    {
        Description = "Account names: the JSON that `aws organizations list-accounts` prints, or a CSV id,name[,environment,owner,channel]. A file with no account in it stops the run.",
    };

    public static Option<string?> AccountsTable() => new("--accounts-table")
    {
        Description = "Account names from this DynamoDB table (see `pipeline accounts import`); with --endpoint/--region.",
    };

    /// <summary>The account directory a command asked for: a file, a DynamoDB table, or none.</summary>
    public static Enricher.Accounts.IAccountDirectory Directory(ParseResult parse, Option<string?>? file, Option<string?>? table, AwsOptions? aws)
    {
        var path = file is null ? null : parse.GetValue(file);
        var tableName = table is null ? null : parse.GetValue(table);
        if (path is not null && tableName is not null) throw new UsageException("give --accounts or --accounts-table, not both.");
        if (tableName is not null) return AccountsCommand.Directory(aws!.CreateDynamoDb(parse), tableName);
        if (path is not null) return Enricher.Accounts.FileAccountDirectory.Load(path, bad => Console.Error.WriteLine(Aggregator.Rendering.TextDigestRenderer.Clean($"warning: accounts file row skipped: {bad}")));
        return Enricher.Accounts.FileAccountDirectory.Empty;
    }

    public static Option<string?> Mute() => new("--mute")
    {
        Description = "Mute rules: a JSON file {\"rules\":[{\"name\":…,\"pattern\":{…EventBridge event pattern…}}]}. Muted events are counted, not digested.",
    };

    /// <summary>Loads a mute-rule file; a bad one stops the run naming the rule and the problem.</summary>
    public static MuteRuleSet? LoadMutes(string? path)
    {
        if (path is null) return null;
        try
        {
            return MuteRuleSet.Load(path);
        }
        catch (MuteRuleException e)
        {
            throw new InputException(e.Message, e);
        }
    }

    public static Option<string> Gap() => new("--gap")
    {
        Description = "A burst closes after this much quiet in its account (e.g. 30s, 2m, 5m).",
        DefaultValueFactory = _ => "2m",
    };

    public static Option<string> MaxWindow() => new("--max-window")
    {
        Description = "A burst closes after lasting this long, however busy (e.g. 15m, 1h).",
        DefaultValueFactory = _ => "15m",
    };

    public static Option<string> Lateness() => new("--lateness")
    {
        Description = "How late an event may arrive and still count at its own time; a quiet burst waits this long for late events (e.g. 0s, 5m, 10m).",
        DefaultValueFactory = _ => "5m",
    };

    public static Option<string> AlertSeverity() => new("--alert-severity")
    {
        Description = "Post risky events at or above this severity at once, as they arrive, besides their burst's digest: critical (root activity, logging or monitoring stopped, detectors disabled, leaving the organization), high, or off.",
        DefaultValueFactory = _ => "critical",
    };

    public static Option<int> RollupMinAccounts() => new("--rollup-min-accounts")
    {
        Description = "Post one roll-up for the same change by the same automated actor (StackSets, Control Tower, a CI role, an AWS service, a finding type) in at least this many accounts; 0 turns roll-ups off.",
        DefaultValueFactory = _ => new RollupOptions().MinAccounts,
    };

    public static Option<string> RollupWindow() => new("--rollup-window")
    {
        Description = "How far apart (on the events' own times) the same change may be in two accounts and still be one roll-up; digests with an automated actor wait about this long more before they are posted.",
        DefaultValueFactory = _ => Duration.Format(new RollupOptions().Window),
    };

    public static Option<string> SilenceAfter() => new("--silence-after")
    {
        Description = "Report an account and region whose events spanned at least this long and then stopped for this long while the rest of the organisation's events went on (a disabled forwarding rule, a deleted StackSet instance), and again when it is back; 0 turns the check off (e.g. 6h, 1d, 0). See docs/silence.md.",
        DefaultValueFactory = _ => Duration.Format(Aggregator.Silence.SilenceOptions.DefaultAfter),
    };

    /// <summary>critical | high | off → the alert threshold (null: no alerts).</summary>
    public static RiskSeverity? ParseSeverity(string text) => text.Trim().ToLowerInvariant() switch
    {
        "critical" => RiskSeverity.Critical,
        "high" => RiskSeverity.High,
        "off" or "none" => null,
        _ => throw new UsageException($"--alert-severity '{text}' is not one of: critical, high, off."),
    };

    /// <summary>The roll-up thresholds from --rollup-min-accounts and --rollup-window.</summary>
    public static RollupOptions Rollup(ParseResult parse, Option<int> minAccounts, Option<string> window) => new()
    {
        MinAccounts = parse.GetValue(minAccounts),
        Window = ParseDuration("--rollup-window", parse.GetValue(window)!),
    };

    public static Option<string> DedupeHorizon() => new("--dedupe-horizon")
    {
        Description = "How long (in event time) an event id is remembered to drop redeliveries.",
        DefaultValueFactory = _ => "1h",
    };

    public static Option<int> DedupeMaxIds() => new("--dedupe-max-ids")
    {
        Description = "Cap on remembered event ids; the oldest are forgotten first when it is reached (the run warns).",
        DefaultValueFactory = _ => new DedupeOptions().MaxEntries,
    };

    public static Option<OutputFormat> Format() => new("--format", "-f")
    {
        Description = "text: readable digests for a terminal. json: one JSON line per digest, then a summary line (see docs/digests.md, 'JSON output'). slack: the Slack message payload of each digest, one per line. html (digest, demo): one self-contained page showing every message as Slack would, the riskiest first, then the summary (redirect it to a file).",
        DefaultValueFactory = _ => OutputFormat.Text,
    };

    /// <summary>`--format` of a command that prints a table or JSON lines of its own (`tune`, `mute test`), not digests.</summary>
    public static Option<OutputFormat> TableFormat(string text, string json)
    {
        var option = new Option<OutputFormat>("--format", "-f")
        {
            Description = $"text: {text} json: {json}",
            DefaultValueFactory = _ => OutputFormat.Text,
        };
        option.HelpName = "text|json";
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<OutputFormat>() is not (OutputFormat.Text or OutputFormat.Json))
                result.AddError($"--format is text or json here (got '{result.Tokens.FirstOrDefault()?.Value}'): this command prints a table or JSON lines, not digests.");
        });
        return option;
    }

    public static Option<bool> NoProgress() => new("--no-progress")
    {
        Description = "Do not draw the progress bar (it is drawn on stderr only when stderr is a terminal).",
    };

    public static Option<bool> FailOnReject() => new("--fail-on-reject")
    {
        Description = "Exit with code 5 when any record was rejected (for CI checks of event files).",
    };

    /// <summary>The burst window from --gap and --max-window (validated later, with the other settings).</summary>
    public static BurstWindowOptions Window(ParseResult parse, Option<string> gap, Option<string> maxWindow, Option<string> lateness) => new()
    {
        Gap = ParseDuration("--gap", parse.GetValue(gap)!),
        MaxWindow = ParseDuration("--max-window", parse.GetValue(maxWindow)!),
        Lateness = ParseDuration("--lateness", parse.GetValue(lateness)!, allowZero: true),
    };

    /// <summary>Parses a duration option or throws a <see cref="UsageException"/> naming the option.</summary>
    public static TimeSpan ParseDuration(string optionName, string text, bool allowZero = false)
    {
        if (text.Trim() == "0") // zero needs no unit
            return allowZero ? TimeSpan.Zero : throw new UsageException($"{optionName} must be longer than 0 (got '{text}'): write it like 30s, 2m, 1h30m or 1d.");
        if (!Duration.TryParse(text, out var value))
            throw new UsageException(text.TrimStart().StartsWith('-')
                ? $"{optionName} '{text}' is negative: give a duration{(allowZero ? " of 0 or more" : " longer than 0")}, like 30s, 2m, 1h30m or 1d."
                : $"{optionName} '{text}' is not a duration: write it like 30s, 2m, 1h30m or 1d.");
        if (value == TimeSpan.Zero && !allowZero)
            throw new UsageException($"{optionName} must be longer than 0 (got '{text}'): write it like 30s, 2m, 1h30m or 1d.");
        return value;
    }

    /// <summary>The flag that sets each option of the core, so a validation message names what the user typed.</summary>
    public static readonly IReadOnlyDictionary<string, string> FlagOf = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(BurstWindowOptions.Gap)] = "--gap",
        [nameof(BurstWindowOptions.MaxWindow)] = "--max-window",
        [nameof(BurstWindowOptions.Lateness)] = "--lateness",
        [nameof(DedupeOptions.Horizon)] = "--dedupe-horizon",
        [nameof(RollupOptions.MinAccounts)] = "--rollup-min-accounts",
        [nameof(RollupOptions.Window)] = "--rollup-window",
        ["SilenceAfter"] = "--silence-after",
        [nameof(DedupeOptions.MaxEntries)] = "--dedupe-max-ids",
        // `run`: the local event source mapping's settings.
        [nameof(EventSourceMappingOptions.Stream)] = "--stream",
        [nameof(EventSourceMappingOptions.BatchSize)] = "--batch-size",
        [nameof(EventSourceMappingOptions.TumblingWindow)] = "--window",
    };

    /// <summary>Runs an options object's validation and says its problem in flag names (a usage error).</summary>
    public static void Validate(Action validate) => Validate(validate, FlagOf);

    /// <summary>The same, in the flag names of a command whose flags differ (`tune`'s lists).</summary>
    public static void Validate(Action validate, IReadOnlyDictionary<string, string> flags)
    {
        try
        {
            validate();
        }
        catch (InvalidOptionException e)
        {
            throw new UsageException(e.Describe(flags));
        }
    }
}

/// <summary>A command line that cannot work: the message says what to change. Exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
