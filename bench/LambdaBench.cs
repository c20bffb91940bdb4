using System.Buffers;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Bench;

/// <summary>
/// `dotnet run -c Release --project bench -- lambda` (run through scripts/bench-lambda.sh): measures the bootstrap as Lambda runs it,
/// against <see cref="LocalRuntimeApi"/> on loopback. Cold start = process start → first response received, for
/// the NativeAOT binary and for `dotnet pipeline.dll` (JIT), alternating runs so both see the same machine.
/// Then the cost of a 10,000-record batch in a warm process of each kind. Figures, never assertions.
/// </summary>
internal static class LambdaBench
{
    public static Command CreateCommand()
    {
        var bootstrap = new Option<string>("--bootstrap") { Description = "The NativeAOT bootstrap to measure.", Required = true };
        var dll = new Option<string>("--dll") { Description = "bootstrap.dll (a Release build of src/Lambda) to measure under the JIT (dotnet bootstrap.dll).", Required = true };
        var runs = new Option<int>("--runs") { Description = "Cold starts per variant (median reported).", DefaultValueFactory = _ => 10 };
        var batchRuns = new Option<int>("--batch-runs") { Description = "Warm 10,000-record batches per variant (median reported).", DefaultValueFactory = _ => 5 };
        var command = new Command("lambda", "Measure the Lambda bootstrap's cold start and per-batch cost (NativeAOT vs JIT) against a loopback Runtime API.")
        {
            bootstrap, dll, runs, batchRuns,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(bootstrap)!, parse.GetValue(dll)!, parse.GetValue(runs), parse.GetValue(batchRuns), ct));
        return command;
    }

    private sealed record Variant(string Name, string FileName, string[] Arguments);

    public static async Task<int> RunAsync(string bootstrap, string dll, int runs, int batchRuns, CancellationToken ct)
    {
        var aot = new Variant("NativeAOT", Path.GetFullPath(bootstrap), []);
        var jit = new Variant("JIT", "dotnet", [Path.GetFullPath(dll)]);
        Console.WriteLine($"bootstrap: {aot.FileName} ({new FileInfo(aot.FileName).Length:N0} bytes)");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

        var small = WindowEvent(records: 10, accounts: 2, final: false);
        var large = WindowEvent(records: 10_000, accounts: 50, final: false);
        Console.WriteLine($"first invocation: 10 records ({small.Length:N0} bytes); batch: 10,000 records ({large.Length:N0} bytes)");

        var cold = new Dictionary<string, List<double>> { [aot.Name] = [], [jit.Name] = [] };
        var rss = new Dictionary<string, List<double>> { [aot.Name] = [], [jit.Name] = [] };
        for (int i = 0; i < runs; i++)
        {
            foreach (var variant in i % 2 == 0 ? new[] { aot, jit } : [jit, aot])
            {
                var (ms, peakMb) = await ColdStartAsync(variant, small, ct).ConfigureAwait(false);
                cold[variant.Name].Add(ms);
                rss[variant.Name].Add(peakMb);
            }
        }

        var batch = new Dictionary<string, (double First, double Warm, int ResponseBytes)>();
        foreach (var variant in new[] { aot, jit })
            batch[variant.Name] = await BatchCostAsync(variant, large, batchRuns, ct).ConfigureAwait(false);

        Console.WriteLine();
        Console.WriteLine("| variant | cold start, median (min–max) of " + runs + " | peak RSS after first response | first 10k batch | warm 10k batch, median of " + batchRuns + " |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var name in new[] { aot.Name, jit.Name })
        {
            var c = cold[name];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {Median(c):0.0} ms ({c.Min():0.0}–{c.Max():0.0}) | {Median(rss[name]):0.0} MB | {batch[name].First:0} ms | {batch[name].Warm:0} ms |"));
        }
        Console.WriteLine($"response (window state) after a 10,000-record batch: {batch[aot.Name].ResponseBytes:N0} bytes");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cold start ratio JIT/AOT: {Median(cold[jit.Name]) / Median(cold[aot.Name]):0.0}x; warm batch ratio JIT/AOT: {batch[jit.Name].Warm / batch[aot.Name].Warm:0.00}x"));
        return 0;
    }

    private static async Task<(double Ms, double PeakMb)> ColdStartAsync(Variant variant, byte[] evt, CancellationToken ct)
    {
        await using var api = new LocalRuntimeApi();
        api.Enqueue(evt);
        var start = Stopwatch.GetTimestamp();
        using var process = Start(variant, api);
        try
        {
            var reply = await api.NextReplyAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            if (reply.Kind != RuntimeReply.Response) throw new InvalidOperationException($"{variant.Name}: {reply.Kind} {reply.Text}");
            var ms = Stopwatch.GetElapsedTime(start, reply.ReceivedTimestamp).TotalMilliseconds;
            return (ms, PeakRssMb(process.Id));
        }
        finally
        {
            Stop(process);
        }
    }

    private static async Task<(double First, double Warm, int ResponseBytes)> BatchCostAsync(Variant variant, byte[] evt, int runs, CancellationToken ct)
    {
        await using var api = new LocalRuntimeApi();
        using var process = Start(variant, api);
        try
        {
            var times = new List<double>();
            int responseBytes = 0;
            for (int i = 0; i <= runs; i++)
            {
                var start = Stopwatch.GetTimestamp();
                api.Enqueue(evt);
                var reply = await api.NextReplyAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
                if (reply.Kind != RuntimeReply.Response) throw new InvalidOperationException($"{variant.Name}: {reply.Kind} {reply.Text}");
                times.Add(Stopwatch.GetElapsedTime(start, reply.ReceivedTimestamp).TotalMilliseconds);
                responseBytes = reply.Body.Length;
            }
            return (times[0], Median(times.Skip(1).ToList()), responseBytes);
        }
        finally
        {
            Stop(process);
        }
    }

    private static Process Start(Variant variant, LocalRuntimeApi api)
    {
        var info = new ProcessStartInfo(variant.FileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in variant.Arguments) info.ArgumentList.Add(a);
        info.Environment["AWS_LAMBDA_RUNTIME_API"] = api.Address;
        info.Environment["LEDGER_TABLE"] = "bench-ledger";
        // Never called: no batch of the benchmark closes a burst, so the ledger and the webhook stay idle.
        info.Environment["DYNAMODB_ENDPOINT"] = "http://127.0.0.1:9";
        info.Environment["AWS_REGION"] = "us-east-1";
        info.Environment["AWS_ACCESS_KEY_ID"] = "x";
        info.Environment["AWS_SECRET_ACCESS_KEY"] = "x";
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        // Slack delivery is built (the URL read from the environment) but never posts; the outbox is never drained.
        info.Environment["SLACK_WEBHOOK_SECRET"] = "env:BENCH_SLACK_WEBHOOK";
        info.Environment["BENCH_SLACK_WEBHOOK"] = api.WebhookUrl.ToString();
        info.Environment["OUTBOX_QUEUE_URL"] = "http://127.0.0.1:9/000000000000/bench-outbox";
        info.Environment["OUTBOX_DRAIN_INTERVAL"] = "off";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit(5000);
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

    /// <summary>
    /// A tumbling-window event of realistic CloudTrail API calls spread over <paramref name="accounts"/> accounts,
    /// all within one minute, so no burst closes (the ledger and the webhook are not part of the measure).
    /// </summary>
    internal static byte[] WindowEvent(int records, int accounts, bool final)
    {
        var t0 = new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);
        var buffer = new ArrayBufferWriter<byte>(records * 2000);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("Records");
            for (int i = 0; i < records; i++)
            {
                var account = (100000000000L + i % accounts).ToString(CultureInfo.InvariantCulture);
                var data = Envelope(account, t0.AddMilliseconds(i * 60_000.0 / records), i);
                var seq = "4959033827149025660" + i.ToString("D20", CultureInfo.InvariantCulture);
                w.WriteStartObject();
                w.WriteStartObject("kinesis");
                w.WriteString("kinesisSchemaVersion", "1.0");
                w.WriteString("partitionKey", account);
                w.WriteString("sequenceNumber", seq);
                w.WriteBase64String("data", data);
                w.WriteNumber("approximateArrivalTimestamp", 1795510800.0 + i / 1000.0);
                w.WriteEndObject();
                w.WriteString("eventSource", "aws:kinesis");
                w.WriteString("eventID", "shardId-000000000000:" + seq);
                w.WriteString("eventSourceARN", "arn:aws:kinesis:us-east-1:123456789012:stream/org-events");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("window");
            w.WriteString("start", "2026-11-24T09:00:00Z");
            w.WriteString("end", "2026-11-24T09:15:00Z");
            w.WriteEndObject();
            w.WriteStartObject("state");
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
