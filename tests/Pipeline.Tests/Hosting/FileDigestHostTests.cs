using System.Text;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rollups;
using Pipeline.Cli.Hosting;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Model;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Hosting;

public sealed class FileDigestHostTests
{
    /// <summary>
    /// A StackSet rolling out to 40 accounts, one every half minute, between people's calls: several batches of records,
    /// and one change that roll-ups gather across all of them.
    /// </summary>
    private static List<RawRecord> RollOut()
    {
        var records = new List<RawRecord>();
        for (int i = 0; i < 40; i++)
        {
            var account = $"2000000000{i:D2}";
            var at = Events.T0.AddMinutes(i * 0.5);
            foreach (var (name, k) in new[] { "CreateRole", "PutRolePolicy", "TagRole" }.Select((n, k) => (n, k)))
                records.Add(Record(Events.ApiCall(account: account, time: at.AddSeconds(k), eventName: name, eventSource: "iam.amazonaws.com",
                    roleName: "stacksets-exec-0123456789abcdef0123456789abcdef", session: "s", eventId: $"s-{i}-{k}"), records.Count));
            for (int p = 0; p < 6; p++)
                records.Add(Record(Events.ApiCall(account: "300000000000", time: at.AddSeconds(10 + p), eventName: "DescribeInstances",
                    identity: Events.Root("300000000000"), eventId: $"p-{i}-{p}"), records.Count));
        }
        return records;
    }

    private static RawRecord Record(System.Text.Json.Nodes.JsonObject evt, int line) => new(evt.Utf8(), new RecordOrigin("rollout.jsonl", line + 1));

    /// <summary>Keeps what it is given; the first delivery waits until the test lets it go.</summary>
    private sealed class HeldUpSink(Task firstDelivery) : IDigestSink
    {
        public List<Notice> Delivered { get; } = [];

        public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
        {
            if (Delivered.Count == 0) await firstDelivery;
            lock (Delivered) Delivered.Add(notice);
            return DeliveryOutcome.Delivered;
        }
    }

    private static FileDigestHost Host(IDigestSink sink, Action? afterBatch = null) =>
        new(new FileDigestOptions { Core = new DigestCoreOptions { Rollup = new RollupOptions() }, Format = Cli.Hosting.OutputFormat.Json, AfterBatch = afterBatch },
            FileAccountDirectory.Empty, null, TextWriter.Null, TextWriter.Null, sink);

    [Fact]
    public async Task The_progress_bar_is_drawn_after_each_batchs_notices_are_out()
    {
        var records = RollOut(); // 360 records: four naming batches, then the end of input's flush
        var sink = new HeldUpSink(Task.CompletedTask);
        var deliveredAtEachDraw = new List<int>();

        await Host(sink, () => deliveredAtEachDraw.Add(sink.Delivered.Count)).RunAsync(records, CancellationToken.None);

        int batchSize = new Enricher.Enrichment.EnricherOptions().NamingBatchSize;
        Assert.Equal((records.Count + batchSize - 1) / batchSize + 1, deliveredAtEachDraw.Count);
        Assert.Equal(deliveredAtEachDraw.Order(), deliveredAtEachDraw);
        Assert.True(deliveredAtEachDraw[0] > 0, "the first draw came before the first batch's notices");
    }

    [Fact]
    public async Task A_slow_sink_delays_the_notices_but_not_the_roll_up_decisions()
    {
        var records = RollOut();
        var prompt = new HeldUpSink(Task.CompletedTask);
        await Host(prompt).RunAsync(records, CancellationToken.None);

        // The first delivery waits while the core goes through the whole input: the decisions must be those of a prompt sink.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = new HeldUpSink(release.Task);
        var run = Host(slow).RunAsync(records, CancellationToken.None);
        Assert.False(run.IsCompleted);
        release.SetResult();
        await run;

        Assert.Contains(prompt.Delivered, n => n is Rollup r && r.Accounts.Count == 40);
        Assert.Equal(Describe(prompt.Delivered), Describe(slow.Delivered));
    }

    /// <summary>A stdout that logs each flush (with the lines it let out) and each draw of the bar (with what was left unflushed).</summary>
    private sealed class FlushLog : StringWriter
    {
        private int _flushedLength;
        public List<string> Log { get; } = [];
        public int Flushes { get; private set; }

        public override void Flush()
        {
            var text = ToString();
            int lines = text[_flushedLength..].Count(c => c == '\n');
            if (lines > 0)
            {
                Log.Add($"flush {lines}");
                Flushes++;
            }
            _flushedLength = text.Length;
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flush();
            return Task.CompletedTask;
        }

        /// <summary>The bar is drawn: over notices still in the buffer, or not.</summary>
        public void Bar() => Log.Add(ToString().Length > _flushedLength ? "bar over unflushed notices" : "bar");
    }

    [Fact]
    public async Task Stdout_is_flushed_once_per_batch_before_the_bar_not_once_per_notice()
    {
        var records = RollOut();
        var stdout = new FlushLog();
        var host = new FileDigestHost(
            new FileDigestOptions { Core = new DigestCoreOptions { Rollup = new RollupOptions() }, Format = Cli.Hosting.OutputFormat.Json, AfterBatch = stdout.Bar },
            FileAccountDirectory.Empty, null, stdout, TextWriter.Null);

        await host.RunAsync(records, CancellationToken.None);

        int lines = stdout.ToString().Count(c => c == '\n');
        int flushed = stdout.Log.Where(e => e.StartsWith("flush", StringComparison.Ordinal)).Sum(e => int.Parse(e[6..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(lines, flushed); // everything printed reached the stream, the summary included
        Assert.DoesNotContain("bar over unflushed notices", stdout.Log); // each batch's notices are out before its bar
        int batchesWithNotices = stdout.Log.Count(e => e == "bar");
        Assert.InRange(stdout.Flushes, 2, batchesWithNotices + 2); // once per batch (and the input's end), not per notice
        Assert.True(lines > 4 * stdout.Flushes, $"{lines} lines in {stdout.Flushes} flushes: {string.Join(", ", stdout.Log)}");
    }

    [Fact]
    public async Task With_slack_each_notice_is_printed_as_soon_as_it_is_posted()
    {
        var records = RollOut();
        var stdout = new FlushLog();
        var slack = new HeldUpSink(Task.CompletedTask);
        var host = new FileDigestHost(
            new FileDigestOptions { Core = new DigestCoreOptions { Rollup = new RollupOptions() }, Format = Cli.Hosting.OutputFormat.Json },
            FileAccountDirectory.Empty, null, stdout, TextWriter.Null, slack);

        await host.RunAsync(records, CancellationToken.None);

        // One flush per notice (a batch can wait minutes on Slack's rate limits), and the summary's.
        Assert.True(slack.Delivered.Count > 4);
        Assert.Equal(slack.Delivered.Count + 1, stdout.Flushes);
    }

    private static List<string> Describe(List<Notice> notices) =>
        notices.Select(n => $"{n.Kind} {n.NoticeId} {(n as Rollup)?.Accounts.Count} {(n as Aggregator.Bursts.Digest)?.HeldUntil:O}").ToList();
}
