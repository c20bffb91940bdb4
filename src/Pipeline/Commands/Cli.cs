using System.CommandLine;
using System.Runtime.InteropServices;
using Pipeline.Aggregator.Rendering;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Reading;

namespace Pipeline.Cli.Commands;

/// <summary>The root command and the one place that turns exceptions into messages and exit codes.</summary>
internal static class Cli
{
    public static RootCommand CreateRoot() => new("Per-account digests of an AWS Organization's activity, for Slack and the terminal.")
    {
        DigestCommand.Create(),
        DemoCommand.Create(),
        MuteCommand.Create(),
        TuneCommand.Create(),
        OutboxCommand.Create(),
        AccountsCommand.Create(),
        PutCommand.Create(),
        RunCommand.Create(),
        DoctorCommand.Create(),
    };

    /// <summary>Set by Ctrl-C or SIGTERM, so a timeout's cancellation is never mistaken for the user stopping the run.</summary>
    private static volatile bool Interrupted;

    public static async Task<int> RunAsync(string[] args)
    {
        var root = CreateRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) await Console.Error.WriteLineAsync("error: " + error.Message).ConfigureAwait(false);
            await Console.Error.WriteLineAsync(HelpHint(parse)).ConfigureAwait(false);
            return (int)ExitCode.UsageError;
        }
        using var cancel = new CancellationTokenSource();
        // Ctrl-C (SIGINT) or SIGTERM lets the command stop cleanly and say so (`digest` parks what it has, `run` saves its
        // checkpoints); a second signal ends the process at once.
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = !Interrupted;
            Interrupted = true;
            cancel.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        // No termination handling of System.CommandLine's own: after 2 s it would end the process under a command still
        // parking its digests. The handlers above are the only ones.
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, cancel.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Where the options are: <c>Run 'pipeline mute test --help' for the options.</c>, with the command's whole path
    /// (a subcommand's own name alone, <c>pipeline test</c>, is no command).
    /// </summary>
    internal static string HelpHint(ParseResult parse)
    {
        var names = new List<string>();
        for (var command = parse.CommandResult; command.Parent is System.CommandLine.Parsing.CommandResult parent; command = parent) names.Add(command.Command.Name);
        names.Add("pipeline");
        names.Reverse();
        return $"Run '{string.Join(' ', names)} --help' for the options.";
    }

    /// <summary>Runs a command body; known failures become a one-line message and their exit code, never a stack trace.</summary>
    public static async Task<int> Guard(ParseResult parse, Func<Task<ExitCode>> body) => (int)await Guarded(parse, body).ConfigureAwait(false);

    private static async Task<ExitCode> Guarded(ParseResult parse, Func<Task<ExitCode>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            // The message may quote what a service or a file said: cleaned, as an input error's is.
            await Console.Error.WriteLineAsync($"error: {TextDigestRenderer.Clean(e.Message)}\n{HelpHint(parse)}").ConfigureAwait(false);
            return ExitCode.UsageError;
        }
        catch (InputException e)
        {
            // The message may quote a file name or a record: cleaned, it cannot fake lines or move the cursor.
            await Console.Error.WriteLineAsync("error: " + TextDigestRenderer.Clean(e.Message)).ConfigureAwait(false);
            return ExitCode.InputError;
        }
        catch (ServiceUnavailableException e)
        {
            await Console.Error.WriteLineAsync("error: " + TextDigestRenderer.Clean(e.Message)).ConfigureAwait(false);
            return ExitCode.ServiceUnavailable;
        }
        catch (OperationCanceledException) when (Interrupted)
        {
            await Console.Error.WriteLineAsync("stopped (Ctrl-C).").ConfigureAwait(false);
            return ExitCode.Interrupted;
        }
        catch (StaleCheckpointException e)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
            return ExitCode.StaleCheckpoint;
        }
        catch (Exception e)
        {
            // The last resort: whatever a command did not foresee still ends in one line and a documented code.
            await Console.Error.WriteLineAsync(UnexpectedFailure.Describe(e)).ConfigureAwait(false);
            if (Environment.GetEnvironmentVariable(UnexpectedFailure.DebugVariable) == "1") await Console.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
            return ExitCode.UnexpectedFailure;
        }
    }
}
