using System.Buffers;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Pipeline.Enricher.Accounts.DynamoDb;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Ledger;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Bench;

/// <summary>
/// `dotnet run -c Release --project bench -- lambda` (run through scripts/bench-lambda.sh): measures the bootstrap as Lambda runs it,
/// against <see cref="LocalRuntimeApi"/> on loopback, with its DynamoDB tables (carry, ledger, account names) on dynalite,
/// started here and stopped at the end. Cold start = process start → first response received, for the NativeAOT binary
/// and for `dotnet bootstrap.dll` (JIT), alternating runs so both see the same machine. Then, in a warm process of each
/// kind, the cost of a 10,000-record batch that opens a window (so it claims its accounts' carries) and of the window's
/// final call (which writes them back). Figures, never assertions; but a run that failed a batch or posted to Slack is
/// an error, since its figures would not be of the path measured.
/// </summary>
internal static class LambdaBench
{
    /// <summary>Accounts of the 10,000-record batch: each is one carry claimed at the window's start and written at its end.</summary>
    private const int BatchAccounts = 50;

    public static Command CreateCommand()
    {
        var bootstrap = new Option<string>("--bootstrap") { Description = "The NativeAOT bootstrap to measure.", Required = true };
        var dll = new Option<string>("--dll") { Description = "bootstrap.dll (a Release build of src/Lambda) to measure under the JIT (dotnet bootstrap.dll).", Required = true };
        var runs = new Option<int>("--runs") { Description = "Cold starts per variant (median reported).", DefaultValueFactory = _ => 10 };
        var batchRuns = new Option<int>("--batch-runs") { Description = "Warm 10,000-record batches, and window ends, per variant (medians reported).", DefaultValueFactory = _ => 5 };
        var latency = new Option<int>("--dynamodb-latency-ms")
        {
            Description = "Milliseconds added to every DynamoDB round trip of the function (a loopback proxy holds each answer that long; dynalite alone answers at once, DynamoDB in a region in several).",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("lambda", "Measure the Lambda bootstrap's cold start and per-batch cost (NativeAOT vs JIT) against a loopback Runtime API and DynamoDB tables on dynalite.")
        {
            bootstrap, dll, runs, batchRuns, latency,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(bootstrap)!, parse.GetValue(dll)!, parse.GetValue(runs), parse.GetValue(batchRuns), parse.GetValue(latency), ct));
        return command;
    }

    private sealed record Variant(string Name, string FileName, string[] Arguments);

    /// <summary>The function's tables, fresh for each process, so no process meets another's carries.</summary>
    private sealed record Tables(string Carry, string Ledger, string Accounts);

    /// <summary>What one warm process measured.</summary>
    private sealed record BatchFigures(double First, double Warm, double WarmCpu, double WindowEnd, double WindowEndRetried, int ResponseBytes, int CarriesWritten);

