using System.CommandLine;
using System.Runtime.InteropServices;
using Pipeline.Aggregator.Rendering;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Reading;
using Pipeline.Kinesis;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline put`: sends events into a Kinesis stream the way the central bus's rule does (data = the event
/// JSON, partition key = the account), so a local stream can be filled from files to test `pipeline run`.
/// </summary>
internal static class PutCommand
{
    private const int ChunkSize = 5_000;

    public static Command Create()
    {
        var stream = new Option<string>("--stream") { Description = "The Kinesis stream to write to.", Required = true };
        var input = CommonOptions.Input();
        var create = new Option<bool>("--create-stream") { Description = "Create the stream if it does not exist (with --shards)." };
        var shards = new Option<int>("--shards") { Description = "Shard count for --create-stream.", DefaultValueFactory = _ => 2 };
        var raw = new Option<bool>("--raw") { Description = "Send each record's bytes as they are, unreadable ones included (to test how the consumer copes)." };
        var noProgress = CommonOptions.NoProgress();
        var aws = new AwsOptions();
        var command = new Command("put", "Send events into a Kinesis stream as the EventBridge target does: the event JSON as data, the account as partition key.")
        {
            stream, input, create, shards, raw, noProgress, aws,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var name = parse.GetValue(stream)!;
            var inputs = InputFiles.Resolve(parse.GetValue(input)!, Console.Error);
            using var kinesis = aws.CreateKinesis(parse);
            // Outside the try, so a stop can say how far it got (a request that finishes as Ctrl-C lands is counted or in flight).
            long sent = 0, skipped = 0, failed = 0, requests = 0, inFlight = 0;
            var counts = new Lock(); // the counts change on the sending task and are read by a stop
            try
            {
                if (parse.GetValue(create)) await EnsureStreamAsync(kinesis, name, parse.GetValue(shards), ct).ConfigureAwait(false);

                using var progress = ProgressBar.StartIfUseful(inputs.TotalBytes, "putting", !parse.GetValue(noProgress));
                var chunk = new List<PutRecordsEntry>(ChunkSize);
                async Task FlushAsync()
                {
                    if (chunk.Count == 0) return;
                    lock (counts) inFlight = chunk.Count;
                    var outcome = await kinesis.PutRecordsAsync(name, chunk, ct).ConfigureAwait(false);
                    lock (counts)
                    {
                        inFlight = 0;
                        requests += outcome.Requests;
                        failed += outcome.FailedCount;
                        sent += chunk.Count - outcome.FailedCount;
                    }
                    foreach (var i in outcome.FailedIndexes)
                        await Console.Error.WriteLineAsync($"not written after retries: record for {chunk[i].PartitionKey}: {outcome.Results[i].ErrorCode}").ConfigureAwait(false);
                    chunk.Clear();
                }

                // Reading blocks (stdin that stays open, a slow disk), so the records are read and sent on their own task and
                // Ctrl-C stops the wait for it: the process then ends with the read it was blocked in.
                var pump = Task.Run(async () =>
                {
                    foreach (var record in RecordReader.ReadFiles(inputs.Files, progress))
                    {
                        ct.ThrowIfCancellationRequested();
                        if (ToEntry(record, parse.GetValue(raw), out var reason) is { } entry) chunk.Add(entry);
                        else
                        {
                            skipped++;
                            await Console.Error.WriteLineAsync(TextDigestRenderer.Clean($"not sent {record.Origin}: {reason}")).ConfigureAwait(false); // the reason quotes the record's own (hostile) text
                        }
                        if (chunk.Count == ChunkSize) await FlushAsync().ConfigureAwait(false);
                    }
                    await FlushAsync().ConfigureAwait(false);
                }, CancellationToken.None);
                await pump.WaitAsync(ct).ConfigureAwait(false);
                Console.WriteLine($"put {sent} records into {name} in {requests} requests" +
                    (skipped > 0 ? $"; {skipped} unreadable records not sent" : "") +
                    (failed > 0 ? $"; {failed} failed after retries" : ""));
                return failed > 0 ? ExitCode.ServiceUnavailable : skipped > 0 ? ExitCode.RecordsRejected : ExitCode.Ok;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                string stopped;
                // Kinesis has no way to take records back: say how many are in, so the user knows what a rerun sends again.
                lock (counts) stopped = $"stopped (Ctrl-C) after writing {sent} records into {name} in {requests} requests" +
                    (inFlight > 0 ? $"; some of the {inFlight} records being written when it stopped may be in the stream too" : "") +
                    ". Running the same put again sends them again; the consumer counts the repeats it still remembers as duplicates.";
                await Console.Error.WriteLineAsync(stopped).ConfigureAwait(false);
                return ExitCode.Interrupted;
            }
            catch (KinesisException e) when (e.ErrorType == "ResourceNotFoundException")
            {
                throw new InputException($"stream {name} does not exist: create it with --create-stream, or check --region/--endpoint.");
            }
            catch (Exception e) when (e is HttpRequestException or (KinesisException { IsRetryable: true }))
            {
                throw AwsOptions.Unreachable("Kinesis", parse, aws, e);
            }
        }));
        return command;
    }

    /// <summary>The record as EventBridge would put it: the envelope (bare CloudTrail records wrapped) keyed by account.</summary>
    internal static PutRecordsEntry? ToEntry(RawRecord record, bool raw, out string? reason)
    {
        reason = record.ReadError;
        if (raw)
        {
            if (record.Data.IsEmpty) { reason ??= "empty record"; return null; }
            // An unreadable record has no account: spread such records by a fixed key so they still land in the stream.
            string key = EventParser.TryParse(record.Data, out var p, out _) ? p!.Event.Account : "unreadable";
            p?.Dispose();
            return new PutRecordsEntry(record.Data, key);
        }
        if (reason is not null || !EventParser.TryParse(record.Data, out var parsed, out reason)) return null;
        using (parsed)
        {
            var bytes = JsonMarshal.GetRawUtf8Value(parsed!.Envelope).ToArray();
            return new PutRecordsEntry(bytes, parsed.Event.Account);
        }
    }

    internal static async Task EnsureStreamAsync(KinesisClient kinesis, string name, int shards, CancellationToken ct)
    {
        if (shards < 1) throw new UsageException($"--shards must be at least 1 (got {shards}).");
        try
        {
            await kinesis.CreateStreamAsync(name, shards, waitUntilActive: true, ct).ConfigureAwait(false);
            Console.WriteLine($"created stream {name} with {shards} shards");
        }
        catch (KinesisException e) when (e.ErrorType == "ResourceInUseException")
        {
            await kinesis.WaitForActiveAsync(name, ct).ConfigureAwait(false);
        }
        // What the service refuses to create is the command line's to change, not a service out of reach.
        catch (KinesisException e) when (e.ErrorType == "ValidationException")
        {
            throw new UsageException($"Kinesis refused to create stream '{name}': {e.ServiceMessage} (check --stream).");
        }
        catch (KinesisException e) when (e.ErrorType == "LimitExceededException")
        {
            // Either the account's shard limit or too many streams being made at once: the service's words say which.
            throw new ServiceUnavailableException($"Kinesis refused to create stream '{name}' with {shards} shards: {e.ServiceMessage} (over the account's shard limit, give fewer --shards; with too many streams being created at once, try again later).");
        }
    }
}
