using System.CommandLine;
using Amazon.Runtime;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rendering;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Cli.Hosting;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Enrichment;
using Pipeline.Kinesis;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Ledger;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Threads;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline run`: consume a Kinesis stream locally with the Lambda's own handler, windows and state, checkpointing
/// every shard so a killed run resumes exactly where it stood.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var stream = new Option<string>("--stream") { Description = "The Kinesis stream to read.", Required = true };
        var checkpointFile = new Option<string?>("--checkpoint-file") { Description = "Keep shard checkpoints (and the digest ledger, PATH.ledger) in this file. Default: pipeline-checkpoints/STREAM.json." };
        var checkpointTable = new Option<string?>("--checkpoint-table") { Description = "Keep shard checkpoints in this DynamoDB table instead (created if missing); needs --ledger-table." };
        var ledgerTable = new Option<string?>("--ledger-table") { Description = "DynamoDB table of posted digests (key digestId), as the Lambda uses." };
        var batchSize = new Option<int>("--batch-size") { Description = "Records per handler call, as the event source mapping's BatchSize.", DefaultValueFactory = _ => 100 };
        var untilIdle = new Option<bool>("--until-idle") { Description = "Stop once every shard is read to its end, closing the open windows and every carried burst (a replay). Default: follow the stream until Ctrl-C." };
        var tumbling = new Option<string>("--window") { Description = "Tumbling window, as the event source mapping's TumblingWindowInSeconds (1s–15m). Bursts outlive windows; a window's end writes their carries.", DefaultValueFactory = _ => "1m" };
        var sweepInterval = new Option<string>("--sweep-interval") { Description = "How often the sweeper closes due bursts of quiet shards, as the deployed schedule does every minute.", DefaultValueFactory = _ => "1m" };
        var carryTable = new Option<string?>("--carry-table") { Description = "DynamoDB table that carries open bursts between windows (key account), as the Lambda uses; needed with --checkpoint-table. Default: PATH.carries beside the checkpoint file." };
        var startAt = new Option<string?>("--start-at")
        {
            Description = "Where a shard without a usable checkpoint starts: trim-horizon (its oldest record) or latest (only records put from now on). " +
                "Needed to start over when the stored checkpoints belong to a stream deleted and recreated under the same name. Default: trim-horizon for new shards.",
        };
        startAt.AcceptOnlyFromAmong("trim-horizon", "latest");
        var aws = new AwsOptions();
        var names = new AccountNameOptions(aws);
        var mute = CommonOptions.Mute();
        var window = new WindowOptions();
        var format = CommonOptions.Format();
        var slack = new SlackOptions();
        var command = new Command("run", "Consume a Kinesis stream with the Lambda's own handler, windows, carries and sweeper, checkpointing each shard; Ctrl-C stops cleanly.")
        {
            stream, checkpointFile, checkpointTable, ledgerTable, carryTable, startAt, batchSize, tumbling, sweepInterval, untilIdle, names, mute, window, format, aws, slack,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            // A usage error changes nothing: refused before any table, file or Slack sink is touched.
            var outputFormat = parse.GetValue(format);
            outputFormat.RefuseHtml("`run`", "follows a stream: use text, json or slack, and `digest --format html` on a replay");
            var streamName = parse.GetValue(stream)!;
            var burstWindow = window.Read(parse);
            var rollup = window.ReadRollup(parse);
            var silenceOptions = window.ReadSilence(parse);
            CommonOptions.Validate(silenceOptions.Validate);
            CommonOptions.Validate(burstWindow.Validate);
            CommonOptions.Validate(rollup.Validate);
            var slackSettings = slack.Read(parse); // the Slack options and the outbox, checked here too
            var mapping = new EventSourceMappingOptions
            {
                Stream = streamName,
                BatchSize = parse.GetValue(batchSize),
                TumblingWindow = CommonOptions.ParseDuration("--window", parse.GetValue(tumbling)!),
                SweepInterval = CommonOptions.ParseDuration("--sweep-interval", parse.GetValue(sweepInterval)!),
                UntilIdle = parse.GetValue(untilIdle),
                StartAt = parse.GetValue(startAt) switch
                {
                    "latest" => ShardPosition.Latest,
                    "trim-horizon" => ShardPosition.TrimHorizon,
                    _ => null,
                },
            };
            CommonOptions.Validate(mapping.Validate);

            var table = parse.GetValue(checkpointTable);
            var file = parse.GetValue(checkpointFile);
            if (table is not null && file is not null) throw new UsageException("give --checkpoint-file or --checkpoint-table, not both.");
            if (table is not null && parse.GetValue(ledgerTable) is null) throw new UsageException("--checkpoint-table needs --ledger-table (a consumer that may move between machines needs a shared ledger).");
            if (table is not null && parse.GetValue(carryTable) is null) throw new UsageException("--checkpoint-table needs --carry-table (open bursts must move with the checkpoints).");

            using var kinesis = aws.CreateKinesis(parse);
            using var dynamo = table is not null || parse.GetValue(ledgerTable) is not null || parse.GetValue(carryTable) is not null ? aws.CreateDynamoDb(parse) : null;
            // Making the tables is the first call to DynamoDB: one out of reach is said as the run's own calls say it (exit 6).
            async Task Reachable(Func<Task> call)
            {
                try
                {
                    await call().ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or AmazonClientException)
                {
                    throw AwsOptions.Unreachable("DynamoDB", parse, aws, e);
                }
            }

            ICheckpointStore store;
            IDigestLedger ledger;
            FileDigestLedger? fileLedger = null;
            if (table is not null)
            {
                var tableStore = new DynamoDbCheckpointStore(dynamo!, table, TimeProvider.System);
                await Reachable(() => tableStore.CreateIfMissingAsync(ct)).ConfigureAwait(false);
                store = tableStore;
            }
            else
            {
                file ??= Path.Combine("pipeline-checkpoints", streamName + ".json");
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
                store = new FileCheckpointStore(file);
            }
            // The ledger also remembers alerts' Slack messages, so a digest posted after a restart still finds its alert's thread.
            IAlertThreads threads;
            if (parse.GetValue(ledgerTable) is { } ledgerName)
            {
                var tableLedger = new DynamoDbDigestLedger(dynamo!, ledgerName, TimeProvider.System, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));
                (ledger, threads) = (tableLedger, tableLedger);
            }
            else
            {
                ledger = fileLedger = new FileDigestLedger(Path.GetFullPath(file!) + ".ledger");
                threads = fileLedger;
            }

            ICarryStore carries;
            ISilenceStore silence;
            if (parse.GetValue(carryTable) is { } carryName)
            {
                await Reachable(() => DynamoDbTables.CreateCarryTableIfMissingAsync(dynamo!, carryName, TimeProvider.System, ct)).ConfigureAwait(false);
                carries = new DynamoDbCarryStore(dynamo!, carryName);
                silence = new DynamoDbSilenceStore(dynamo!, carryName);
            }
            else
            {
                carries = new FileCarryStore(Path.GetFullPath(file ?? Path.Combine("pipeline-checkpoints", streamName + ".json")) + ".carries");
                // With carries in a file, what the silence check saw lasts as long as the run (the ledger still posts each notice once).
                silence = new MemorySilenceStore();
            }

            using (fileLedger)
            {
                var directory = names.Directory(parse);
                var mutes = CommonOptions.LoadMutes(parse.GetValue(mute));
                var sink = slackSettings is { } slackOptions
                    ? await SlackOptions.CreateSinkAsync(slackOptions, slack.OpenOutbox(parse), ct, threads: threads).ConfigureAwait(false)
                    : null;
                var renderer = outputFormat.Renderer();
                var delivered = sink is null ? null : new CountingSink(sink);
                // Each notice in one write, flushed as it is written (a reader piping the output sees it at once).
                var stdout = Stdout.OpenBuffered();
                // Slack first, then stdout, as `digest` does; a parked digest counts as posted (it is safe).
                // The notices this process hands on, counted for the summary: the checkpoints keep the events' counts across
                // runs, not the notices' (a window's state carries no alert count between its calls).
                var notices = new CountingSink(delivered is null
                    ? new WriterSink(renderer, stdout)
                    : new FanOutSink([delivered, new WriterSink(renderer, stdout)]));
                IDigestSink output = notices;
                var log = new LambdaLog(Console.Error, TimeProvider.System, "pipeline-run");
                var handlerOptions = new KinesisWindowHandlerOptions
                {
                    Core = new DigestCoreOptions { Window = burstWindow, Rollup = rollup, Silence = silenceOptions, Enricher = new EnricherOptions { Dedupe = new Enricher.Dedupe.DedupeOptions { MaxEntries = 50_000 } } },
                };
                var handler = new KinesisWindowHandler(handlerOptions, directory, ledger, carries, output, log, TimeProvider.System, mutes, silence: silence);
                var sweeper = new CarrySweeper(handlerOptions.Core, directory, carries, ledger, output, log, TimeProvider.System, mutes, silence) { SweepInterval = mapping.SweepInterval };
                var consumer = new EventSourceMapping(kinesis, store, handler, sweeper, mapping, TimeProvider.System, message => Console.Error.WriteLine(message),
                    carriesKeepingCounts: carries as FileCarryStore);

                var exit = ExitCode.Ok;
                try
                {
                    await consumer.RunAsync(ct).ConfigureAwait(false);
                    if (ct.IsCancellationRequested) exit = ExitCode.Interrupted;
                }
                catch (KinesisException e) when (e.ErrorType == "ResourceNotFoundException")
                {
                    throw new Enricher.Reading.InputException($"stream {streamName} does not exist (check --stream, --region, --endpoint).");
                }
                catch (Exception e) when (e is HttpRequestException or KinesisException { IsRetryable: true } or AmazonClientException)
                {
                    throw AwsOptions.Unreachable("Kinesis or DynamoDB", parse, aws, e);
                }
                catch (BatchFailedException e)
                {
                    await Console.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
                    exit = ExitCode.ServiceUnavailable;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    exit = ExitCode.Interrupted;
                }

                var summary = await consumer.ReportAsync().ConfigureAwait(false) with
                {
                    Delivered = delivered?.Delivered,
                    Outboxed = delivered?.Parked,
                    Alerts = notices.Alerts,
                    Rollups = notices.Rollups,
                    Messages = notices.Messages,
                };
                if (outputFormat == OutputFormat.Json)
                {
                    renderer.WriteSummary(summary, stdout, Console.Error);
                    await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await Console.Error.WriteLineAsync(TextDigestRenderer.RenderSummary(summary).TrimEnd() +
                        (summary.OpenEvents > 0 ? $"\n{summary.OpenEvents} events wait in open windows (checkpointed; the next run continues them)" : "") +
                        (summary.CarriedOut > summary.CarriedIn ? $"\n{summary.CarriedOut - summary.CarriedIn} events wait in carried bursts (the next run, or its sweeper, closes them)" : "")).ConfigureAwait(false);
                }
                if (exit == ExitCode.Interrupted) await Console.Error.WriteLineAsync("stopped (Ctrl-C); checkpoints saved, the next run resumes here.").ConfigureAwait(false);
                if (!summary.Balanced)
                {
                    await Console.Error.WriteLineAsync("error: the run's counts do not add up (received + carried in ≠ rejected + duplicates + muted + digested + open + carried out). This is a bug; please report it.").ConfigureAwait(false);
                    exit = ExitCode.InternalError;
                }
                if (exit == ExitCode.Ok && delivered?.Parked > 0) exit = ExitCode.DeliveryFailed;
                return exit;
            }
        }));
        return command;
    }
}
