using System.Reactive.Linq;
using System.Text;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Processing;

/// <summary>
/// A replay's records read and parsed on a task of their own. These tests run real threads (the point of it), so where
/// one must show that something does not happen, it waits a bounded time for it; every other wait is for a signal.
/// </summary>
public sealed class ParseAheadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static DigestCore NewCore(IMuteRules? mutes = null) =>
        new(new DigestCoreOptions { Window = new BurstWindowOptions { Gap = TimeSpan.FromMinutes(2) } }, FileAccountDirectory.Empty, mutes);

    private static int BatchSize => new EnricherOptions().NamingBatchSize;

    /// <summary>
    /// A JSONL stream of the demo organisation's events followed by generated calls over seven accounts, with redeliveries,
    /// calls the mute rules silence, and lines that are not JSON: several batches of everything a replay meets.
    /// </summary>
    private static byte[] MixedInput()
    {
        var text = new StringBuilder(File.ReadAllText(Path.Combine(SharedCorpus.RepositoryRoot, "samples", "demo", "org-events.jsonl")));
        if (text.Length > 0 && text[^1] != '\n') text.Append('\n');
        string[] names = ["CreateTags", "DescribeInstances", "RunInstances", "PutBucketPolicy", "AttachRolePolicy"];
        string previous = "";
        for (int i = 0; i < 1_000; i++)
        {
            if (i % 151 == 0) text.Append("{\"not\": json\n");
            // Every 97th call is delivered twice.
            var line = i % 97 == 3 ? previous : Events.ApiCall(account: $"1111222233{i % 7:D2}", time: Events.T0.AddSeconds(i * 7), eventName: names[i % names.Length], eventId: $"e-{i}", envelopeId: $"v-{i}").Line();
            text.Append(line).Append('\n');
            previous = line;
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static IMuteRules Mutes() => MuteRuleSet.Parse(
        """{"rules":[{"name":"quiet","pattern":{"detail":{"eventName":["DescribeInstances"]}}},{"name":"ec2-tags","pattern":{"source":["aws.ec2"],"detail":{"eventName":["CreateTags"],"awsRegion":["us-east-1"]}}}]}""",
        "mutes.json");

    [Theory]
    [InlineData(true)]  // the mute rules read each record's bytes again after its parse: the batch keeps a copy
    [InlineData(false)] // nothing reads them after the parse: no copy is made
    public async Task Records_parsed_ahead_from_a_reused_buffer_give_what_the_core_gives_parsing_them_itself(bool withMuteRules)
    {
        var input = MixedInput();
        var mutes = withMuteRules ? Mutes() : null;

        // The reference: each record its own copy, parsed by the core record by record.
        var itself = NewCore(mutes);
        var expected = await RecordReader.ReadStream(new MemoryStream(input), "input.jsonl").ToObservable().Through(itself).ToList();

        // Parsed ahead from the reader's transient mode: every record a slice of one buffer the reader overwrites. The mute
        // rules read each record's bytes again on this thread, after the parse: the batch's copy must still hold them.
        var ahead = NewCore(mutes);
        var batches = await ParseAhead.Batches(RecordReader.ReadStream(new MemoryStream(input), "input.jsonl", transient: true), ahead)
            .ToObservable().Through(ahead).ToList();

        Assert.Equal(Render(expected.SelectMany(b => b.Digests)), Render(batches.SelectMany(b => b.Digests)));
        Assert.Equal(Describe(expected.SelectMany(b => b.Outcomes)), Describe(batches.SelectMany(b => b.Outcomes)));
        var s = ahead.Summary();
        var reference = itself.Summary();
        Assert.Equal(reference with { MutedByRule = [], RejectedByReason = [] }, s with { MutedByRule = [], RejectedByReason = [] });
        Assert.Equal(reference.MutedByRule, s.MutedByRule);
        Assert.Equal(reference.RejectedByReason, s.RejectedByReason);
        Assert.True(s.Balanced);
        Assert.True(s is { Rejected: > 0, Duplicates: > 0, Digested: > 0 }, s.ToString());
        Assert.Equal(withMuteRules, s.Muted > 0);
        Assert.True(batches.Count > 4, $"{batches.Count} batches"); // several batches, so buffers are handed back and rented again
    }

    [Fact]
    public void Batches_are_the_cores_naming_batches_in_input_order()
    {
        var core = NewCore();
        var records = Enumerable.Range(0, BatchSize * 2 + 7).Select(i => Record(i)).ToList();

        var sizes = new List<int>();
        var lines = new List<long>();
        foreach (var batch in ParseAhead.Batches(records, core))
        {
            sizes.Add(batch.Count);
            lines.AddRange(batch.Select(p => p.Origin.Line));
        }

        Assert.Equal([BatchSize, BatchSize, 7], sizes);
        Assert.Equal(records.Select(r => r.Origin.Line), lines);
    }

    [Fact]
    public void Batches_handed_back_are_filled_again_so_a_long_replay_makes_no_new_ones()
    {
        var core = NewCore();
        var seen = new List<IReadOnlyList<ParsedRecord>>();
        long next = 1;
        foreach (var batch in ParseAhead.Batches(new CountingSource(BatchSize * 40), core))
        {
            // Each batch is whole and in order when it is handed on, whichever batch it was before.
            Assert.Equal(Enumerable.Range(0, batch.Count).Select(i => next + i), batch.Select(p => p.Origin.Line));
            next += batch.Count;
            if (!seen.Any(b => ReferenceEquals(b, batch))) seen.Add(batch);
        }

        Assert.Equal(BatchSize * 40 + 1, next);
        // The one the consumer holds, those waiting (Depth) and the one being filled: no more exist at a time.
        Assert.InRange(seen.Count, 1, ParseAhead.Depth + 2);
    }

    [Fact]
    public async Task A_consumer_that_holds_a_batch_holds_the_reader_back()
    {
        var core = NewCore();
        int bound = (1 + ParseAhead.Depth + 1) * BatchSize; // the batch held, those waiting, and the one being filled
        var source = new CountingSource(total: bound * 5);

        using var batches = ParseAhead.Batches(source, core).GetEnumerator();
        Assert.True(batches.MoveNext());

        // The reader fills what it may…
        await source.Reached(bound).WaitAsync(Patience);
        // …and then waits for the consumer: it does not ask for one record more while the first batch is held.
        await Assert.ThrowsAsync<TimeoutException>(() => source.Reached(bound + 1).WaitAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(bound, source.Pulled);

        Assert.True(batches.MoveNext());
        await source.Reached(bound + BatchSize).WaitAsync(Patience); // taking a batch lets the reader go on
    }

    [Fact]
    public void A_stop_ends_the_input_after_the_record_read_and_every_record_read_is_handed_on()
    {
        var core = NewCore();
        using var stop = new CancellationTokenSource();
        const int stopAt = 250;
        var source = new CountingSource(total: 10_000, onPulled: n => { if (n == stopAt) stop.Cancel(); });

        var handedOn = ParseAhead.Batches(source, core, stop.Token).SelectMany(b => b.Select(p => p.Origin.Line)).ToList();

        Assert.Equal(Enumerable.Range(1, stopAt).Select(i => (long)i), handedOn);
        Assert.Equal(stopAt, source.Pulled);
    }

    [Fact]
    public void A_read_error_comes_after_the_records_read_before_it_as_it_was_thrown()
    {
        var core = NewCore();
        var error = new InvalidDataException("disk gone");
        var source = new CountingSource(total: 10_000, onPulled: n => { if (n == 130) throw error; });

        var lines = new List<long>();
        var thrown = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var batch in ParseAhead.Batches(source, core)) lines.AddRange(batch.Select(p => p.Origin.Line));
        });

        Assert.Same(error, thrown);
        Assert.Equal(Enumerable.Range(1, 129).Select(i => (long)i), lines);
    }

    [Fact]
    public async Task A_consumer_that_leaves_early_stops_the_reader()
    {
        var core = NewCore();
        var source = new CountingSource(total: int.MaxValue);

        foreach (var _ in ParseAhead.Batches(source, core)) break;

        await source.Disposed.Task.WaitAsync(Patience); // the reader let go of the source
        int pulled = source.Pulled;
        Assert.True(pulled < 10 * BatchSize, $"the reader read {pulled} records for one batch taken");
    }

    [Fact]
    public void Arguments_are_checked_when_called_not_when_first_read()
    {
        Assert.Throws<ArgumentNullException>(() => ParseAhead.Batches(null!, NewCore()));
        Assert.Throws<ArgumentNullException>(() => ParseAhead.Batches([], null!));
    }

    private static long _line;

    private static RawRecord Record(int i) =>
        new(Events.ApiCall(account: "111122223333", time: Events.T0.AddSeconds(i), eventId: $"e{i}").Utf8(),
            new RecordOrigin("test", Interlocked.Increment(ref _line)));

    private static string Render(IEnumerable<Digest> digests)
    {
        using var stream = new MemoryStream();
        foreach (var d in digests) Aggregator.Rendering.DigestJson.WriteDigest(stream, d);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static List<string> Describe(IEnumerable<EnrichmentOutcome> outcomes) =>
        outcomes.Select(o => $"{o.GetType().Name} {o.Origin}").ToList();

    /// <summary>
    /// Generated records, numbered from 1 in their origin's line; counts what the reader pulled and signals when it reaches
    /// a count, and when the reader lets go of it. Each record is a slice of one buffer, overwritten by the next.
    /// </summary>
    private sealed class CountingSource(int total, Action<int>? onPulled = null) : IEnumerable<RawRecord>
    {
        private readonly Lock _gate = new();
        private readonly List<(int Count, TaskCompletionSource Signal)> _waiting = [];
        private int _pulled;

        public int Pulled => Volatile.Read(ref _pulled);

        public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once the reader has pulled <paramref name="count"/> records.</summary>
        public Task Reached(int count)
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                if (_pulled >= count) signal.SetResult();
                else _waiting.Add((count, signal));
            }
            return signal.Task;
        }

        public IEnumerator<RawRecord> GetEnumerator()
        {
            var buffer = new byte[4096];
            try
            {
                for (int i = 1; i <= total; i++)
                {
                    var json = Events.ApiCall(time: Events.T0.AddSeconds(i), eventId: $"id-{i}").Utf8();
                    Array.Clear(buffer);
                    json.CopyTo(buffer, 0);
                    lock (_gate)
                    {
                        _pulled = i;
                        foreach (var w in _waiting.Where(w => w.Count <= i)) w.Signal.TrySetResult();
                    }
                    onPulled?.Invoke(i);
                    yield return new RawRecord(buffer.AsMemory(0, json.Length), new RecordOrigin("generated", i));
                }
            }
            finally
            {
                Disposed.TrySetResult();
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
