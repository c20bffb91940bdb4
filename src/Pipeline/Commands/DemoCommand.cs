using System.CommandLine;
using System.Reflection;
using Pipeline.Aggregator.Bursts;
using Pipeline.Cli.Hosting;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Reading;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline demo`: replays the organisation stream shipped inside the binary (samples/demo) through the
/// same host as `digest`. No AWS account, no Slack, no files needed.
/// </summary>
internal static class DemoCommand
{
    private static readonly EmbeddedSample Events = new("demo/org-events.jsonl");
    private static readonly EmbeddedSample Accounts = new("demo/accounts.json");
    private static readonly EmbeddedSample MuteRules = new("demo/mute-rules.json");

    public static Command Create()
    {
        var window = new WindowOptions();
        var format = CommonOptions.Format();
        var slack = new SlackOptions();
        var accountsTable = CommonOptions.AccountsTable();
        var aws = new AwsOptions();
        var command = new Command("demo", "Replay a realistic day of a five-account organisation (Terraform apply, console session, a credential-theft-like sequence, findings, duplicates, a malformed line) and print the digests.")
        {
            window, format, accountsTable, aws, slack,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var settings = new DigestSettings
            {
                Window = window.Read(parse),
                Rollup = window.ReadRollup(parse),
                Silence = window.ReadSilence(parse),
                Format = parse.GetValue(format),
                Progress = false,
                Slack = slack.Read(parse),
                Outbox = parse.GetValue(slack.Outbox)!,
            };
            // Names come from the shipped accounts file, or from a table (e.g. one loaded with `accounts import samples/demo/accounts.json`).
            var directory = parse.GetValue(accountsTable) is null
                ? FileAccountDirectory.Parse(Accounts.Read(), Accounts.Path)
                : CommonOptions.Directory(parse, null, accountsTable, aws);
            var mutes = MuteRuleSet.Parse(MuteRules.Read(), MuteRules.Path);
            CommonOptions.Validate(settings.Window.Validate); // before the line below says what it replays with
            if (settings.Format == OutputFormat.Text)
                Console.WriteLine($"Replaying {Events.Path} with names from {parse.GetValue(accountsTable) ?? Accounts.Path} and mute rules from {MuteRules.Path} (gap {Duration.Format(settings.Window.Gap)}, max window {Duration.Format(settings.Window.MaxWindow)}).\n");
            return await DigestCommand.RunAsync(settings, directory, mutes,
                _ => RecordReader.ReadStream(new MemoryStream(Events.Read()), Events.Path, transient: true), null, ct).ConfigureAwait(false);
        }));
        return command;
    }
}

/// <summary>A file of samples/ built into the binary, read from the assembly and named by its path in the repository.</summary>
internal sealed record EmbeddedSample(string Resource)
{
    public string Path => "samples/" + Resource;

    public byte[] Read()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"embedded sample '{Resource}' is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
