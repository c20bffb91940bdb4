using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Metrics;
using Pipeline.Lambda.Runtime;
using Pipeline.Slack;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Slack;
using Pipeline.TestSupport.Sqs;

namespace Pipeline.Lambda.Tests.Metrics;

/// <summary>
/// The function's CloudWatch metrics as it writes them: the function built by <see cref="FunctionHost.CreateHandlerAsync"/>
/// with its meter, its tables in dynalite, Slack on the loopback server, the outbox in the SQS peer, each invocation
/// served by <see cref="MeteredFunction"/>; every EMF line is read back as CloudWatch would read it.
/// </summary>
public sealed class FunctionMetricsTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IDisposable
{
    private const string WebhookChannel = "metrics";
    private const string A = "111111111111", B = "222222222222", C = "333333333333";
    private readonly FakeTimeProvider _time = new(Events.T0.AddMinutes(20));
    private readonly LoopbackSlackServer _slack = new();
    private readonly LoopbackSqsServer _sqs = new();
    private readonly HttpClient _http = SlackDelivery.CreateHttpClient();
    private readonly StringWriter _stdout = new();
    private readonly string _muteFile = Path.Combine(Path.GetTempPath(), $"metrics-mute-{Guid.NewGuid():N}.json");
    private AmazonSQSClient? _sqsClient;
    private AmazonDynamoDBClient? _dynamo;
    private int _requests;

    public void Dispose()
    {
        _http.Dispose();
        _slack.Dispose();
        _sqsClient?.Dispose();
        _sqs.Dispose();
        _dynamo?.Dispose();
        File.Delete(_muteFile);
    }

