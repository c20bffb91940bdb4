using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace Pipeline.Kinesis.Tests;

/// <summary>Retries, backoff and error handling against a scripted Kinesis on loopback; the clock is fake, nothing sleeps.</summary>
public sealed class RetryAndErrorTests
{
    private static readonly TimeSpan Ms100 = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Ms200 = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task PutRecords_resends_only_the_entries_that_failed()
    {
        var attempt = 0;
        using var server = new ScriptedKinesis(call =>
        {
            var sent = call.Body.GetProperty("Records").EnumerateArray().ToList();
            // First answer: entries 1 and 3 throttled / internal failure; second answer: all good.
            var failing = Interlocked.Increment(ref attempt) == 1 ? new HashSet<int> { 1, 3 } : [];
            var entries = sent.Select((_, i) => failing.Contains(i)
                ? $$"""{"ErrorCode":"{{(i == 1 ? "ProvisionedThroughputExceededException" : "InternalFailure")}}","ErrorMessage":"slow down"}"""
                : $$"""{"SequenceNumber":"{{attempt}}{{i:D3}}","ShardId":"shardId-000000000000"}""");
            return (200, $$"""{"FailedRecordCount":{{failing.Count}},"Records":[{{string.Join(',', entries)}}]}""");
        });
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url), time);
        var records = Enumerable.Range(0, 5).Select(i => new PutRecordsEntry(Encoding.UTF8.GetBytes($"r{i}"), "acct")).ToList();

        var outcome = await client.PutRecordsAsync("s", records);

        Assert.Equal(0, outcome.FailedCount);
        Assert.Equal(2, outcome.Requests);
        var calls = server.CallsTo("PutRecords");
        Assert.Equal(["r0", "r1", "r2", "r3", "r4"], SentData(calls[0]));
        Assert.Equal(["r1", "r3"], SentData(calls[1]));
        Assert.Equal("2000", outcome.Results[1].SequenceNumber); // the retry's answer landed on the right input
        Assert.Equal("2001", outcome.Results[3].SequenceNumber);
        Assert.Equal("1004", outcome.Results[4].SequenceNumber);
        Assert.Equal([Ms100], time.Delays);
    }

    [Fact]
    public async Task PutRecords_reports_entries_still_failing_after_the_last_attempt()
    {
        using var server = new ScriptedKinesis(call =>
        {
            var count = call.Body.GetProperty("Records").GetArrayLength();
            var entries = Enumerable.Range(0, count).Select(i => SentData(call)[i] == "bad"
                ? """{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard"}"""
                : """{"SequenceNumber":"1","ShardId":"shardId-000000000000"}""");
            return (200, $$"""{"FailedRecordCount":1,"Records":[{{string.Join(',', entries)}}]}""");
        });
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url) with { MaxAttempts = 3 }, time);

        var outcome = await client.PutRecordsAsync("s", [Entry("ok"), Entry("bad"), Entry("ok")]);

        Assert.Equal([1], outcome.FailedIndexes);
        Assert.Equal("ProvisionedThroughputExceededException", outcome.Results[1].ErrorCode);
        Assert.Equal("Rate exceeded for shard", outcome.Results[1].ErrorMessage);
        Assert.Equal(3, server.CallsTo("PutRecords").Count);
        Assert.Equal([Ms100, Ms200], time.Delays);
    }

    [Fact]
    public async Task PutRecords_splits_1200_records_into_requests_of_at_most_500()
    {
        using var server = new ScriptedKinesis(call =>
        {
            var count = call.Body.GetProperty("Records").GetArrayLength();
            return (200, $$"""{"FailedRecordCount":0,"Records":[{{string.Join(',', Enumerable.Repeat("""{"SequenceNumber":"1","ShardId":"shardId-000000000000"}""", count))}}]}""");
        });
        using var client = new KinesisClient(TestClients.Options(server.Url), new InstantTimeProvider());

        var outcome = await client.PutRecordsAsync("s", [.. Enumerable.Range(0, 1200).Select(i => Entry($"{i}"))]);

        Assert.Equal([500, 500, 200], server.CallsTo("PutRecords").Select(c => c.Body.GetProperty("Records").GetArrayLength()));
        Assert.Equal(3, outcome.Requests);
    }

    [Fact]
    public async Task GetRecords_backs_off_while_throttled_then_returns_the_page()
    {
        var calls = 0;
        using var server = new ScriptedKinesis(_ => Interlocked.Increment(ref calls) <= 2
            ? (400, ScriptedKinesis.Error("ProvisionedThroughputExceededException", "Rate exceeded for shard shardId-000000000000"))
            : (200, """{"Records":[{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","ApproximateArrivalTimestamp":1545084650.987,"Data":"aGVsbG8=","PartitionKey":"k"}],"NextShardIterator":"it2","MillisBehindLatest":0}"""));
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url), time);

        var page = await client.GetRecordsAsync("it1", 100);

        var record = Assert.Single(page.Records);
        Assert.Equal("hello", Encoding.UTF8.GetString(record.Data));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1545084650987), record.ApproximateArrivalTimestamp);
        Assert.Equal("it2", page.NextShardIterator);
        Assert.Equal([Ms100, Ms200], time.Delays);
        Assert.Equal(100, server.CallsTo("GetRecords")[0].Body.GetProperty("Limit").GetInt32());
    }

    [Fact]
    public async Task GetRecords_gives_up_after_max_attempts_with_a_typed_error()
    {
        using var server = new ScriptedKinesis(_ => (400, ScriptedKinesis.Error("ProvisionedThroughputExceededException", "Rate exceeded")));
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url) with { MaxAttempts = 4 }, time);

        var error = await Assert.ThrowsAsync<KinesisException>(() => client.GetRecordsAsync("it1"));

        Assert.Equal("ProvisionedThroughputExceededException", error.ErrorType);
        Assert.Equal(400, error.StatusCode);
        Assert.True(error.IsRetryable);
        Assert.Equal(4, server.Calls.Count);
        Assert.Equal([Ms100, Ms200, TimeSpan.FromMilliseconds(400)], time.Delays);
    }

    [Fact]
    public async Task Backoff_jitter_comes_from_the_injected_source()
    {
        using var server = new ScriptedKinesis(_ => (400, ScriptedKinesis.Error("ProvisionedThroughputExceededException", "Rate exceeded")));
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url) with { MaxAttempts = 3, BackoffJitter = true, JitterSource = () => 0.5 }, time);

        await Assert.ThrowsAsync<KinesisException>(() => client.GetRecordsAsync("it1"));

        // Half of each delay is fixed, half scaled by the source: 100 ms -> 50 + 25, 200 ms -> 100 + 50.
        Assert.Equal([TimeSpan.FromMilliseconds(75), TimeSpan.FromMilliseconds(150)], time.Delays);
    }

    [Fact]
    public async Task One_attempt_means_one_call_and_no_backoff()
    {
        using var server = new ScriptedKinesis(_ => (400, ScriptedKinesis.Error("ProvisionedThroughputExceededException", "Rate exceeded")));
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url) with { MaxAttempts = 1 }, time);

        await Assert.ThrowsAsync<KinesisException>(() => client.GetRecordsAsync("it1"));
        var outcome = await client.PutRecordsAsync("s", [Entry("a")]);

        Assert.Equal(2, server.Calls.Count);
        Assert.Equal(1, outcome.Requests);
        Assert.Equal("ProvisionedThroughputExceededException", outcome.Results[0].ErrorCode);
        Assert.Empty(time.Delays);
    }

    [Fact]
    public async Task Non_retryable_errors_are_thrown_at_once()
    {
        using var server = new ScriptedKinesis(_ => (400, ScriptedKinesis.Error("ResourceNotFoundException", "Stream s under account 1 not found.")));
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url), time);

        var error = await Assert.ThrowsAsync<KinesisException>(() => client.DescribeStreamSummaryAsync("s"));

        Assert.Equal("ResourceNotFoundException", error.ErrorType);
        Assert.Equal("Stream s under account 1 not found.", error.ServiceMessage);
        Assert.False(error.IsRetryable);
        Assert.Single(server.Calls);
        Assert.Empty(time.Delays);
    }

    [Theory]
    [InlineData(400, """{"__type":"com.amazonaws.kinesis.v20131202#LimitExceededException","message":"m"}""", "LimitExceededException", true)]
    [InlineData(500, """{"__type":"InternalFailure","message":"m"}""", "InternalFailure", true)]
    [InlineData(400, """{"__type":"ExpiredIteratorException","Message":"m"}""", "ExpiredIteratorException", false)]
    [InlineData(503, "<html>Service Unavailable</html>", "Http503", true)]
    [InlineData(400, "", "Http400", false)]
    public void Error_answers_become_typed_exceptions(int status, string body, string expectedType, bool retryable)
    {
        var error = KinesisException.FromResponse(status, Encoding.UTF8.GetBytes(body));

        Assert.Equal(expectedType, error.ErrorType);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal(retryable, error.IsRetryable);
    }

    [Fact]
    public async Task A_refused_connection_is_a_retryable_connection_failure()
    {
        int port;
        using (var server = new ScriptedKinesis(_ => (200, "{}"))) port = server.Port; // closed again: nothing listens
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(new Uri($"http://127.0.0.1:{port}/")) with { MaxAttempts = 2 }, time);

        var error = await Assert.ThrowsAsync<KinesisException>(() => client.DescribeStreamSummaryAsync("s"));

        Assert.Equal(KinesisException.ConnectionFailure, error.ErrorType);
        Assert.True(error.IsRetryable);
        Assert.Equal([Ms100], time.Delays);
    }

    [Fact]
    public async Task ListShards_follows_NextToken_without_repeating_the_stream_name()
    {
        using var server = new ScriptedKinesis(call => call.Body.TryGetProperty("NextToken", out _)
            ? (200, $$"""{"Shards":[{{Shard("shardId-000000000001")}}]}""")
            : (200, $$"""{"Shards":[{{Shard("shardId-000000000000")}}],"NextToken":"page2"}"""));
        using var client = new KinesisClient(TestClients.Options(server.Url), new InstantTimeProvider());

        var shards = await client.ListShardsAsync("s", pageSize: 1);

        Assert.Equal(["shardId-000000000000", "shardId-000000000001"], shards.Select(s => s.ShardId));
        var calls = server.CallsTo("ListShards");
        Assert.Equal("s", calls[0].Body.GetProperty("StreamName").GetString());
        Assert.Equal(1, calls[0].Body.GetProperty("MaxResults").GetInt32());
        Assert.Equal("page2", calls[1].Body.GetProperty("NextToken").GetString());
        Assert.False(calls[1].Body.TryGetProperty("StreamName", out _));
    }

    [Fact]
    public async Task CreateStream_on_demand_sends_the_mode_and_waits_until_active()
    {
        var describes = 0;
        using var server = new ScriptedKinesis(call => call.Operation switch
        {
            "CreateStream" => (200, ""),
            _ => (200, $$$"""{"StreamDescriptionSummary":{"StreamName":"s","StreamARN":"arn:aws:kinesis:us-east-1:1:stream/s","StreamStatus":"{{{(Interlocked.Increment(ref describes) < 3 ? "CREATING" : "ACTIVE")}}}","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"OpenShardCount":4,"RetentionPeriodHours":24}}"""),
        });
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url), time);

        await client.CreateStreamAsync("s", shardCount: null);

        var create = server.CallsTo("CreateStream").Single().Body;
        Assert.Equal("ON_DEMAND", create.GetProperty("StreamModeDetails").GetProperty("StreamMode").GetString());
        Assert.False(create.TryGetProperty("ShardCount", out _));
        Assert.Equal(3, server.CallsTo("DescribeStreamSummary").Count);
        Assert.Equal([TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50)], time.Delays);
    }

    [Fact]
    public async Task WaitForActive_gives_up_once_ActiveTimeout_has_passed()
    {
        using var server = new ScriptedKinesis(_ => (200, """{"StreamDescriptionSummary":{"StreamName":"s","StreamARN":"arn:aws:kinesis:us-east-1:1:stream/s","StreamStatus":"UPDATING","OpenShardCount":1,"RetentionPeriodHours":24}}"""));
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url) with { ActiveTimeout = TimeSpan.FromMilliseconds(120) }, time);

        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.WaitForActiveAsync("s"));

        Assert.Contains("still UPDATING", error.Message, StringComparison.Ordinal);
        Assert.Equal(4, server.CallsTo("DescribeStreamSummary").Count); // at 0, 50, 100 and 150 ms; 150 is past the deadline
        Assert.Equal([TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50)], time.Delays);
    }

    [Fact]
    public async Task Shard_reader_gives_up_after_MaxIteratorRenewals_expired_iterators_in_a_row()
    {
        using var server = new ScriptedKinesis(call => call.Operation == "GetShardIterator"
            ? (200, """{"ShardIterator":"it"}""")
            : (400, ScriptedKinesis.Error("ExpiredIteratorException", "Iterator expired")));
        var time = new InstantTimeProvider();
        using var client = new KinesisClient(TestClients.Options(server.Url), time);
        var reader = new ShardReader(client, "s", "shardId-000000000000", new ShardReaderOptions { MaxIteratorRenewals = 2 }, time);

        var error = await Assert.ThrowsAsync<KinesisException>(async () => { await foreach (var _ in reader.ReadAsync()) { } });

        Assert.True(error.IsExpiredIterator);
        Assert.Equal(2, reader.IteratorRenewals);
        Assert.Equal(3, server.CallsTo("GetShardIterator").Count); // the first and two renewals
        Assert.Equal(3, server.CallsTo("GetRecords").Count);
        Assert.Empty(time.Delays); // renewing needs a new iterator, not a pause
    }

    [Fact]
    public async Task Shard_reader_throws_a_failed_renewal_as_it_came()
    {
        var iterators = 0;
        using var server = new ScriptedKinesis(call => call.Operation == "GetShardIterator"
            ? Interlocked.Increment(ref iterators) == 1
                ? (200, """{"ShardIterator":"it"}""")
                : (400, ScriptedKinesis.Error("ResourceNotFoundException", "Shard gone"))
            : (400, ScriptedKinesis.Error("ExpiredIteratorException", "Iterator expired")));
        using var client = new KinesisClient(TestClients.Options(server.Url), new InstantTimeProvider());
        var reader = new ShardReader(client, "s", "shardId-000000000000");

        var error = await Assert.ThrowsAsync<KinesisException>(async () => { await foreach (var _ in reader.ReadAsync()) { } });

        Assert.Equal("ResourceNotFoundException", error.ErrorType);
        Assert.Single(server.CallsTo("GetRecords"));
    }

    [Fact]
    public async Task Shard_reader_counts_renewals_in_a_row_afresh_after_each_page()
    {
        var expired = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        using var server = new ScriptedKinesis(call =>
        {
            if (call.Operation == "GetShardIterator")
                return (200, $$"""{"ShardIterator":"after-{{call.Body.GetProperty("StartingSequenceNumber").GetString()}}"}""");
            var iterator = call.Body.GetProperty("ShardIterator").GetString()!;
            // The first iterator and the one the first page hands on expire once each: one renewal per page.
            if (iterator is "after-11" or "next" && expired.TryAdd(iterator, true))
                return (400, ScriptedKinesis.Error("ExpiredIteratorException", "Iterator expired"));
            return iterator == "after-11"
                ? (200, $$"""{"Records":[{{Rec("12", "b")}}],"NextShardIterator":"next","MillisBehindLatest":0}""")
                : (200, $$"""{"Records":[{{Rec("13", "c")}}],"MillisBehindLatest":0}""");
        });
        using var client = new KinesisClient(TestClients.Options(server.Url), new InstantTimeProvider());
        var reader = new ShardReader(client, "s", "shardId-000000000000", new ShardReaderOptions { MaxIteratorRenewals = 1 });

        var read = new List<string>();
        await foreach (var record in reader.ReadAsync(checkpoint: "11")) read.Add(Encoding.UTF8.GetString(record.Data));

        Assert.Equal(["b", "c"], read);
        Assert.Equal(2, reader.IteratorRenewals); // two in all, never two in a row
        Assert.True(reader.ShardEnded);
    }

    [Fact]
    public async Task Shard_reader_renews_an_expired_iterator_from_the_last_record_it_yielded()
    {
        using var server = new ScriptedKinesis(call => (call.Operation, Iterator: call.Body.TryGetProperty("ShardIterator", out var it) ? it.GetString() : null) switch
        {
            ("GetShardIterator", _) when call.Body.GetProperty("StartingSequenceNumber").GetString() == "12" => (200, """{"ShardIterator":"renewed"}"""),
            ("GetShardIterator", _) => (200, """{"ShardIterator":"first"}"""),
            ("GetRecords", "first") => (200, $$"""{"Records":[{{Rec("11", "a")}},{{Rec("12", "b")}}],"NextShardIterator":"stale","MillisBehindLatest":1000}"""),
            ("GetRecords", "stale") => (400, ScriptedKinesis.Error("ExpiredIteratorException", "Iterator expired")),
            ("GetRecords", "renewed") => (200, $$$"""{"Records":[{{{Rec("13", "c")}}}],"MillisBehindLatest":0,"ChildShards":[{"ShardId":"shardId-000000000002","ParentShards":["shardId-000000000000"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"9"}}]}"""),
            _ => (500, "unexpected"),
        });
        using var client = new KinesisClient(TestClients.Options(server.Url), new InstantTimeProvider());
        var reader = new ShardReader(client, "s", "shardId-000000000000");

        var read = new List<string>();
        await foreach (var record in reader.ReadAsync(checkpoint: "10")) read.Add(Encoding.UTF8.GetString(record.Data));

        Assert.Equal(["a", "b", "c"], read);
        var iteratorCalls = server.CallsTo("GetShardIterator");
        Assert.Equal("10", iteratorCalls[0].Body.GetProperty("StartingSequenceNumber").GetString());
        Assert.Equal("12", iteratorCalls[1].Body.GetProperty("StartingSequenceNumber").GetString());
        Assert.Equal(1, reader.IteratorRenewals);
        Assert.True(reader.ShardEnded);
        Assert.Equal("13", reader.LastSequenceNumber);
        Assert.Equal("shardId-000000000002", Assert.Single(reader.ChildShards).ShardId);
    }

    [Fact]
    public async Task At_timestamp_iterators_send_epoch_seconds()
    {
        using var server = new ScriptedKinesis(_ => (200, """{"ShardIterator":"x"}"""));
        using var client = new KinesisClient(TestClients.Options(server.Url), new InstantTimeProvider());

        await client.GetShardIteratorAsync("s", "shardId-000000000000", ShardPosition.AtTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1545084650987)));

        var body = server.Calls.Single().Body;
        Assert.Equal("AT_TIMESTAMP", body.GetProperty("ShardIteratorType").GetString());
        Assert.Equal(1545084650.987m, body.GetProperty("Timestamp").GetDecimal());
    }

    private static PutRecordsEntry Entry(string data) => new(Encoding.UTF8.GetBytes(data), "acct");

    private static List<string> SentData(ScriptedKinesis.Call call) =>
        [.. call.Body.GetProperty("Records").EnumerateArray().Select(r => Encoding.UTF8.GetString(r.GetProperty("Data").GetBytesFromBase64()))];

    private static string Rec(string sequence, string data) =>
        $$"""{"SequenceNumber":"{{sequence}}","ApproximateArrivalTimestamp":1700000000,"Data":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes(data))}}","PartitionKey":"k"}""";

    private static string Shard(string id) =>
        $$$"""{"ShardId":"{{{id}}}","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"},"SequenceNumberRange":{"StartingSequenceNumber":"1"}}""";
}
