using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Pipeline.Cli.Lambda;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Tests.Lambda;

/// <summary>
/// The NativeAOT bootstrap, started as Lambda starts it (no arguments, AWS_LAMBDA_RUNTIME_API set), against a
/// Runtime API on loopback that plays one shard's tumbling window, with the ledger in dynalite and digests
/// posted to a webhook on loopback.
/// </summary>
public sealed class BootstrapProcessTests(AotBootstrapFixture aot, DynaliteFixture dynalite)
    : IClassFixture<AotBootstrapFixture>, IClassFixture<DynaliteFixture>
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private sealed class Bootstrap : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();

        public Bootstrap(string path, IDictionary<string, string> env)
        {
            var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.Environment.Clear();
            info.Environment["PATH"] = System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
            info.Environment["HOME"] = Path.GetTempPath(); // no ~/.aws of the machine's user
            foreach (var (k, v) in env) info.Environment[k] = v;
            _process = new Process { StartInfo = info };
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
        public string Output => $"stdout:\n{Stdout}\nstderr:\n{_stderr}";

        public List<JsonElement> LogLines(string message) =>
            [.. Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement.Clone())
                .Where(e => e.GetProperty("message").GetString()!.StartsWith(message, StringComparison.Ordinal))];

        public int? WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout) ? _process.ExitCode : null;

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
            _process.Dispose();
        }
    }

    private Dictionary<string, string> LambdaEnvironment(LocalRuntimeApi api, string table) => new()
    {
        ["AWS_LAMBDA_RUNTIME_API"] = api.Address,
        ["LEDGER_TABLE"] = table,
        ["DYNAMODB_ENDPOINT"] = dynalite.Endpoint,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ACCESS_KEY_ID"] = "x",
        ["AWS_SECRET_ACCESS_KEY"] = "x",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["DIGEST_WEBHOOK_URL"] = api.WebhookUrl.ToString(),
        ["BURST_GAP"] = "120",
        ["BURST_MAX_WINDOW"] = "900",
        ["STATE_MAX_BYTES"] = "6000",
    };

    private static System.Text.Json.Nodes.JsonObject Call(string account, double minutes) =>
        Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes));

    private static async Task<(Dictionary<string, string>? State, List<string> Failures, RuntimeReply Reply)> Invoke(LocalRuntimeApi api, KinesisBatch batch, Bootstrap process)
    {
        var id = api.Enqueue(batch.ToJson());
        RuntimeReply reply;
        try
        {
            reply = await api.NextReplyAsync(ReplyTimeout);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\n" + process.Output, e);
        }
        Assert.True(reply.Kind == RuntimeReply.Response, $"{reply.Kind} {reply.ErrorType}: {reply.Text}\n{process.Output}");
        Assert.Equal(id, reply.RequestId);
        var (state, failures) = KinesisBatch.ReadResponse(reply.Body);
        return (state, failures, reply);
    }

    private static List<(string DigestId, string Text)> Posts(LocalRuntimeApi api) =>
        [.. api.WebhookPosts.Select(p =>
        {
            using var doc = JsonDocument.Parse(p);
            return (doc.RootElement.GetProperty("digestId").GetString()!, doc.RootElement.GetProperty("text").GetString()!);
        })];

    [SkippableFact]
    public async Task Bootstrap_plays_a_tumbling_window_with_a_retried_batch_a_malformed_record_an_oversize_state_and_a_final_invocation()
    {
        using var client = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        var table = await DynamoDbDigestLedgerTests.CreateTableAsync(client);
        await using var api = new LocalRuntimeApi();
        using var process = new Bootstrap(aot.BootstrapPath, LambdaEnvironment(api, table));

        // 1. Normal batch with a malformed record and undecodable data: accepted, rejected, nothing posted yet.
        var first = new KinesisBatch().Add(Call("111111111111", 0)).Add(Call("111111111111", 0.5)).Add(Call("222222222222", 0.2))
            .AddData("not json at all"u8.ToArray()).AddRawData("%%%");
        var r1 = await Invoke(api, first, process);
        Assert.Empty(r1.Failures);
        Assert.True(r1.State!.ContainsKey(WindowStateCodec.Key));
        Assert.Empty(api.WebhookPosts);
        var rejected = process.LogLines("record rejected");
        Assert.Equal([first.SequenceNumbers[3], first.SequenceNumbers[4]], rejected.Select(l => l.GetProperty("sequenceNumber").GetString()));

        // 2. A batch that closes two bursts; delivery breaks after the first post: retry from the batch's start, state unchanged.
        var closing = new KinesisBatch { State = r1.State }.Add(Call("333333333333", 10));
        api.FailWebhookPosts(count: 1, after: 1);
        var r2 = await Invoke(api, closing, process);
        Assert.Equal([closing.SequenceNumbers[0]], r2.Failures);
        Assert.Equal(r1.State, r2.State);
        Assert.Single(api.WebhookPosts);

        // 3. Lambda retries the batch: the digest posted before the failure is not posted again.
        var r3 = await Invoke(api, closing.With(r2.State), process);
        Assert.Empty(r3.Failures);
        var posts = Posts(api);
        Assert.Equal(2, posts.Count);
        Assert.Equal(2, posts.Select(p => p.DigestId).Distinct().Count());
        Assert.Contains(posts, p => p.Text.Contains("111111111111", StringComparison.Ordinal));
        Assert.Contains(posts, p => p.Text.Contains("222222222222", StringComparison.Ordinal));

        // 4. Many accounts at once: the state would outgrow its budget, so the oldest bursts close early.
        var crowd = new KinesisBatch { State = r3.State };
        for (int i = 0; i < 120; i++) crowd.Add(Call($"{500000000000 + i}", 10 + i * 0.001));
        var r4 = await Invoke(api, crowd, process);
        Assert.Empty(r4.Failures);
        Assert.True(r4.Reply.Body.Length <= 6000, $"response is {r4.Reply.Body.Length} bytes");
        Assert.Contains(Posts(api).Skip(2), p => p.Text.Contains("[window-end]", StringComparison.Ordinal));
        var early = Assert.Single(process.LogLines("window state over its budget")).GetProperty("burstsClosedEarly").GetInt32();
        Assert.InRange(early, 1, 119);
        Assert.Equal(2 + early, api.WebhookPosts.Count);

        // 5. The window's final invocation posts every burst still open and returns an empty state.
        var r5 = await Invoke(api, new KinesisBatch { State = r4.State, Final = true }, process);
        Assert.Empty(r5.Failures);
        Assert.Empty(r5.State!);
        posts = Posts(api);
        Assert.Equal(123, posts.Count); // accounts 1, 2, 3 and the 120 of the crowd: one digest each
        Assert.Equal(posts.Count, posts.Select(p => p.DigestId).Distinct().Count());
        var end = Assert.Single(process.LogLines("window closed"));
        Assert.True(end.GetProperty("balanced").GetBoolean(), end.GetRawText());
        Assert.Equal(126, end.GetProperty("received").GetInt64());
        Assert.Equal(2, end.GetProperty("rejected").GetInt64());

        // An event that is not a Kinesis event is an invocation error, and the function keeps serving.
        api.Enqueue("""{"hello":"world"}"""u8.ToArray());
        var error = await api.NextReplyAsync(ReplyTimeout);
        Assert.Equal(RuntimeReply.Error, error.Kind);
        Assert.Equal("FormatException", error.ErrorType);
        Assert.Contains("\"errorMessage\"", error.Text, StringComparison.Ordinal);
        Assert.Empty((await Invoke(api, new KinesisBatch { Window = KinesisBatch.WindowStart.AddMinutes(15) }.Add(Call("111111111111", 20)), process)).Failures);
    }

    [SkippableFact]
    public async Task Bootstrap_with_an_invalid_configuration_reports_an_init_error_and_exits()
    {
        await using var api = new LocalRuntimeApi();
        var env = LambdaEnvironment(api, "ledger");
        env.Remove("LEDGER_TABLE");
        env["BURST_GAP"] = "soon";
        using var process = new Bootstrap(aot.BootstrapPath, env);

        var reply = await api.NextReplyAsync(ReplyTimeout);

        Assert.Equal(RuntimeReply.InitError, reply.Kind);
        Assert.Equal("Runtime.InvalidConfiguration", reply.ErrorType);
        using var body = JsonDocument.Parse(reply.Body);
        var message = body.RootElement.GetProperty("errorMessage").GetString();
        Assert.Contains("LEDGER_TABLE is not set", message, StringComparison.Ordinal);
        Assert.Contains("BURST_GAP='soon'", message, StringComparison.Ordinal);
        Assert.Equal("Runtime.InvalidConfiguration", body.RootElement.GetProperty("errorType").GetString());
        var exit = process.WaitForExit(TimeSpan.FromSeconds(10));
        Assert.NotNull(exit);
        Assert.NotEqual(0, exit);
    }
}