    private async Task<MeteredFunction> FunctionAsync(string? ledgerTable = null, string? carryTable = null, string silenceAfter = "6h")
    {
        _dynamo = DynamoDbDigestLedgerTests.Client(dynalite.Endpoint);
        _sqsClient = new AmazonSQSClient(new BasicAWSCredentials("x", "x"),
            new AmazonSQSConfig { ServiceURL = _sqs.Endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        await File.WriteAllTextAsync(_muteFile, """{"rules":[{"name":"quiet-reads","pattern":{"detail":{"eventName":["DescribeInstances"]}}}]}""");
        var env = new Dictionary<string, string>
        {
            ["LEDGER_TABLE"] = ledgerTable ?? await DynamoDbDigestLedgerTests.CreateTableAsync(_dynamo),
            ["CARRY_TABLE"] = carryTable ?? await Carry.DynamoDbCarryStoreTests.CreateTableAsync(_dynamo),
            ["SLACK_WEBHOOK_SECRET"] = "env:TEST_SLACK_WEBHOOK",
            ["TEST_SLACK_WEBHOOK"] = _slack.WebhookUri(WebhookChannel).ToString(),
            ["MUTE_RULES"] = _muteFile,
            ["ROLLUP_MIN_ACCOUNTS"] = "0",
            ["ALERT_SEVERITY"] = "off",
            ["SLACK_MIN_INTERVAL"] = "0", // the clock is the test's: no pacing waits
            ["OUTBOX_QUEUE_URL"] = _sqs.QueueUrl(),
            ["OUTBOX_DRAIN_INTERVAL"] = "off",
            ["SILENCE_AFTER"] = silenceAfter,
        };
        var options = LambdaOptions.FromEnvironment(n => env.GetValueOrDefault(n));
        var meter = new InvocationMeter(_time);
        var log = new LambdaLog(_stdout, _time);
        var (handler, sweeper) = await FunctionHost.CreateHandlerAsync(options, log, n => env.GetValueOrDefault(n), _time,
            new SeededRandom().NextDouble, default, _sqsClient, _http, _dynamo, meter);
        return new MeteredFunction(handler, sweeper, meter, new EmfWriter(_stdout, _time, "org-digests-fn"));
    }

    private Task<byte[]> InvokeAsync(MeteredFunction function, byte[] body) =>
        function.InvokeAsync(new Invocation($"req-{++_requests}", null, null, null, body), default);

    private static System.Text.Json.Nodes.JsonObject Call(string account, double minutes, string eventName = "CreateTags", string? id = null) =>
        Events.ApiCall(account: account, time: Events.T0.AddMinutes(minutes), eventName: eventName, eventId: id);

    /// <summary>
    /// A's and B's bursts (A's event twice, a muted read, an unreadable record), closed by C's event 10 minutes on.
    /// Six records: one rejected, one duplicate, one muted, three into bursts.
    /// </summary>
    private static KinesisBatch Mixed() => new KinesisBatch()
        .Add(Call(A, 0, id: "evt-a")).Add(Call(A, 0, id: "evt-a")).Add(Call(B, 0.5)).Add(Call(B, 0.6, "DescribeInstances"))
        .AddData("not json"u8.ToArray())
        .Add(Call(C, 10));

    /// <summary>The EMF lines written so far, each checked against the format's rules as CloudWatch applies them.</summary>
    private List<EmfLine> Metrics() =>
        [.. _stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("\"_aws\"", StringComparison.Ordinal)).Select(EmfLine.Parse)];

    [SkippableFact]
    public async Task A_window_call_reports_its_batch_counts_conserved_its_posts_their_lag_and_the_state_it_returned()
    {
        var function = await FunctionAsync();

        var response = await InvokeAsync(function, Mixed().ToJson());

        var m = Assert.Single(Metrics());
        Assert.Equal("org-digests-fn", m.Dimension);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeMilliseconds(), m.Timestamp);
        Assert.Equal("window", m.Invocation);
        Assert.Equal(6, m.Count(FunctionMetrics.Received));
        Assert.Equal(1, m.Count(FunctionMetrics.Rejected));
        Assert.Equal(1, m.Count(FunctionMetrics.Duplicates));
        Assert.Equal(1, m.Count(FunctionMetrics.Muted));
        Assert.Equal(3, m.Count(FunctionMetrics.Digested));
        Assert.Equal(m.Count(FunctionMetrics.Received), m.Count(FunctionMetrics.Rejected) + m.Count(FunctionMetrics.Duplicates) + m.Count(FunctionMetrics.Muted) + m.Count(FunctionMetrics.Digested));
        Assert.Equal(2, m.Count(FunctionMetrics.DigestsPosted));
        Assert.Equal(2, _slack.AcceptedIn(WebhookChannel).Count);
        Assert.Equal(0, m.Count(FunctionMetrics.DigestsParked));
        // Posted at T0+20m: A's newest event at T0, B's kept one at T0+0.5m (the muted read is not in the digest).
        Assert.Equal([TimeSpan.FromMinutes(19.5).TotalMilliseconds, TimeSpan.FromMinutes(20).TotalMilliseconds], m.Values(FunctionMetrics.DigestLag).Order());
        Assert.Equal(response.Length, m.Count(FunctionMetrics.WindowStateBytes));
        Assert.Equal(0, m.Count(FunctionMetrics.CarryBytes)); // not the window's end: nothing written to the carry table
        Assert.Equal(0, m.Count(FunctionMetrics.LedgerErrors));
        Assert.Equal(0, m.Count(FunctionMetrics.CarryStoreErrors));
        Assert.Equal(0, m.Count(FunctionMetrics.SilentAccountRegions));
    }

    [SkippableFact]
    public async Task The_window_end_reports_the_carry_it_wrote_and_the_sweep_that_posts_it_reports_its_lag_and_no_records()
    {
        var function = await FunctionAsync();
        var first = KinesisBatch.ReadResponse(await InvokeAsync(function, new KinesisBatch().Add(Call(C, 10)).ToJson()));
        await InvokeAsync(function, new KinesisBatch { Final = true, State = first.State }.ToJson());

        _time.SetUtcNow(Events.T0.AddMinutes(40));
        await InvokeAsync(function, """{"action":"sweep"}"""u8.ToArray());

        var lines = Metrics();
        Assert.Equal(3, lines.Count);
        var (window, end, sweep) = (lines[0], lines[1], lines[2]);
        Assert.Equal(1, window.Count(FunctionMetrics.Received));
        Assert.Equal(0, window.Count(FunctionMetrics.CarryBytes));
        Assert.Equal(0, end.Count(FunctionMetrics.Received));
        Assert.InRange(end.Count(FunctionMetrics.CarryBytes), 100, 190_000); // C's open burst went to the carry table
        Assert.False(end.Has(FunctionMetrics.DigestLag)); // nothing posted: no lag values at all
        Assert.Equal("sweep", sweep.Invocation);
        Assert.Equal(0, sweep.Count(FunctionMetrics.Received));
        Assert.Equal(0, sweep.Count(FunctionMetrics.Digested));
        Assert.Equal(1, sweep.Count(FunctionMetrics.DigestsPosted));
        Assert.Equal([TimeSpan.FromMinutes(30).TotalMilliseconds], sweep.Values(FunctionMetrics.DigestLag));
        Assert.False(sweep.Has(FunctionMetrics.WindowStateBytes)); // a sweep returns no window state
        Assert.Single(_slack.AcceptedIn(WebhookChannel));
    }