    public static async Task<int> RunAsync(string bootstrap, string dll, int runs, int batchRuns, int latencyMs, CancellationToken ct)
    {
        if (runs < 1 || batchRuns < 1)
        {
            await Console.Error.WriteLineAsync("error: --runs and --batch-runs must be at least 1.").ConfigureAwait(false);
            return 2;
        }
        if (latencyMs is < 0 or > 1000)
        {
            await Console.Error.WriteLineAsync($"error: --dynamodb-latency-ms must be from 0 to 1000 (got {latencyMs}).").ConfigureAwait(false);
            return 2;
        }
        if (EmulatorEnvironment.Node is null)
        {
            await Console.Error.WriteLineAsync("error: node is not on PATH: the benchmark runs the function against dynalite (tests/emulators), which needs Node.js 20+.").ConfigureAwait(false);
            return 1;
        }
        var aot = new Variant("NativeAOT", Path.GetFullPath(bootstrap), []);
        var jit = new Variant("JIT", "dotnet", [Path.GetFullPath(dll)]);
        Console.WriteLine($"bootstrap: {aot.FileName} ({new FileInfo(aot.FileName).Length:N0} bytes)");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

        // The function's DynamoDB, on loopback: dynalite in memory, killed when this scope ends (also on an error).
        using var dynalite = new DynaliteFixture();
        using var dynamo = new AmazonDynamoDBClient(new BasicAWSCredentials("x", "x"), new AmazonDynamoDBConfig
        {
            ServiceURL = dynalite.Endpoint,
            AuthenticationRegion = "us-east-1",
        });
        Console.WriteLine($"dynamodb: dynalite at {dynalite.Endpoint} (node {EmulatorEnvironment.Node}); fresh carry, ledger and accounts tables per process");
        // The function's requests may go through a proxy that adds a region's round trip; the tables are made directly.
        await using var proxy = latencyMs > 0 ? new LatencyProxy(dynalite.Endpoint, TimeSpan.FromMilliseconds(latencyMs)) : null;
        var functionDynamo = proxy?.Endpoint ?? dynalite.Endpoint;
        Console.WriteLine(proxy is null
            ? "dynamodb latency: none added (dynalite's own)"
            : $"dynamodb latency: {latencyMs} ms added to each of the function's round trips (a loopback proxy at {proxy.Endpoint})");

        var small = WindowEvent(records: 10, accounts: 2, final: false);
        var large = WindowEvent(records: 10_000, accounts: BatchAccounts, final: false);
        Console.WriteLine($"first invocation: 10 records ({small.Length:N0} bytes); batch: 10,000 records, {BatchAccounts} accounts ({large.Length:N0} bytes)");

        var cold = new Dictionary<string, List<double>> { [aot.Name] = [], [jit.Name] = [] };
        var rss = new Dictionary<string, List<double>> { [aot.Name] = [], [jit.Name] = [] };
        for (int i = 0; i < runs; i++)
        {
            foreach (var variant in i % 2 == 0 ? new[] { aot, jit } : [jit, aot])
            {
                var tables = await CreateTablesAsync(dynamo, ct).ConfigureAwait(false);
                var (ms, peakMb) = await ColdStartAsync(variant, functionDynamo, tables, small, ct).ConfigureAwait(false);
                cold[variant.Name].Add(ms);
                rss[variant.Name].Add(peakMb);
            }
        }

        var batch = new Dictionary<string, BatchFigures>();
        foreach (var variant in new[] { aot, jit })
        {
            var tables = await CreateTablesAsync(dynamo, ct).ConfigureAwait(false);
            batch[variant.Name] = await BatchCostAsync(variant, functionDynamo, tables, dynamo, large, batchRuns, ct).ConfigureAwait(false);
        }

        Console.WriteLine();
        Console.WriteLine("| variant | cold start, median (min–max) of " + runs + " | peak RSS after first response | first 10k batch | warm 10k batch, median of " + batchRuns
            + " | its CPU time (function process) | window end (its final call), median of " + batchRuns + " | the same final call retried, median of " + batchRuns + " |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var name in new[] { aot.Name, jit.Name })
        {
            var c = cold[name];
            var b = batch[name];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {Median(c):0.0} ms ({c.Min():0.0}–{c.Max():0.0}) | {Median(rss[name]):0.0} MB | {b.First:0} ms | {b.Warm:0} ms | {b.WarmCpu:0} ms | {b.WindowEnd:0} ms | {b.WindowEndRetried:0} ms |"));
        }
        Console.WriteLine($"response (window state) after a 10,000-record batch: {batch[aot.Name].ResponseBytes:N0} bytes");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cold start ratio JIT/AOT: {Median(cold[jit.Name]) / Median(cold[aot.Name]):0.0}x; warm batch ratio JIT/AOT: {batch[jit.Name].Warm / batch[aot.Name].Warm:0.00}x"));
        Console.WriteLine($"""
            carry I/O is in the figures: every 10k batch opens its window (its state is empty), so it claims its {BatchAccounts} accounts' carries
              (one conditional UpdateItem each) before processing. A window end is a window's final call, with no records, writing
              the {BatchAccounts} open bursts and dedupe ids back to the carry table and the window's sightings to the silence items
              ({batch[aot.Name].CarriesWritten} carry items after them): each of its runs is a window of its own (the next quarter
              hour, opened by an untimed 10k batch of that quarter hour in {BatchAccounts} accounts of its own). The
              retried column repeats one window's final call, which is what Lambda does after a failed one: the silence items'
              conditional writes are then refused (already counted), and the SDK's error path is in the figure. Account names are read
              once per process (then cached). DynamoDB is dynalite on this machine: its latency is that of a local process, plus what
              --dynamodb-latency-ms adds.
            CPU time: the function process's user + system time during each warm batch (all its threads, 10 ms ticks), steadier than
              wall time when other work shares the machine; the wall time also holds the loopback Runtime API sending the event.
            nothing is posted: BURST_GAP=1h and BURST_MAX_WINDOW=24h keep every burst open through its window's end, so the ledger
              and Slack stay idle (checked: 0 Slack posts); the outbox drain is off (OUTBOX_DRAIN_INTERVAL=off).
            """);
        return 0;
    }

    private static async Task<(double Ms, double PeakMb)> ColdStartAsync(Variant variant, string dynamoEndpoint, Tables tables, byte[] evt, CancellationToken ct)
    {
        await using var api = new LocalRuntimeApi();
        api.Enqueue(evt);
        var start = Stopwatch.GetTimestamp();
        using var process = Start(variant, api, dynamoEndpoint, tables, out var output);
        try
        {
            var reply = await api.NextReplyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            ExpectSuccess(variant, reply, output);
            var ms = Stopwatch.GetElapsedTime(start, reply.ReceivedTimestamp).TotalMilliseconds;
            return (ms, PeakRssMb(process.Id));
        }
        finally
        {
            Stop(process);
        }
    }

    private static async Task<BatchFigures> BatchCostAsync(Variant variant, string dynamoEndpoint, Tables tables, IAmazonDynamoDB dynamo, byte[] evt, int runs, CancellationToken ct)
    {
        await using var api = new LocalRuntimeApi();
        using var process = Start(variant, api, dynamoEndpoint, tables, out var output);
        try
        {
            // The same window-opening batch again and again: each call claims the same carries (the owner, the shard, may
            // claim again) and finds them empty, since no final call has written them yet; so every call does the same work.
            var times = new List<double>();
            var cpu = new List<double>();
            Dictionary<string, string> state = [];
            int responseBytes = 0;
            for (int i = 0; i <= runs; i++)
            {
                var cpuBefore = CpuMs(process.Id);
                var (ms, reply) = await InvokeAsync(api, evt).ConfigureAwait(false);
                state = ExpectSuccess(variant, reply, output);
                times.Add(ms);
                cpu.Add(CpuMs(process.Id) - cpuBefore);
                responseBytes = reply.Body.Length;
            }

            // The window's final call on that state: it writes every account's open bursts back to the carry table. A repeat
            // is a retry of the same call (same shard and window), which the carry table lets write the same items again.
            var end = WindowEvent(records: 0, accounts: 0, final: true, state);
            var (firstEnd, firstReply) = await InvokeAsync(api, end).ConfigureAwait(false);
            ExpectNoState(variant, firstReply, output);
            var retried = new List<double>();
            for (int i = 0; i < runs; i++)
            {
                var (ms, reply) = await InvokeAsync(api, end).ConfigureAwait(false);
                ExpectNoState(variant, reply, output);
                retried.Add(ms);
            }
            // A window's usual end, its first final call: each further run is the next quarter hour's window, opened by a
            // batch of its own events (not timed) in accounts of its own, so that every run's final call has what the first
            // one had to write (accounts that carried another window's ids in would hold twice as many).
            var ends = new List<double> { firstEnd };
            for (int window = 1; window < runs; window++)
            {
                var opening = WindowEvent(records: 10_000, accounts: BatchAccounts, final: false, window: window, firstAccount: window * BatchAccounts);
                var (_, opened) = await InvokeAsync(api, opening).ConfigureAwait(false);
                var windowState = ExpectSuccess(variant, opened, output);
                var (ms, reply) = await InvokeAsync(api, WindowEvent(records: 0, accounts: 0, final: true, windowState, window)).ConfigureAwait(false);
                ExpectNoState(variant, reply, output);
                ends.Add(ms);
            }
            if (api.WebhookPosts.Count > 0)
                throw new InvalidOperationException($"{variant.Name}: {api.WebhookPosts.Count} Slack posts: a burst closed, so the figures include posting.\n{output}");
            return new BatchFigures(times[0], Median(times.Skip(1).ToList()), Median(cpu.Skip(1).ToList()), Median(ends), Median(retried), responseBytes,
                await CountItemsAsync(dynamo, tables.Carry, ct).ConfigureAwait(false));
        }
        finally
        {
            Stop(process);
        }
    }

    private static async Task<(double Ms, RuntimeReply Reply)> InvokeAsync(LocalRuntimeApi api, byte[] evt)
    {
        var start = Stopwatch.GetTimestamp();
        api.Enqueue(evt);
        var reply = await api.NextReplyAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        return (Stopwatch.GetElapsedTime(start, reply.ReceivedTimestamp).TotalMilliseconds, reply);
    }

    /// <summary>A window's final call: it succeeded and handed no state on.</summary>
    private static void ExpectNoState(Variant variant, RuntimeReply reply, ProcessOutput output)
    {
        if (ExpectSuccess(variant, reply, output).Count != 0) throw new InvalidOperationException($"{variant.Name}: the window's final call returned a state: {reply.Text}");
    }

    /// <summary>The response's state; throws when the call failed or asked for a retry (its time would be a failure's).</summary>
    private static Dictionary<string, string> ExpectSuccess(Variant variant, RuntimeReply reply, ProcessOutput output)
    {
        if (reply.Kind != RuntimeReply.Response) throw new InvalidOperationException($"{variant.Name}: {reply.Kind} {reply.Text}\n{output}");
        using var doc = JsonDocument.Parse(reply.Body);
        if (doc.RootElement.TryGetProperty("batchItemFailures", out var failures) && failures.GetArrayLength() > 0)
            throw new InvalidOperationException($"{variant.Name}: the batch failed and would be retried: {reply.Text}\n{output}");
        var state = new Dictionary<string, string>(StringComparer.Ordinal);
        if (doc.RootElement.TryGetProperty("state", out var s))
            foreach (var p in s.EnumerateObject()) state[p.Name] = p.Value.GetString() ?? "";
        return state;
    }

    private static Process Start(Variant variant, LocalRuntimeApi api, string dynamoEndpoint, Tables tables, out ProcessOutput output)
    {
        var info = new ProcessStartInfo(variant.FileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in variant.Arguments) info.ArgumentList.Add(a);
        var env = info.Environment;
        env[FunctionEnvironment.RuntimeApi] = api.Address;
        // The tables the deployed function is given (infra/Constructs/DigestFunction.cs), on dynalite.
        env[FunctionEnvironment.CarryTable] = tables.Carry;
        env[FunctionEnvironment.LedgerTable] = tables.Ledger;
        env[FunctionEnvironment.AccountsTable] = tables.Accounts;
        env[FunctionEnvironment.DynamoDbEndpoint] = dynamoEndpoint;
        env[FunctionEnvironment.Region] = "us-east-1";
        env["AWS_ACCESS_KEY_ID"] = "x";
        env["AWS_SECRET_ACCESS_KEY"] = "x";
        env["AWS_EC2_METADATA_DISABLED"] = "true";
        // Every burst stays open through its window's end (its events span a minute at the start of a quarter hour, the
        // next window's are a quarter of an hour later, and the max window is a day): nothing closes, so the ledger and
        // Slack are not part of the measure.
        env[FunctionEnvironment.BurstGap] = "3600";
        env[FunctionEnvironment.BurstMaxWindow] = "86400";
        // Slack delivery is built (the URL read from the environment) but never posts; the outbox is never drained.
        env[FunctionEnvironment.SlackWebhookSecret] = "env:BENCH_SLACK_WEBHOOK";
        env["BENCH_SLACK_WEBHOOK"] = api.WebhookUrl.ToString();
        env[FunctionEnvironment.OutboxQueueUrl] = "http://127.0.0.1:9/000000000000/bench-outbox";
        env[FunctionEnvironment.OutboxDrainInterval] = "off";
        var process = Process.Start(info)!;
        var captured = new ProcessOutput();
        process.OutputDataReceived += (_, e) => captured.Add(e.Data);
        process.ErrorDataReceived += (_, e) => captured.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = captured;
        return process;
    }

    /// <summary>The last lines a bootstrap printed, for an error message (its log is one JSON line per batch, so few are kept).</summary>
    private sealed class ProcessOutput
    {
        private readonly Queue<string> _lines = new();

        public void Add(string? line)
        {
            if (line is null) return;
            lock (_lines)
            {
                _lines.Enqueue(line.Length > 2000 ? line[..2000] + "…" : line);
                if (_lines.Count > 20) _lines.Dequeue();
            }
        }

        public override string ToString()
        {
            lock (_lines) return string.Join('\n', _lines);
        }
    }

    /// <summary>Fresh tables, keyed as the CDK stack keys them (infra/Constructs/StateTables.cs), with names for the batch's accounts.</summary>
    private static async Task<Tables> CreateTablesAsync(IAmazonDynamoDB dynamo, CancellationToken ct)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var tables = new Tables("bench-carry-" + suffix, "bench-ledger-" + suffix, "bench-accounts-" + suffix);
        foreach (var (name, key) in new[] { (tables.Carry, DynamoDbCarryStore.KeyAttribute), (tables.Ledger, DynamoDbDigestLedger.KeyAttribute), (tables.Accounts, AccountTable.KeyAttribute) })
        {
            await dynamo.CreateTableAsync(new CreateTableRequest
            {
                TableName = name,
                KeySchema = [new KeySchemaElement(key, KeyType.HASH)],
                AttributeDefinitions = [new AttributeDefinition(key, ScalarAttributeType.S)],
                BillingMode = BillingMode.PAY_PER_REQUEST,
            }, ct).ConfigureAwait(false);
        }
        foreach (var name in new[] { tables.Carry, tables.Ledger, tables.Accounts })
            await WaitActiveAsync(dynamo, name, ct).ConfigureAwait(false);

        // Names for the accounts, as an organization fills the table: the function reads them once per process.
        foreach (var chunk in Enumerable.Range(0, BatchAccounts).Chunk(25))
        {
            var puts = chunk.Select(i => new WriteRequest(new PutRequest(new Dictionary<string, AttributeValue>
            {
                [AccountTable.KeyAttribute] = new() { S = Account(i) },
                ["name"] = new() { S = $"workload-{i:D2}" },
            }))).ToList();
            await dynamo.BatchWriteItemAsync(new BatchWriteItemRequest(new Dictionary<string, List<WriteRequest>> { [tables.Accounts] = puts }), ct).ConfigureAwait(false);
        }
        return tables;
    }

