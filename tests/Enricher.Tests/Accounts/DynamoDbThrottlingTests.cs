using System.Net;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Enricher.Accounts.DynamoDb;

namespace Pipeline.Enricher.Tests.Accounts;

/// <summary>
/// What dynalite cannot do: throttle, answer with UnprocessedKeys, keep a table CREATING. A scripted HTTP server on
/// 127.0.0.1 speaks DynamoDB's JSON protocol to the real AWS SDK client, one scripted answer per request; waits run
/// in virtual time.
/// </summary>
public sealed class DynamoDbThrottlingTests : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Queue<(int Status, string Body)> _answers = new();
    private readonly List<string> _requests = [];
    private readonly Task _loop;
    private readonly int _port;

    public DynamoDbThrottlingTests()
    {
        (_listener, _port) = Pipeline.TestSupport.LoopbackHttp.StartOnFreePort();
        _loop = Task.Run(ServeAsync);
    }

    public void Dispose()
    {
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            string request;
            using (var reader = new StreamReader(context.Request.InputStream)) request = await reader.ReadToEndAsync();
            lock (_requests) _requests.Add(request);
            (int status, string body) answer;
            lock (_answers) answer = _answers.Count > 0 ? _answers.Dequeue() : (500, "{}");
            context.Response.StatusCode = answer.status;
            context.Response.ContentType = "application/x-amz-json-1.0";
            var bytes = Encoding.UTF8.GetBytes(answer.body);
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private const string Throttled = """{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate of requests exceeds the allowed throughput."}""";

    private static string Found(params (string Id, string Name)[] items) =>
        "{\"Responses\":{\"accounts\":[" + string.Join(',', items.Select(i => $"{{\"accountId\":{{\"S\":\"{i.Id}\"}},\"name\":{{\"S\":\"{i.Name}\"}}}}")) + "]},\"UnprocessedKeys\":{}}";

    private AmazonDynamoDBClient Client() => new(new BasicAWSCredentials("x", "x"), new AmazonDynamoDBConfig
    {
        ServiceURL = $"http://127.0.0.1:{_port}",
        AuthenticationRegion = "us-east-1",
        MaxErrorRetry = 1,
        Timeout = TimeSpan.FromSeconds(5),
    });

    [Fact]
    public async Task Unprocessed_keys_are_asked_for_again_until_every_name_is_found()
    {
        lock (_answers)
        {
            _answers.Enqueue((200, "{\"Responses\":{\"accounts\":[{\"accountId\":{\"S\":\"111122223333\"},\"name\":{\"S\":\"prod\"}}]},\"UnprocessedKeys\":{\"accounts\":{\"Keys\":[{\"accountId\":{\"S\":\"444455556666\"}}]}}}"));
            _answers.Enqueue((200, Found(("444455556666", "dev"))));
        }
        using var client = Client();
        var found = await new AccountTable(client, "accounts").GetAsync(["111122223333", "444455556666"], new ImmediateTime(), default);

        Assert.Equal("prod", found["111122223333"].Name);
        Assert.Equal("dev", found["444455556666"].Name);
        Assert.Equal(2, _requests.Count);
        Assert.Contains("444455556666", _requests[1], StringComparison.Ordinal);
        Assert.DoesNotContain("111122223333", _requests[1], StringComparison.Ordinal); // only the unprocessed key again
    }

    [Fact]
    public async Task Throttling_leaves_events_with_their_ids_counts_the_failure_and_backs_off()
    {
        lock (_answers) for (int i = 0; i < 4; i++) _answers.Enqueue((400, Throttled));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));
        var warnings = new List<string>();
        using var client = Client();
        var directory = new DynamoDbAccountDirectory(client, new DynamoDbDirectoryOptions { TableName = "accounts", FailureBackoff = TimeSpan.FromSeconds(30) }, time, warnings.Add);

        var during = await directory.LookupAsync(["111122223333"], default);
        Assert.Empty(during);
        Assert.Equal(1, directory.Failures);
        Assert.Contains("ProvisionedThroughputExceeded", Assert.Single(warnings), StringComparison.Ordinal);

        // Polly's breaker samples two reads before it opens, and this directory has made no other: it asks once more.
        Assert.Empty(await directory.LookupAsync(["111122223333"], default));
        Assert.Equal(2, directory.Failures);
        Assert.Contains("retrying in 30s", warnings[1], StringComparison.Ordinal);

        int asked = _requests.Count;
        Assert.Empty(await directory.LookupAsync(["111122223333"], default)); // within the backoff: not asked again
        Assert.Equal(asked, _requests.Count);
        Assert.Equal(2, directory.Failures);

        lock (_answers) { _answers.Clear(); _answers.Enqueue((200, Found(("111122223333", "prod")))); }
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("prod", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name);
    }

    [Fact]
    public async Task During_an_outage_and_its_backoff_an_expired_name_is_still_used()
    {
        lock (_answers) _answers.Enqueue((200, Found(("111122223333", "prod"))));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));
        using var client = Client();
        var directory = new DynamoDbAccountDirectory(client, new DynamoDbDirectoryOptions { TableName = "accounts", CacheTtl = TimeSpan.FromMinutes(10), FailureBackoff = TimeSpan.FromSeconds(30) }, time);
        Assert.Equal("prod", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name);

        time.Advance(TimeSpan.FromMinutes(11)); // the cached name has expired, and the table is now throttling
        lock (_answers) for (int i = 0; i < 4; i++) _answers.Enqueue((400, Throttled));
        Assert.Equal("prod", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name); // the failed read
        int asked = _requests.Count;
        Assert.Equal("prod", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name); // backing off, not asking
        Assert.Equal(asked, _requests.Count);
        Assert.Equal(1, directory.Failures);
    }

    [Fact]
    public async Task A_failed_probe_after_the_break_opens_the_circuit_again_at_once()
    {
        lock (_answers) _answers.Enqueue((200, Found(("111122223333", "prod"))));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));
        var warnings = new List<string>();
        using var client = Client();
        var directory = new DynamoDbAccountDirectory(client, new DynamoDbDirectoryOptions { TableName = "accounts", CacheTtl = TimeSpan.FromMinutes(10), FailureBackoff = TimeSpan.FromSeconds(30) }, time, warnings.Add);
        Assert.Single(await directory.LookupAsync(["111122223333"], default));

        time.Advance(TimeSpan.FromMinutes(11));
        ThrottleEverything();
        Assert.Equal("prod", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name); // opens: a read was sampled before
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("prod", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name); // the probe fails too
        Assert.Equal(2, directory.Failures);
        Assert.All(warnings, w => Assert.Contains("retrying in 30s", w, StringComparison.Ordinal));

        int asked = _requests.Count;
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("prod", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name); // open again: not asked
        Assert.Equal(asked, _requests.Count);

        lock (_answers) { _answers.Clear(); _answers.Enqueue((200, Found(("111122223333", "prod-renamed")))); }
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("prod-renamed", (await directory.LookupAsync(["111122223333"], default))["111122223333"].Name);
        Assert.Equal(2, directory.Reads);
    }

    [Fact]
    public async Task Without_a_failure_backoff_every_lookup_asks_again()
    {
        ThrottleEverything();
        var warnings = new List<string>();
        using var client = Client();
        var directory = new DynamoDbAccountDirectory(client, new DynamoDbDirectoryOptions { TableName = "accounts", FailureBackoff = TimeSpan.Zero }, new FakeTimeProvider(), warnings.Add);

        for (int i = 0; i < 3; i++) Assert.Empty(await directory.LookupAsync(["111122223333"], default));

        Assert.Equal(3, directory.Failures);
        Assert.All(warnings, w => Assert.Contains("asking again at the next lookup", w, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_new_table_is_asked_every_250ms_until_it_is_active()
    {
        lock (_answers)
        {
            _answers.Enqueue((200, """{"TableDescription":{"TableName":"accounts","TableStatus":"CREATING"}}"""));
            _answers.Enqueue((200, Described("CREATING")));
            _answers.Enqueue((200, Described("CREATING")));
            _answers.Enqueue((200, Described("ACTIVE")));
        }
        var time = new Pipeline.TestSupport.InstantTimeProvider();
        using var client = Client();

        Assert.True(await new AccountTable(client, "accounts").CreateIfMissingAsync(time, default));

        Assert.Equal(4, _requests.Count);
        Assert.Equal([TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250)], time.Delays);
    }

    [Fact]
    public async Task A_table_still_creating_after_120_polls_is_a_timeout()
    {
        lock (_answers)
        {
            _answers.Enqueue((200, """{"TableDescription":{"TableName":"accounts","TableStatus":"CREATING"}}"""));
            for (int i = 0; i < 120; i++) _answers.Enqueue((200, Described("CREATING")));
        }
        var time = new Pipeline.TestSupport.InstantTimeProvider();
        using var client = Client();

        await Assert.ThrowsAsync<TimeoutException>(() => new AccountTable(client, "accounts").CreateIfMissingAsync(time, default));

        Assert.Equal(121, _requests.Count);
        Assert.Equal(Enumerable.Repeat(TimeSpan.FromMilliseconds(250), 119), time.Delays);
    }

    [Fact]
    public async Task Unprocessed_keys_are_asked_for_8_more_times_backing_off_to_2s_then_fail()
    {
        const string nothingProcessed = "{\"Responses\":{\"accounts\":[]},\"UnprocessedKeys\":{\"accounts\":{\"Keys\":[{\"accountId\":{\"S\":\"111122223333\"}}]}}}";
        lock (_answers) for (int i = 0; i < 9; i++) _answers.Enqueue((200, nothingProcessed));
        var time = new Pipeline.TestSupport.InstantTimeProvider();
        using var client = Client();

        await Assert.ThrowsAsync<AmazonDynamoDBException>(() => new AccountTable(client, "accounts").GetAsync(["111122223333"], time, default));

        Assert.Equal(9, _requests.Count);
        Assert.Equal(new[] { 100, 200, 400, 800, 1600, 2000, 2000, 2000 }.Select(ms => TimeSpan.FromMilliseconds(ms)), time.Delays);
    }

    [Fact]
    public async Task Unprocessed_items_are_written_again_alone()
    {
        lock (_answers)
        {
            _answers.Enqueue((200, "{\"UnprocessedItems\":{\"accounts\":[{\"PutRequest\":{\"Item\":{\"accountId\":{\"S\":\"444455556666\"},\"name\":{\"S\":\"dev\"}}}}]}}"));
            _answers.Enqueue((200, "{\"UnprocessedItems\":{}}"));
        }
        var time = new Pipeline.TestSupport.InstantTimeProvider();
        using var client = Client();

        await new AccountTable(client, "accounts").PutAsync([new("111122223333", "prod"), new("444455556666", "dev")], time.GetUtcNow(), time, default);

        Assert.Equal(2, _requests.Count);
        Assert.Contains("111122223333", _requests[0], StringComparison.Ordinal);
        Assert.DoesNotContain("111122223333", _requests[1], StringComparison.Ordinal);
        Assert.Contains("444455556666", _requests[1], StringComparison.Ordinal);
        Assert.Equal([TimeSpan.FromMilliseconds(100)], time.Delays);
    }

    private static string Described(string status) => $$$"""{"Table":{"TableName":"accounts","TableStatus":"{{{status}}}"}}""";

    /// <summary>Every request from now on is throttled (the SDK's own retry included).</summary>
    private void ThrottleEverything()
    {
        lock (_answers)
        {
            _answers.Clear();
            for (int i = 0; i < 20; i++) _answers.Enqueue((400, Throttled));
        }
    }

    /// <summary>A clock whose delays end at once, so retry backoff costs no test time.</summary>
    private sealed class ImmediateTime : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new Timer(callback, state, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            return timer;
        }
    }
}
