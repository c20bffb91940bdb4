using System.CommandLine;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Reading;
using Pipeline.Slack.Outbox;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline outbox send`: deliver the digests that Slack did not accept earlier, oldest first.</summary>
internal static class OutboxCommand
{
    public static Command Create()
    {
        var slack = new SlackOptions(resend: true);
        var send = new Command("send", "Resend every digest in the outbox with the same retries and pacing; each is deleted only once Slack accepts it.") { slack };
        send.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var options = slack.Read(parse) ?? throw new UsageException("give --slack-webhook or --slack-token (with --slack-channel) to say where to resend.");
            var outboxPath = parse.GetValue(slack.Outbox)!;
            if (!Directory.Exists(outboxPath))
            {
                Console.WriteLine($"outbox '{outboxPath}' does not exist: nothing to send.");
                return ExitCode.Ok;
            }
            var outbox = slack.OpenOutbox(parse);
            var resender = await SlackOptions.CreateResenderAsync(options, outbox, ct).ConfigureAwait(false);
            ResendSummary summary;
            try
            {
                summary = await resender.ResendAllAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"cannot use the outbox folder '{outbox.Directory}' ({e.Message}): check that this user can read, write and rename files in it, then run `pipeline outbox send` again.", e);
            }
            return Report(summary, outbox);
        }));
        return new Command("outbox", "Digests that could not be delivered, kept for a later try.") { send };
    }

    /// <summary>
    /// The summary line, what is left, and the exit code: Ctrl-C 130; an invalid entry 3 (a person has to look at
    /// rejected/); a digest Slack still refuses 4.
    /// </summary>
    private static ExitCode Report(ResendSummary summary, FolderOutbox outbox)
    {
        int waiting = outbox.CountWaiting();
        string left = waiting == 0 ? "the outbox is empty" : $"{waiting} left in the outbox for the next `pipeline outbox send`";
        if (summary.Interrupted)
        {
            Console.WriteLine($"stopped (Ctrl-C): {summary}; {left}.");
            return ExitCode.Interrupted;
        }
        Console.WriteLine($"{summary}; {left}.");
        if (summary.Unreadable > 0)
        {
            Console.Error.WriteLine($"error: {summary.Unreadable} outbox entr{(summary.Unreadable == 1 ? "y was" : "ies were")} not valid (see above) and not sent; "
                + $"{outbox.CountRejected()} wait in {Path.Combine(outbox.Directory, FolderOutbox.RejectedFolder)}: repair and move them back, or delete them.");
            return ExitCode.InputError;
        }
        return summary.Failed > 0 ? ExitCode.DeliveryFailed : ExitCode.Ok;
    }
}