    [SkippableFact]
    public async Task The_sweep_that_reports_an_account_region_silent_counts_it_for_the_silence_alarm()
    {
        // A sent for 6 minutes and stopped; B went on to minute 20. With SILENCE_AFTER=5m, A's us-east-1 is quiet.
        var function = await FunctionAsync(silenceAfter: "5m");
        var batch = new KinesisBatch().Add(Call(A, 0)).Add(Call(A, 6)).Add(Call(B, 0)).Add(Call(B, 20));
        var first = KinesisBatch.ReadResponse(await InvokeAsync(function, batch.ToJson()));
        await InvokeAsync(function, new KinesisBatch { Final = true, State = first.State }.ToJson());

        _time.SetUtcNow(Events.T0.AddMinutes(40));
        int postedBefore = _slack.AcceptedIn(WebhookChannel).Count;
        await InvokeAsync(function, """{"action":"sweep"}"""u8.ToArray());
        int postedBySweep = _slack.AcceptedIn(WebhookChannel).Count - postedBefore;
        _time.SetUtcNow(Events.T0.AddMinutes(42));
        await InvokeAsync(function, """{"action":"sweep"}"""u8.ToArray());

        var lines = Metrics();
        Assert.Equal(["window", "window", "sweep", "sweep"], lines.Select(l => l.Invocation));
        Assert.All(lines.Take(2), l => Assert.Equal(0, l.Count(FunctionMetrics.SilentAccountRegions)));
        Assert.Equal(1, lines[2].Count(FunctionMetrics.SilentAccountRegions));
        // Every message the sweep posted is counted, the silence notice among them, with a lag each.
        Assert.Equal(postedBySweep, lines[2].Count(FunctionMetrics.DigestsPosted));
        Assert.Equal(postedBySweep, lines[2].Values(FunctionMetrics.DigestLag).Count());
        Assert.Equal(0, lines[3].Count(FunctionMetrics.SilentAccountRegions)); // reported once, not on every sweep
    }

    [SkippableFact]
    public async Task Digests_slack_refuses_are_reported_parked_not_posted_with_their_lag()
    {
        var function = await FunctionAsync();
        _slack.Enqueue(new SlackFault.RateLimited(100_000)); // beyond the cap: parked after one attempt, and the open circuit parks the next one at once

        await InvokeAsync(function, Mixed().ToJson());

        var m = Assert.Single(Metrics());
        Assert.Equal(0, m.Count(FunctionMetrics.DigestsPosted));
        Assert.Equal(2, m.Count(FunctionMetrics.DigestsParked));
        Assert.Equal(2, _sqs.Messages().Count);
        Assert.Equal(2, m.Values(FunctionMetrics.DigestLag).Count);
        Assert.Equal(6, m.Count(FunctionMetrics.Received)); // parked is done: the batch succeeded and counts
    }

    [SkippableFact]
    public async Task A_ledger_that_cannot_be_reached_is_reported_and_the_retried_batch_counts_no_records()
    {
        var function = await FunctionAsync(ledgerTable: "no-such-ledger");

        var (_, failures) = KinesisBatch.ReadResponse(await InvokeAsync(function, Mixed().ToJson()));

        Assert.NotEmpty(failures); // Lambda retries the batch
        var m = Assert.Single(Metrics());
        Assert.Equal(1, m.Count(FunctionMetrics.LedgerErrors));
        Assert.Equal(0, m.Count(FunctionMetrics.CarryStoreErrors));
        Assert.Equal(0, m.Count(FunctionMetrics.Received)); // counted once, by the retry that succeeds
        Assert.Equal(0, m.Count(FunctionMetrics.Digested));
        Assert.Equal(0, m.Count(FunctionMetrics.DigestsPosted));
        Assert.Empty(_slack.Accepted);
    }

