using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.Bursts;
using Pipeline.Enricher.Accounts;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Delivery;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Lambda.Tests.Carry;

/// <summary>The sweeper's ordinary (not end-of-input) sweep, by the wall clock, over several due carries.</summary>
public sealed class CarrySweeperTests
{
    [Fact]
    public async Task One_sweep_closes_every_due_carry_not_only_the_first()
    {
        // A window ends with three accounts' bursts open (the window is 15 min; they start at 13, 13.5 and 14 min).
        var time = new FakeTimeProvider(KinesisBatch.WindowStart.AddMinutes(15));
        var (ledger, carries, sink) = (new InMemoryDigestLedger(time, TimeSpan.FromMinutes(5), TimeSpan.FromDays(7)), new InMemoryCarryStore(), new RecordingDigestSink());
        var log = new LambdaLog(new StringWriter(), time);
        var options = new KinesisWindowHandlerOptions();
        var handler = new KinesisWindowHandler(options, FileAccountDirectory.Empty, ledger, carries, sink, log, time);
        string[] accounts = ["111111111111", "222222222222", "333333333333"];
        var batch = new KinesisBatch();
        for (int i = 0; i < accounts.Length; i++)
            for (int n = 0; n < 3; n++)
                batch.Add(Events.ApiCall(account: accounts[i], time: Events.T0.AddMinutes(13 + 0.5 * i + 0.1 * n), eventId: $"{accounts[i]}-{n}"));
        var state = (await handler.HandleAsync(batch.ToEvent(), default)).State;
        await handler.HandleAsync(new KinesisBatch { State = state, Final = true }.ToEvent(), default);
        Assert.Empty(sink.Posted);
        Assert.Equal(accounts, carries.Items.Where(c => c.Value?.Open is not null).Select(c => c.Key).Order(StringComparer.Ordinal));

        // Nothing more arrives on the shard; an hour later by the wall clock, all three are long due.
        time.Advance(TimeSpan.FromHours(1));
        var result = await new CarrySweeper(options.Core, FileAccountDirectory.Empty, carries, ledger, sink, log, time).SweepAsync("s1", flushAll: false, default);

        Assert.Equal((3, 3, 3), (result.Due, result.Swept, result.DigestsPosted));
        Assert.Equal(accounts, sink.Posted.Select(d => d.Account).Order(StringComparer.Ordinal));
        Assert.All(sink.Posted, d => Assert.Equal((3, BurstCloseReason.QuietGap), (d.EventCount, d.ClosedBy)));
        Assert.All(carries.Items.Values, c => Assert.Null(c?.Open));
    }
}
