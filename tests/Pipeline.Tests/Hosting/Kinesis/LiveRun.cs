using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Pipeline.Kinesis;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>
/// A long-running `pipeline run` (the real program, following a stream) whose output the test reads as it comes:
/// each stdout line with the moment it arrived, and stderr. Stopped with Ctrl-C (SIGINT) or killed (SIGKILL).
/// </summary>
internal sealed class LiveRun : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<(DateTimeOffset At, string Line)> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LiveRun(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, bool stdin)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) _stdoutClosed.TrySetResult();
            else _stdout.Enqueue((DateTimeOffset.UtcNow, e.Data));
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) _stderrClosed.TrySetResult();
            else _stderr.Enqueue(e.Data);
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <param name="stdin">Give the program a stdin pipe the test writes with <see cref="WriteLineAsync"/> and leaves open.</param>
    public static LiveRun Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, bool stdin = false) => new(args, environment, stdin);

    /// <summary>One line to the program's stdin (started with <c>stdin: true</c>), flushed; the pipe stays open.</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stderr => string.Join('\n', _stderr);

    /// <summary>The JSON lines printed so far, with when each arrived (a last line cut short by a kill is left out).</summary>
    public IReadOnlyList<(DateTimeOffset At, JsonElement Json)> Lines =>
        [.. _stdout.Select(l => (l.At, Json: TryParse(l.Line))).Where(l => l.Json is not null).Select(l => (l.At, l.Json!.Value))];

    public IReadOnlyList<JsonElement> Digests => [.. Lines.Select(l => l.Json).Where(IsDigest)];

    /// <summary>The handler's and the sweeper's structured log lines (JSON) printed to stderr so far.</summary>
    public IReadOnlyList<JsonElement> LogLines => [.. _stderr.Select(TryParse).OfType<JsonElement>()];

    public static bool IsDigest(JsonElement line) => line.ValueKind == JsonValueKind.Object && line.TryGetProperty("type", out var t) && t.GetString() == "digest";

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds or <paramref name="timeout"/> passes (or the process ends); returns whether it held.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (condition()) return true;
            if (deadline.Elapsed > timeout || _process.HasExited) return condition();
            await Task.Delay(100);
        }
    }

    /// <summary>Ctrl-C: SIGINT, then waits for the clean stop (exit code 130) and the end of its output.</summary>
    public async Task<int> InterruptAsync()
    {
        if (!_process.HasExited)
        {
            using var interrupt = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await interrupt.WaitForExitAsync();
        }
        await WaitForExitAsync(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    /// <summary>kill -9: the process dies wherever it stands.</summary>
    public async Task KillAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It had exited already.
        }
        await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(cts.Token);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
        _process.Dispose();
    }

    internal static JsonElement? TryParse(string line)
    {
        if (line.Length == 0 || line[0] != '{') return null;
        try
        {
            return JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null; // the last line of a killed process may be cut short
        }
    }
}

/// <summary>Puts records into kinesalite from the test process, each when its time comes on the wall clock.</summary>
internal static class LivePut
{
    public static KinesisClient Client(string endpoint) => new(new KinesisClientOptions
    {
        Region = "us-east-1",
        ServiceUrl = new Uri(endpoint),
        Credentials = new BasicAWSCredentials("x", "x"),
        StatusPollInterval = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(20),
    });

    public static PutRecordsEntry Entry(OrgStreamEvent e) => new(Encoding.UTF8.GetBytes(e.Line), e.Account);

    /// <summary>
    /// Puts each event at (or just after) its moment on the wall clock, never before, in small PutRecords batches of
    /// what is due; returns when the last one is in. Partition key = account, as the EventBridge target sets it.
    /// </summary>
    public static async Task InRealTimeAsync(KinesisClient client, string stream, IEnumerable<(DateTimeOffset At, OrgStreamEvent Event)> schedule, CancellationToken cancellationToken = default)
    {
        var ordered = schedule.OrderBy(s => s.At).ToList();
        int i = 0;
        while (i < ordered.Count)
        {
            var wait = ordered[i].At - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken); // pacing the producer, not an assertion
            var now = DateTimeOffset.UtcNow;
            var batch = new List<PutRecordsEntry>();
            while (i < ordered.Count && ordered[i].At <= now && batch.Count < 100) batch.Add(Entry(ordered[i++].Event));
            var outcome = await client.PutRecordsAsync(stream, batch, cancellationToken);
            if (outcome.FailedCount > 0) throw new InvalidOperationException($"{outcome.FailedCount} records not put");
        }
    }

    /// <summary>One event of <paramref name="account"/> at <paramref name="time"/> (a unique event id).</summary>
    public static OrgStreamEvent Event(string account, DateTimeOffset time, string eventName = "CreateTags")
    {
        var id = Guid.NewGuid().ToString("N");
        var envelope = OrgStream.WithTime(Events.ApiCall(account: account, time: time, eventName: eventName, eventId: id, envelopeId: "env-" + id), time);
        return new OrgStreamEvent(account, time, envelope);
    }

    /// <summary>The wall clock now, to the millisecond (as envelopes state times).</summary>
    public static DateTimeOffset Now()
    {
        var now = DateTimeOffset.UtcNow;
        return new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
    }
}