    private static async Task WaitActiveAsync(IAmazonDynamoDB dynamo, string table, CancellationToken ct)
    {
        for (int i = 0; i < 250; i++)
        {
            var described = await dynamo.DescribeTableAsync(table, ct).ConfigureAwait(false);
            if (described.Table.TableStatus == TableStatus.ACTIVE) return;
            await Task.Delay(20, ct).ConfigureAwait(false); // polling dynalite, which activates a table after --createTableMs 50
        }
        throw new InvalidOperationException($"dynalite: table {table} never became ACTIVE");
    }

    private static async Task<int> CountItemsAsync(IAmazonDynamoDB dynamo, string table, CancellationToken ct)
    {
        int count = 0;
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await dynamo.ScanAsync(new ScanRequest { TableName = table, Select = Select.COUNT, ExclusiveStartKey = start }, ct).ConfigureAwait(false);
            count += page.Count ?? 0;
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        } while (start is not null);
        return count;
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit(5000);
    }

    /// <summary>
    /// CPU time the process has used, all its threads, user and system (/proc/PID/stat, in clock ticks of 10 ms): what a
    /// batch costs whatever else the machine runs, where wall time on a shared machine is not.
    /// </summary>
    private static double CpuMs(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command (which may hold spaces, so split after its closing parenthesis): utime is the 14th, stime the 15th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks * 10.0;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static double PeakRssMb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
            // The process is gone: no figure.
        }
        return double.NaN;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Account(int i) => (100000000000L + i).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A tumbling-window event of realistic CloudTrail API calls spread over <paramref name="accounts"/> accounts,
    /// all within the first minute of the window, so no burst closes (the ledger and the webhook are not part of the
    /// measure). The window is the quarter hour <paramref name="window"/> quarters after 09:00 (09:00–09:15 by default);
    /// <paramref name="state"/> is what the previous call of the window returned (none: its first). The accounts are
    /// <paramref name="firstAccount"/> and the ones after it (the benchmark names the first <see cref="BatchAccounts"/>).
    /// </summary>
    internal static byte[] WindowEvent(int records, int accounts, bool final, IReadOnlyDictionary<string, string>? state = null, int window = 0, int firstAccount = 0)
    {
        var t0 = new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero).AddMinutes(15 * window);
        var buffer = new ArrayBufferWriter<byte>(records * 2000 + 1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("Records");
            for (int i = 0; i < records; i++)
            {
                var account = Account(firstAccount + i % accounts);
                var data = Envelope(account, t0.AddMilliseconds(i * 60_000.0 / records), i);
                var seq = "4959033827149025660" + i.ToString("D20", CultureInfo.InvariantCulture);
                w.WriteStartObject();
                w.WriteStartObject("kinesis");
                w.WriteString("kinesisSchemaVersion", "1.0");
                w.WriteString("partitionKey", account);
                w.WriteString("sequenceNumber", seq);
                w.WriteBase64String("data", data);
                w.WriteNumber("approximateArrivalTimestamp", t0.ToUnixTimeSeconds() + i / 1000.0);
                w.WriteEndObject();
                w.WriteString("eventSource", "aws:kinesis");
                w.WriteString("eventID", "shardId-000000000000:" + seq);
                w.WriteString("eventSourceARN", "arn:aws:kinesis:us-east-1:123456789012:stream/org-events");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("window");
            w.WriteString("start", t0.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteString("end", t0.AddMinutes(15).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteEndObject();
            w.WriteStartObject("state");
            foreach (var (key, value) in state ?? new Dictionary<string, string>()) w.WriteString(key, value);
            w.WriteEndObject();
            w.WriteString("shardId", "shardId-000000000000");
            w.WriteBoolean("isFinalInvokeForWindow", final);
            w.WriteBoolean("isWindowTerminatedEarly", false);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Envelope(string account, DateTimeOffset time, int i)
    {
        var t = time.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        string[] names = ["RunInstances", "CreateTags", "PutObject", "AssumeRole", "AttachRolePolicy", "DescribeInstances"];
        var buffer = new ArrayBufferWriter<byte>(1500);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("version", "0");
            w.WriteString("id", Guid.NewGuid().ToString());
            w.WriteString("detail-type", "AWS API Call via CloudTrail");
            w.WriteString("source", "aws.ec2");
            w.WriteString("account", account);
            w.WriteString("time", t);
            w.WriteString("region", "us-east-1");
            w.WriteStartArray("resources");
            w.WriteEndArray();
            w.WriteStartObject("detail");
            w.WriteString("eventVersion", "1.09");
            w.WriteStartObject("userIdentity");
            w.WriteString("type", "AssumedRole");
            w.WriteString("principalId", "AROAEXAMPLE:ci");
            w.WriteString("arn", $"arn:aws:sts::{account}:assumed-role/deployer/ci-{i % 7}");
            w.WriteString("accountId", account);
            w.WriteStartObject("sessionContext");
            w.WriteStartObject("sessionIssuer");
            w.WriteString("type", "Role");
            w.WriteString("arn", $"arn:aws:iam::{account}:role/deployer");
            w.WriteString("userName", "deployer");
            w.WriteEndObject();
            w.WriteStartObject("attributes");
            w.WriteString("mfaAuthenticated", "false");
            w.WriteString("creationDate", t);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteString("eventTime", t);
            w.WriteString("eventSource", "ec2.amazonaws.com");
            w.WriteString("eventName", names[i % names.Length]);
            w.WriteString("awsRegion", "us-east-1");
            w.WriteString("sourceIPAddress", "198.51.100." + (i % 200).ToString(CultureInfo.InvariantCulture));
            w.WriteString("userAgent", "terraform/1.9.5 aws-sdk-go-v2/1.30");
            w.WriteStartObject("requestParameters");
            w.WriteString("instanceType", "t3.micro");
            w.WriteString("resourceId", "i-0" + i.ToString("x8", CultureInfo.InvariantCulture));
            w.WriteEndObject();
            w.WriteNull("responseElements");
            w.WriteString("requestID", Guid.NewGuid().ToString());
            w.WriteString("eventID", Guid.NewGuid().ToString());
            w.WriteBoolean("readOnly", false);
            w.WriteString("eventType", "AwsApiCall");
            w.WriteBoolean("managementEvent", true);
            w.WriteString("recipientAccountId", account);
            w.WriteString("eventCategory", "Management");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
