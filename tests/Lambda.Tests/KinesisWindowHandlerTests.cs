using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Rendering;
using Pipeline.Enricher.Accounts;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Configuration;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Tests.Carry;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Lambda;
using Pipeline.TestSupport;

namespace Pipeline.Lambda.Tests;

public sealed class KinesisWindowHandlerTests
{
    private static readonly DateTimeOffset T0 = Events.T0;

    private sealed class Harness
    {
        public Harness(int stateMaxBytes = LambdaOptions.DefaultStateMaxBytes, Func<ICarryStore, ICarryStore>? wrapCarries = null)
        {
            Ledger = new InMemoryDigestLedger(Time, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7));
            Log = new LambdaLog(LogText, Time);
            var options = new KinesisWindowHandlerOptions { StateMaxBytes = stateMaxBytes }.WithoutRollups();
            Handler = new KinesisWindowHandler(options, FileAccountDirectory.Empty, Ledger, wrapCarries?.Invoke(Carries) ?? Carries, Poster, Log, Time);
            Sweeper = new CarrySweeper(options.Core, FileAccountDirectory.Empty, Carries, Ledger, Poster, Log, Time);
        }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        public InMemoryDigestLedger Ledger { get; }
        public InMemoryCarryStore Carries { get; } = new();
        public RecordingDigestSink Poster { get; } = new();
        public StringWriter LogText { get; } = new();
        public LambdaLog Log { get; }
        public KinesisWindowHandler Handler { get; }
        public CarrySweeper Sweeper { get; }

        public Task<WindowResponse> Run(KinesisBatch batch, CancellationToken ct = default) => Handler.HandleAsync(batch.ToEvent(), ct);

