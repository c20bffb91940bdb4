using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Processing;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Enricher.Accounts;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>
/// The local event source mapping on kinesalite, its wall clock a fake one: a record that arrived before its window's
/// end but is read only after that window's final call (the race `run` meets when it follows a live stream).
/// </summary>
public sealed class LateReadRecordTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("late-read-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public async Task A_record_read_after_its_windows_final_call_joins_the_next_window_and_its_accounts_carried_burst()
    {
        const string account = "678901234567";
        var stream = "late-" + Guid.NewGuid().ToString("N")[..8];
        using var client = LivePut.Client(kinesalite.Endpoint);
        await client.CreateStreamAsync(stream, 1);
        // Windows of 15 min by arrival: both records must arrive in the same one.
        var now = DateTimeOffset.UtcNow;
        var boundary = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.FromMinutes(15).Ticks, TimeSpan.Zero) + TimeSpan.FromMinutes(15);
        if (boundary - now < TimeSpan.FromSeconds(20)) await Task.Delay(boundary - now + TimeSpan.FromSeconds(1));

        var first = LivePut.Event(account, LivePut.Now());
        await client.PutRecordsAsync(stream, [LivePut.Entry(first)]);
        var windowEnd = new DateTimeOffset(first.Time.UtcTicks - first.Time.UtcTicks % TimeSpan.FromMinutes(15).Ticks, TimeSpan.Zero) + TimeSpan.FromMinutes(15);

        var time = new CountingTime(first.Time);
        var carries = new FileCarryStore(Path.Combine(_dir, "cp.json.carries"));
        var store = new FileCheckpointStore(Path.Combine(_dir, "cp.json"));
        var (ledger, sink, log) = (new InMemoryDigestLedger(), new RecordingDigestSink(), new LambdaLog(TextWriter.Null, time));
        // A burst that outlives its window: gap 15 min, lateness 5 min (the default).
        var options = new KinesisWindowHandlerOptions { Core = new DigestCoreOptions { Window = new BurstWindowOptions { Gap = TimeSpan.FromMinutes(15), MaxWindow = TimeSpan.FromMinutes(15) } } }.WithoutRollups();
        var handler = new KinesisWindowHandler(options, FileAccountDirectory.Empty, ledger, carries, sink, log, time);
        var sweeper = new CarrySweeper(options.Core, FileAccountDirectory.Empty, carries, ledger, sink, log, time);
        EventSourceMapping Mapping(bool untilIdle) => new(client, store, handler, sweeper,
            new EventSourceMappingOptions { Stream = stream, TumblingWindow = TimeSpan.FromMinutes(15), UntilIdle = untilIdle }, time, _ => { }, carries);

        using var stop = new CancellationTokenSource();
        var following = Mapping(untilIdle: false).RunAsync(stop.Token);

        await time.NextWaitAsync(following); // the first record is read, its window open
        time.SetUtcNow(windowEnd + TimeSpan.FromSeconds(1));
        await time.NextWaitAsync(following); // nothing new was readable: the window's end has passed, so its final call carried the burst
        Assert.Empty(sink.Posted);

        // The second call of the burst arrived before that end (by kinesalite's clock), but is read only now.
        var second = LivePut.Event(account, LivePut.Now());
        await client.PutRecordsAsync(stream, [LivePut.Entry(second)]);
        Assert.True(second.Time < windowEnd);
        time.Advance(TimeSpan.FromSeconds(1));
        await time.NextWaitAsync(following);
        await stop.CancelAsync();
        await following;

        // The input ends: every window closes and every carry with it.
        await Mapping(untilIdle: true).RunAsync(default);
        var digest = Assert.Single(sink.Posted);
        Assert.Equal(2, digest.EventCount);
        Assert.Equal((first.Time, second.Time), (digest.FirstEventTime, digest.LastEventTime));
    }
}