    [SkippableFact]
    public async Task A_carry_table_that_cannot_be_reached_is_reported()
    {
        var function = await FunctionAsync(carryTable: "no-such-carries");

        var (_, failures) = KinesisBatch.ReadResponse(await InvokeAsync(function, Mixed().ToJson()));

        Assert.NotEmpty(failures);
        var m = Assert.Single(Metrics());
        Assert.Equal(1, m.Count(FunctionMetrics.CarryStoreErrors));
        Assert.Equal(0, m.Count(FunctionMetrics.LedgerErrors));
        Assert.Equal(0, m.Count(FunctionMetrics.Received));
    }

    [Fact]
    public void More_than_a_hundred_lag_values_are_spread_over_lines_as_emf_allows()
    {
        var output = new StringWriter();
        var lag = Enumerable.Range(0, 250).Select(i => (double)i).ToList();

        new EmfWriter(output, _time, "fn").Write(new InvocationMetrics { Kind = "sweep", DigestsPosted = 250, DigestLagMs = lag }, "req-1");

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(EmfLine.Parse).ToList();
        Assert.Equal([100, 100, 50], lines.Select(l => l.Values(FunctionMetrics.DigestLag).Count));
        Assert.Equal(lag, lines.SelectMany(l => l.Values(FunctionMetrics.DigestLag)));
        Assert.Equal(250, lines[0].Count(FunctionMetrics.DigestsPosted));
        Assert.All(lines.Skip(1), l => Assert.False(l.Has(FunctionMetrics.DigestsPosted))); // counted once
    }
}

/// <summary>One EMF log line, read by CloudWatch's rules: every declared metric has a numeric value (or up to 100) at the root.</summary>
internal sealed record EmfLine(long Timestamp, string Dimension, string? Invocation, IReadOnlyDictionary<string, (string Unit, IReadOnlyList<double> Values)> Metrics)
{
    private static readonly HashSet<string> Units = ["Count", "Bytes", "Milliseconds"];

    public bool Has(string name) => Metrics.ContainsKey(name);

    public IReadOnlyList<double> Values(string name) => Metrics[name].Values;

    public long Count(string name) => (long)Assert.Single(Metrics[name].Values);

    public static EmfLine Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        var aws = root.GetProperty("_aws");
        long timestamp = aws.GetProperty("Timestamp").GetInt64();
        var directive = Assert.Single(aws.GetProperty("CloudWatchMetrics").EnumerateArray());
        Assert.Equal(FunctionMetrics.Namespace, directive.GetProperty("Namespace").GetString());
        var dimensionSet = Assert.Single(directive.GetProperty("Dimensions").EnumerateArray());
        Assert.Equal(FunctionMetrics.FunctionDimension, Assert.Single(dimensionSet.EnumerateArray()).GetString());
        var dimension = root.GetProperty(FunctionMetrics.FunctionDimension).GetString()!;
        var metrics = new Dictionary<string, (string, IReadOnlyList<double>)>();
        foreach (var definition in directive.GetProperty("Metrics").EnumerateArray())
        {
            var name = definition.GetProperty("Name").GetString()!;
            var unit = definition.GetProperty("Unit").GetString()!;
            Assert.Contains(unit, Units);
            var value = root.GetProperty(name); // a declared metric without a value is dropped by CloudWatch
            IReadOnlyList<double> values = value.ValueKind == JsonValueKind.Array
                ? [.. value.EnumerateArray().Select(v => v.GetDouble())]
                : [value.GetDouble()];
            Assert.InRange(values.Count, 1, 100);
            metrics.Add(name, (unit, values));
        }
        string? invocation = root.TryGetProperty("invocation", out var i) ? i.GetString() : null;
        return new EmfLine(timestamp, dimension, invocation, metrics);
    }
}
