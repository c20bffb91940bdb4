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
    internal const string EventsResource = "demo/org-events.jsonl";
    internal const string AccountsResource = "demo/accounts.json";
    internal const string MuteResource = "demo/mute-rules.json";

    public static Command Create()
    {
        var gap = CommonOptions.Gap();
        var maxWindow = CommonOptions.MaxWindow();
        var format = CommonOptions.Format();
        var slack = new SlackOptions();
        var accountsTable = CommonOptions.AccountsTable();
        var aws = new AwsOptions();
        var command = new Command("demo", "Replay a realistic day of a five-account organisation (Terraform apply, console session, a credential-theft-like sequence, findings, duplicates, a malformed line) and print the digests.")
        {
            gap, maxWindow, format, accountsTable,
        };
        aws.AddTo(command);
        slack.AddTo(command);
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var settings = new DigestSettings
            {
                Window = CommonOptions.Window(parse, gap, maxWindow),
                Format = parse.GetValue(format),
                Progress = false,
                Slack = slack.Read(parse),
                Outbox = parse.GetValue(slack.Outbox)!,
            };
            // Names come from the shipped accounts file, or from a table (e.g. one loaded with `accounts import samples/demo/accounts.json`).
            var directory = parse.GetValue(accountsTable) is null
                ? FileAccountDirectory.Parse(ReadResource(AccountsResource), "samples/" + AccountsResource)
                : CommonOptions.Directory(parse, null, accountsTable, aws);
            var mutes = MuteRuleSet.Parse(ReadResource(MuteResource), "samples/" + MuteResource);
            if (settings.Format == OutputFormat.Text)
                Console.WriteLine($"Replaying samples/{EventsResource} with names from {parse.GetValue(accountsTable) ?? "samples/" + AccountsResource} and mute rules from samples/{MuteResource} (gap {Duration.Format(settings.Window.Gap)}, max window {Duration.Format(settings.Window.MaxWindow)}).\n");
            return await DigestCommand.RunAsync(settings, directory, mutes,
                _ => RecordReader.ReadStream(new MemoryStream(ReadResource(EventsResource)), "samples/" + EventsResource), null, ct).ConfigureAwait(false);
        }));
        return command;
    }

    internal static byte[] ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded sample '{name}' is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
