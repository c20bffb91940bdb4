using System.CommandLine;
using Pipeline.Cli.Terminal;

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
            var resender = await SlackOptions.CreateResenderAsync(options, slack.OpenOutbox(parse), ct).ConfigureAwait(false);
            var summary = await resender.ResendAllAsync(ct).ConfigureAwait(false);
            Console.WriteLine(summary.ToString());
            return summary.Failed + summary.Unreadable > 0 ? ExitCode.DeliveryFailed : ExitCode.Ok;
        }));
        return new Command("outbox", "Digests that could not be delivered, kept for a later try.") { send };
    }
}