        public List<JsonElement> LogLines(string message) =>
            [.. LogText.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("message").GetString()!.StartsWith(message, StringComparison.Ordinal))];
    }

    private static System.Text.Json.Nodes.JsonObject Call(string account, double minutes, string? eventId = null, string eventName = "CreateTags") =>
        Events.ApiCall(account: account, time: T0.AddMinutes(minutes), eventId: eventId, eventName: eventName);

    [Fact]
    public async Task Open_bursts_and_dedupe_memory_carry_across_invocations_of_a_window()
    {
        var h = new Harness();
        var first = await h.Run(new KinesisBatch()
            .Add(Call("111111111111", 0, "e1"))
            .Add(Call("111111111111", 0.5, "e2")));
        Assert.Empty(first.BatchItemFailures);
        Assert.Empty(h.Poster.Posted);
        Assert.True(first.State!.ContainsKey(WindowStateCodec.Key));

        var second = await h.Run(new KinesisBatch { State = first.State }
            .Add(Call("111111111111", 0.5, "e2"))       // a redelivery of an event seen in the first invocation
            .Add(Call("111111111111", 1, "e3"))
            .Add(Call("222222222222", 10, "e4")));      // moves the stream's clock past account 1's quiet gap
        Assert.True(second.BatchItemFailures.Count == 0, h.LogText.ToString());

        var digest = Assert.Single(h.Poster.Posted);
        Assert.Equal("111111111111", digest.Account);
        Assert.Equal(3, digest.EventCount);
        Assert.Equal(1, digest.Duplicates);
        Assert.Equal(BurstCloseReason.QuietGap, digest.ClosedBy);
    }

    [Fact]
    public async Task Final_invocation_posts_the_bursts_due_by_the_windows_end_and_returns_an_empty_state()
    {
        var h = new Harness();
        var open = await h.Run(new KinesisBatch().Add(Call("111111111111", 0)).Add(Call("222222222222", 0.5)));
        Assert.Empty(h.Poster.Posted);

        var final = await h.Run(new KinesisBatch { State = open.State, Final = true });

        Assert.Empty(final.BatchItemFailures);
        Assert.NotNull(final.State);
        Assert.Empty(final.State!);
        // The window ends at 15m: both accounts have been quiet for longer than gap + lateness (7m) by then.
        Assert.Equal(["111111111111", "222222222222"], h.Poster.Posted.Select(d => d.Account));
        Assert.All(h.Poster.Posted, d => Assert.Equal(BurstCloseReason.QuietGap, d.ClosedBy));
        // No burst left to carry; each account's dedupe memory is, for redeliveries in later windows. No claim stays.
        Assert.All(h.Carries.Items.Values, c => Assert.Equal((null, 1), (c!.Open, c.Dedupe.Count)));
        Assert.All(h.Carries.Items.Keys, a => Assert.Null(h.Carries.OwnerOf(a)));
        var end = Assert.Single(h.LogLines("window closed"));
        Assert.True(end.GetProperty("balanced").GetBoolean());
        Assert.Equal(2, end.GetProperty("received").GetInt64());
        Assert.Equal(2, end.GetProperty("digested").GetInt64());
    }

    [Fact]
    public async Task A_burst_open_at_a_windows_end_is_carried_and_closes_by_its_own_rules_in_the_next_window()
    {
        var h = new Harness();
        // A deploy from 10m to 20m crosses the 15m window boundary; a redelivery of its first call comes in the next window.
        var first = new KinesisBatch();
        for (double m = 10; m < 15; m += 0.5) first.Add(Call("111111111111", m, $"e{m}"));
        var state = (await h.Run(first)).State;
        var end = await h.Run(new KinesisBatch { State = state, Final = true });
        Assert.Empty(end.BatchItemFailures);
        Assert.Empty(h.Poster.Posted); // not cut at the window's end
        var carried = h.Carries.Items["111111111111"]!;
        Assert.Equal(10, carried.Open!.TotalEventCount); // the role's calls are in its lane
        Assert.Null(h.Carries.OwnerOf("111111111111"));

        var next = new KinesisBatch { Window = KinesisBatch.WindowStart.AddMinutes(15) };
        for (double m = 15; m < 20; m += 0.5) next.Add(Call("111111111111", m, $"e{m}"));
        next.Add(Call("111111111111", 10, "e10")); // the redelivery: the carried dedupe memory knows it
        next.Add(Call("222222222222", 28, "x"));    // another account's call moves the clock past gap + lateness
        await h.Run(next);

        var digest = Assert.Single(h.Poster.Posted);
        Assert.Equal((20, 1, BurstCloseReason.QuietGap), (digest.EventCount, digest.Duplicates, digest.ClosedBy));
        Assert.Equal((T0.AddMinutes(10), T0.AddMinutes(19.5)), (digest.FirstEventTime, digest.LastEventTime));
        var window = Assert.Single(h.LogLines("window closed"));
        Assert.Equal(10, window.GetProperty("carriedOut").GetInt64());
    }

    [Fact]
    public async Task A_redelivery_in_the_next_window_after_a_far_future_event_is_a_duplicate_not_digested_twice()
    {
        // One account's clock a year ahead: its claim must stay unconfirmed in the carries the next window restores.
        var h = new Harness();
        var year = 365 * 24 * 60.0;
        var first = new KinesisBatch().Add(Call("111111111111", 0, "e1")).Add(Call("444455556666", year, "future"));
        var state = (await h.Run(first)).State;
        Assert.Empty((await h.Run(new KinesisBatch { State = state, Final = true })).BatchItemFailures);

        var next = new KinesisBatch { Window = KinesisBatch.WindowStart.AddMinutes(15) }
            .Add(Call("111111111111", 16, "e2"))                             // its carry is put back first, the far-future one's next
            .Add(Call("444455556666", year + 1, "future2"))                  // the same wrong clock: still one account's word
            .Add(Call("111111111111", 0, "e1"), T0.AddMinutes(16));          // the redelivery of the first window's event
        var second = await h.Run(next);
        Assert.Empty(second.BatchItemFailures);
        Assert.Empty((await h.Run(new KinesisBatch { Window = next.Window, State = second.State, Final = true })).BatchItemFailures);

        var batch = h.LogLines("batch processed")[2].GetProperty("batch"); // the next window's first call
        Assert.Equal((3, 1), (batch.GetProperty("received").GetInt64(), batch.GetProperty("duplicates").GetInt64()));
        Assert.Equal(2, h.Poster.Posted.Where(d => d.Account == "111111111111").Sum(d => d.EventCount)); // e1 once, e2
    }

    [Fact]
    public async Task A_windows_first_batch_waits_for_its_claims_before_anything_is_deduplicated_and_dedupes_against_the_carries()
    {
        ClaimsOnHold? claims = null;
        var h = new Harness(wrapCarries: inner => claims = new ClaimsOnHold(inner));
        var state = (await h.Run(new KinesisBatch().Add(Call("111111111111", 0, "e1")))).State;
        Assert.Empty((await h.Run(new KinesisBatch { State = state, Final = true })).BatchItemFailures);

        claims!.Hold();
        var next = new KinesisBatch { Window = KinesisBatch.WindowStart.AddMinutes(15) }
            .Add(Call("111111111111", 16, "e2"))
            .Add(Call("111111111111", 0, "e1"), T0.AddMinutes(16)); // a redelivery: only the carried memory knows it
        // The handler parses the records while the claims are in flight (a speed-up the benchmark measures, not this
        // test); what is tested is the order: nothing is deduplicated or windowed before the carries are in the core.
        var running = h.Run(next);
        await claims.Asked.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(running.IsCompleted);
        claims.Release();
        var response = await running;

        Assert.Empty(response.BatchItemFailures);
        var batch = h.LogLines("batch processed")[2].GetProperty("batch");
        Assert.Equal((2, 1), (batch.GetProperty("received").GetInt64(), batch.GetProperty("duplicates").GetInt64()));
        Assert.Equal(1, h.LogLines("batch processed")[2].GetProperty("carriesClaimed").GetInt64());
    }

    /// <summary>Passes every call on; once held, a claim waits until the test releases it (a slow table).</summary>
    private sealed class ClaimsOnHold(ICarryStore inner) : PassThroughCarryStore(inner)
    {
        private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _held;

        public Task Asked => _asked.Task;

        public void Hold() => _held = true;

        public void Release() => _released.TrySetResult();

        public override async Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
        {
            if (_held)
            {
                _asked.TrySetResult();
                await _released.Task.WaitAsync(cancellationToken);
            }
            return await Inner.ClaimAsync(accounts, owner, token, now, leaseUntil, cancellationToken);
        }
    }

    [Fact]
    public async Task Splitting_a_window_into_batches_gives_the_digests_one_batch_gives()
    {
        var events = new List<System.Text.Json.Nodes.JsonObject>();
        string[] accounts = ["111111111111", "222222222222", "333333333333"];
        for (int i = 0; i < 60; i++)
            events.Add(Call(accounts[i % 3], i * 0.18 + (i > 30 ? 3 : 0), eventName: i % 7 == 0 ? "DeleteTrail" : "RunInstances"));
        events.Add(events[5]);  // a redelivery
        events.Add(events[40]); // and another, across a batch boundary

        var whole = new Harness();
        await whole.Run(new KinesisBatch { Final = true }.AddAll(events));
        await whole.Sweeper.SweepAsync("end", flushAll: true, default); // what the window carried closes, as at the end of input

        var split = new Harness();
        IReadOnlyDictionary<string, string>? state = null;
        foreach (var chunk in events.Chunk(17))
            state = (await split.Run(new KinesisBatch { State = state }.AddAll(chunk))).State;
        await split.Run(new KinesisBatch { State = state, Final = true });
        await split.Sweeper.SweepAsync("end", flushAll: true, default);

        static string Render(IEnumerable<Digest> digests)
        {
            using var stream = new MemoryStream();
            foreach (var d in digests) DigestJson.WriteDigest(stream, d);
            return System.Text.Encoding.UTF8.GetString(stream.ToArray());
        }
        Assert.True(whole.Poster.Posted.Count >= 4);
        Assert.Equal(Render(whole.Poster.Posted), Render(split.Poster.Posted));
        Assert.True(Assert.Single(split.LogLines("window closed")).GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task Oversize_state_closes_the_oldest_bursts_early_and_stays_under_the_budget()
    {
        const int budget = 20_000;
        var h = new Harness(stateMaxBytes: budget);
        var batch = new KinesisBatch();
        for (int i = 0; i < 400; i++)
            batch.Add(Call($"{100000000000 + i}", i * 0.001, eventName: "Event" + i));

        var response = await h.Run(batch);

        Assert.Empty(response.BatchItemFailures);
        Assert.True(response.SizeInBytes() <= budget, $"response is {response.SizeInBytes()} bytes");
        Assert.NotEmpty(h.Poster.Posted);
        Assert.All(h.Poster.Posted, d => Assert.Equal(BurstCloseReason.WindowEnd, d.ClosedBy));
        // The oldest bursts went first: the closed ones are a prefix of the accounts in arrival order.
        var closed = h.Poster.Posted.Select(d => d.Account).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(0, closed.Count).Select(i => $"{100000000000 + i}"), closed);
        var warning = Assert.Single(h.LogLines("window state over its budget"));
        Assert.Equal(closed.Count, warning.GetProperty("burstsClosedEarly").GetInt32());

        await h.Run(new KinesisBatch { State = response.State, Final = true });
        Assert.Equal(400, h.Poster.Posted.Select(d => d.Account).Distinct().Count());
        Assert.Equal(400, h.Poster.Posted.Count);
        // Each digest keeps its own burst's counts, those closed early included, though the storage of a closed burst's
        // counts goes to the bursts after it.
        Assert.All(h.Poster.Posted, d => Assert.Equal(
            [new KeyValuePair<string, int>("Event" + (long.Parse(d.Account, System.Globalization.CultureInfo.InvariantCulture) - 100000000000), 1)],
            d.EventNames));
        Assert.True(Assert.Single(h.LogLines("window closed")).GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task Malformed_records_are_rejected_with_their_sequence_numbers_and_do_not_fail_the_batch()
    {
        var h = new Harness();
        var batch = new KinesisBatch()
            .Add(Call("111111111111", 0))
            .AddData("{\"truncated\": "u8.ToArray())
            .AddRawData("@@not-base64@@")
            .Add(Events.ApiCall(account: "12345", time: T0));
        var seqs = batch.SequenceNumbers;

        var response = await h.Run(batch);

        Assert.Empty(response.BatchItemFailures);
        var rejected = h.LogLines("record rejected");
        Assert.Equal([seqs[1], seqs[2], seqs[3]], rejected.Select(r => r.GetProperty("sequenceNumber").GetString()));
        Assert.Contains("not valid JSON", rejected[0].GetProperty("reason").GetString());
        Assert.Contains("not base64", rejected[1].GetProperty("reason").GetString());
        Assert.Contains("not 12 digits", rejected[2].GetProperty("reason").GetString());
        Assert.All(rejected, r => Assert.Equal("WARN", r.GetProperty("level").GetString()));

        await h.Run(new KinesisBatch { State = response.State, Final = true });
        var end = Assert.Single(h.LogLines("window closed"));
        Assert.Equal(3, end.GetProperty("rejected").GetInt64());
        Assert.True(end.GetProperty("balanced").GetBoolean());
    }

    [Fact]
    public async Task A_retried_batch_after_a_delivery_failure_posts_each_digest_once()
    {
        var h = new Harness();
        var opened = await h.Run(new KinesisBatch()
            .Add(Call("111111111111", 0)).Add(Call("222222222222", 0.1)).Add(Call("333333333333", 0.2)));

        var closing = new KinesisBatch { State = opened.State }.Add(Call("444444444444", 10));
        h.Poster.FailWhen = d => d.Account == "222222222222"; // delivery breaks after the first digest
        var failed = await h.Run(closing);

        Assert.Equal([closing.SequenceNumbers[0]], failed.BatchItemFailures);
        Assert.Equal(opened.State, failed.State); // unchanged: the retry starts where this attempt did
        Assert.Equal(["111111111111"], h.Poster.Posted.Select(d => d.Account));

        h.Poster.FailWhen = null;
        var retried = await h.Run(closing.With(failed.State));

        Assert.Empty(retried.BatchItemFailures);
        Assert.Equal(["111111111111", "222222222222", "333333333333"], h.Poster.Posted.Select(d => d.Account));
        Assert.Single(h.LogLines("digest already posted"));
    }

    [Fact]
    public async Task A_ledger_outage_fails_the_batch_at_its_first_record_with_the_incoming_state()
    {
        var h = new Harness();
        var opened = await h.Run(new KinesisBatch().Add(Call("111111111111", 0)));
        var closing = new KinesisBatch { State = opened.State }.Add(Call("222222222222", 10)).Add(Call("222222222222", 10.1));

        h.Ledger.Unavailable = true;
        var failed = await h.Run(closing);
        Assert.Equal([closing.SequenceNumbers[0]], failed.BatchItemFailures);
        Assert.Equal(opened.State, failed.State);
        Assert.Empty(h.Poster.Posted);

        h.Ledger.Unavailable = false;
        var retried = await h.Run(closing.With(failed.State));
        Assert.Empty(retried.BatchItemFailures);
        Assert.Equal("111111111111", Assert.Single(h.Poster.Posted).Account);
    }

    private sealed class OutboxFullSink : IDigestSink
    {
        public Task<DeliveryOutcome> DeliverAsync(Pipeline.Aggregator.Notices.Notice notice, CancellationToken cancellationToken) => throw new IOException("outbox full");
    }

    [Fact]
    public async Task Any_failure_of_the_poster_is_a_retry_of_the_batch_not_an_invocation_error()
    {
        var h = new Harness();
        var handler = new KinesisWindowHandler(new KinesisWindowHandlerOptions().WithoutRollups(), FileAccountDirectory.Empty, h.Ledger, h.Carries, new OutboxFullSink(), h.Log, h.Time);
        var batch = new KinesisBatch { Final = true }.Add(Call("111111111111", 0));

        var response = await handler.HandleAsync(batch.ToEvent(), default);

        Assert.Equal([batch.SequenceNumbers[0]], response.BatchItemFailures);
        Assert.Contains("outbox full", Assert.Single(h.LogLines("batch will be retried")).GetProperty("message").GetString());
        // The claim was released, so the retry posts at once instead of waiting for the lease.
        Assert.Empty(h.Ledger.Posted);
        var retried = await h.Handler.HandleAsync(batch.ToEvent(), default);
        Assert.Empty(retried.BatchItemFailures);
        Assert.Single(h.Poster.Posted);
    }

    [Fact]
    public async Task A_near_deadline_returns_a_retry_of_the_batch_with_the_incoming_state()
    {
        var h = new Harness();
        var batch = new KinesisBatch { State = new Dictionary<string, string> { ["other"] = "kept" } }.Add(Call("111111111111", 0));
        using var expired = new CancellationTokenSource();
        await expired.CancelAsync();

        var response = await h.Run(batch, expired.Token);

        Assert.Equal([batch.SequenceNumbers[0]], response.BatchItemFailures);
        Assert.Equal("kept", response.State!["other"]);
    }

    [Fact]
    public async Task Numbers_in_the_incoming_state_are_accepted()
    {
        var h = new Harness();
        var batch = new KinesisBatch { RawState = """{"1": 282, "2": 715, "note": "text"}""" }.Add(Call("111111111111", 0));

        var evt = batch.ToEvent();
        Assert.Equal("282", evt.State["1"]);
        Assert.Equal("text", evt.State["note"]);
        var response = await h.Handler.HandleAsync(evt, default);

        Assert.Empty(response.BatchItemFailures);
        Assert.True(response.State!.ContainsKey(WindowStateCodec.Key));
    }

    [SkippableFact]
    public void The_AWS_sample_tumbling_window_event_parses()
    {
        var path = Path.Combine(SharedCorpus.RequireDirectory("corpus/lambda"), "kinesis-timewindow-event.json");
        var evt = KinesisWindowEvent.Parse(File.ReadAllBytes(path));
        Assert.Equal("shardId-000000000006", evt.ShardId);
        Assert.Equal("282", evt.State["1"]);
        Assert.False(evt.IsFinalInvokeForWindow);
        Assert.Equal(new DateTimeOffset(2020, 12, 9, 7, 4, 0, TimeSpan.Zero), evt.WindowStart);
        Assert.Equal("Hello, this is a test."u8.ToArray(), Assert.Single(evt.Records).Data.ToArray());
    }

    [Fact]
    public async Task An_unreadable_state_starts_the_window_afresh_instead_of_blocking_the_shard()
    {
        var h = new Harness();
        var batch = new KinesisBatch { State = new Dictionary<string, string> { [WindowStateCodec.Key] = "bm90IGEgc3RhdGU" } }.Add(Call("111111111111", 0));

        var response = await h.Run(batch);

        Assert.Empty(response.BatchItemFailures);
        Assert.Single(h.LogLines("window state unreadable"));
        Assert.NotNull(WindowStateCodec.Decode(response.State!));
    }

    [Fact]
    public async Task Each_invocation_logs_one_structured_line_with_batch_and_window_counts()
    {
        var h = new Harness();
        h.Log.RequestId = "req-1";
        var first = await h.Run(new KinesisBatch().Add(Call("111111111111", 0, "a")).Add(Call("111111111111", 0.1, "a")));
        await h.Run(new KinesisBatch { State = first.State }.Add(Call("111111111111", 0.2, "b")));

        var lines = h.LogLines("batch processed");
        Assert.Equal(2, lines.Count);
        Assert.Equal("req-1", lines[0].GetProperty("requestId").GetString());
        Assert.Equal(KinesisBatch.Shard, lines[1].GetProperty("shardId").GetString());
        Assert.Equal(1, lines[1].GetProperty("batch").GetProperty("received").GetInt64());
        Assert.Equal(3, lines[1].GetProperty("window").GetProperty("received").GetInt64());
        Assert.Equal(1, lines[1].GetProperty("window").GetProperty("duplicates").GetInt64());
        Assert.Equal(2, lines[1].GetProperty("window").GetProperty("open").GetInt64());
    }

    [Fact]
    public void Window_state_round_trips_through_its_encoding()
    {
        var aggregator = new BurstAggregator(new BurstWindowOptions());
        var evt = Enricher.Parsing.EventParser.TryParse(Call("111111111111", 0).Utf8(), out var parsed, out _) ? parsed!.Event : null;
        aggregator.Add(evt!, new Enricher.Model.AccountInfo("111111111111", "prod") { SlackChannel = "#prod" });
        aggregator.AddMuted("222222222222", "terraform", T0);
        var state = new WindowState(KinesisBatch.WindowStart, new WindowCounters { Posted = 3, Invocations = 2 }, new CoreState(
            aggregator.Snapshot(),
            [new Enricher.Dedupe.Deduplicator.Entry(UInt128.MaxValue, T0.UtcTicks, "111111111111"), new(42, T0.AddMinutes(-1).UtcTicks, "222222222222")],
            new RunSummary(5, 1, 1, 1, 0, 0, [new("terraform", 1)], [new("not valid JSON", 1)], 2) { CarriedIn = 4, CarriedOut = 3 }),
            ["111111111111", "333333333333"]);

        var decoded = WindowStateCodec.Decode(WindowStateCodec.Encode(state))!;

        Assert.Equal(state.WindowStart, decoded.WindowStart);
        Assert.Equal(state.Core.Tally.Received, decoded.Core.Tally.Received);
        Assert.Equal(state.Core.Tally.RejectedByReason, decoded.Core.Tally.RejectedByReason);
        Assert.Equal(state.Counters, decoded.Counters);
        Assert.Equal(state.Core.Dedupe, decoded.Core.Dedupe);
        Assert.Equal(state.Core.Bursts.Clock, decoded.Core.Bursts.Clock);
        Assert.Equal(state.Claimed, decoded.Claimed);
        Assert.Equal((4, 3), (decoded.Core.Tally.CarriedIn, decoded.Core.Tally.CarriedOut));
        var restored = new BurstAggregator(new BurstWindowOptions());
        restored.Restore(decoded.Core.Bursts);
        Assert.Equal(Render(aggregator.Flush()), Render(restored.Flush()));
        Assert.Equal(["222222222222"], restored.AccountsWithPendingCounts);

        static string Render(IReadOnlyList<Digest> digests)
        {
            using var stream = new MemoryStream();
            foreach (var d in digests) DigestJson.WriteDigest(stream, d);
            return System.Text.Encoding.UTF8.GetString(stream.ToArray());
        }
    }
}
