using System.CommandLine;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Processing;
using Pipeline.Cli.Hosting;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Reading;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline digest`: files in, digests out. Also the engine behind `pipeline demo`.</summary>
internal static class DigestCommand
{
    public static Command Create()
    {
        var input = CommonOptions.Input();
        var aws = new AwsOptions();
        var names = new AccountNameOptions(aws);
        var mute = CommonOptions.Mute();
        var window = new WindowOptions();
        var horizon = CommonOptions.DedupeHorizon();
        var maxIds = CommonOptions.DedupeMaxIds();
        var format = CommonOptions.Format();
        var noProgress = CommonOptions.NoProgress();
        var failOnReject = CommonOptions.FailOnReject();
        var slack = new SlackOptions();

        var command = new Command("digest", "Read organisation events from files and print one digest per burst of each account's activity.")
        {
            input, names, mute, window, horizon, maxIds, format, noProgress, failOnReject, aws, slack,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var settings = new DigestSettings
            {
                Window = window.Read(parse),
                Rollup = window.ReadRollup(parse),
                Silence = window.ReadSilence(parse),
                Dedupe = new DedupeOptions
                {
                    Horizon = CommonOptions.ParseDuration("--dedupe-horizon", parse.GetValue(horizon)!),
                    MaxEntries = parse.GetValue(maxIds),
                },
                Format = parse.GetValue(format),
                Progress = !parse.GetValue(noProgress),
                FailOnReject = parse.GetValue(failOnReject),
                Slack = slack.Read(parse),
                Outbox = parse.GetValue(slack.Outbox)!,
            };
            var inputs = InputFiles.Resolve(parse.GetValue(input)!, Console.Error);
            var directory = names.Directory(parse);
            var mutes = CommonOptions.LoadMutes(parse.GetValue(mute));
            // stdin or a FIFO can block for good on a quiet producer: read those on their own task so that Ctrl-C still ends
            // the input (each record then its own copy); files never block, and their records share one buffer.
            return await RunAsync(settings, directory, mutes, progress => inputs.MayBlock
                ? StoppableReading.Until(RecordReader.ReadFiles(inputs.Files, progress), ct)
                : RecordReader.ReadFiles(inputs.Files, progress, transient: true), inputs.TotalBytes, ct).ConfigureAwait(false);
        }));
        return command;
    }

    /// <summary>Runs the file host with validated settings and maps the outcome to an exit code.</summary>
    public static async Task<ExitCode> RunAsync(
        DigestSettings settings,
        IAccountDirectory directory,
        IMuteRules? mutes,
        Func<IProgress<long>?, IEnumerable<RawRecord>> records,
        long? totalBytes,
        CancellationToken cancellationToken)
    {
        settings.Validate();
        using var progress = ProgressBar.StartIfUseful(totalBytes, "reading", settings.Progress);
        // The records are read on a task of their own (ParseAhead): the bar is drawn by the host between notices.
        var relay = progress is null ? null : new ProgressRelay(progress);
        var options = new FileDigestOptions
        {
            Core = new DigestCoreOptions { Window = settings.Window, Rollup = settings.Rollup, Silence = settings.Silence, Enricher = new EnricherOptions { Dedupe = settings.Dedupe } },
            Format = settings.Format,
            AfterBatch = relay is null ? null : relay.Draw,
        };
        var sink = settings.Slack is { } slack
            ? await SlackOptions.CreateSinkAsync(slack, new FolderOutbox(settings.Outbox), cancellationToken, parkWhenCancelled: true).ConfigureAwait(false)
            : null;
        // Not Console.Out, which writes through every 256 characters: the host flushes this one once per batch.
        var stdout = Stdout.OpenBuffered();
        var host = new FileDigestHost(options, directory, mutes, stdout, new ProgressAwareWriter(Console.Error, progress), sink);
        RunSummary summary;
        try
        {
            summary = await host.RunAsync(records(relay), cancellationToken).ConfigureAwait(false);
        }
        catch (DeliveryFailedException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message.TrimEnd('.')}. Check that --outbox is writable, then run again.").ConfigureAwait(false);
            return ExitCode.DeliveryFailed;
        }
        finally
        {
            // What a stopped run printed before it stopped. (With Slack each notice is flushed as it is printed, so the
            // digests posted before a delivery failure are out already.)
            await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        if (!summary.Balanced)
        {
            await Console.Error.WriteLineAsync("error: the run's counts do not add up (received ≠ rejected + duplicates + muted + digested). This is a bug; please report it with the input.").ConfigureAwait(false);
            return ExitCode.InternalError;
        }
        if (cancellationToken.IsCancellationRequested)
        {
            // The host stopped reading at Ctrl-C and closed every open burst: the summary above covers what was read.
            await Console.Error.WriteLineAsync($"stopped (Ctrl-C): reading stopped after {summary.Received} records and the open bursts were closed early" +
                (settings.Slack is null ? "." : $"; the digests not yet posted are in the outbox ({settings.Outbox}): send them with `pipeline outbox send`.") +
                " A rerun of the same input makes every digest again (digest keeps no record of what it posted).").ConfigureAwait(false);
            return ExitCode.Interrupted;
        }
        if (summary.Outboxed > 0) return ExitCode.DeliveryFailed;
        return settings.FailOnReject && summary.Rejected > 0 ? ExitCode.RecordsRejected : ExitCode.Ok;
    }
}

/// <summary>The validated settings of a digest run, whichever command assembled them.</summary>
internal sealed record DigestSettings
{
    public required BurstWindowOptions Window { get; init; }
    public RollupOptions Rollup { get; init; } = new();
    public Aggregator.Silence.SilenceOptions Silence { get; init; } = new();
    public DedupeOptions Dedupe { get; init; } = new();
    public OutputFormat Format { get; init; } = OutputFormat.Text;
    public bool Progress { get; init; } = true;
    public bool FailOnReject { get; init; }
    /// <summary>Where digests go besides stdout; null prints only.</summary>
    public SlackDeliveryOptions? Slack { get; init; }
    public string Outbox { get; init; } = "pipeline-outbox";

    public void Validate()
    {
        CommonOptions.Validate(() =>
        {
            Window.Validate();
            Rollup.Validate();
            Silence.Validate();
            Dedupe.Validate();
        });
    }
}

/// <summary>Clears the progress bar's line before a message, so messages and the bar do not overwrite each other.</summary>
internal sealed class ProgressAwareWriter(TextWriter inner, ProgressBar? bar) : TextWriter
{
    public override System.Text.Encoding Encoding => inner.Encoding;

    public override void WriteLine(string? value)
    {
        if (bar is not null) inner.Write("\r\u001b[K");
        inner.WriteLine(value);
    }

    public override void Write(char value) => inner.Write(value);
}
