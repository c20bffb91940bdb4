using Pipeline.Cli.Terminal;

namespace Pipeline.Tests.Terminal;

public sealed class ProgressRelayTests
{
    private sealed class Recorded : IProgress<long>
    {
        public List<(long Value, int Thread)> Reports { get; } = [];

        public void Report(long value)
        {
            lock (Reports) Reports.Add((value, Environment.CurrentManagedThreadId));
        }
    }

    [Fact]
    public async Task Progress_reported_on_the_reading_thread_reaches_the_bar_only_when_the_printing_thread_draws()
    {
        var bar = new Recorded();
        var relay = new ProgressRelay(bar);

        await Task.Run(() => { relay.Report(10); relay.Report(4_096); });
        Assert.Empty(bar.Reports); // nothing is drawn from the reader's thread

        relay.Draw();
        relay.Draw(); // nothing new: not drawn again
        relay.Report(8_192);
        relay.Draw();

        Assert.Equal([4_096L, 8_192L], bar.Reports.Select(r => r.Value));
    }

    [Fact]
    public void Nothing_reported_draws_nothing()
    {
        var bar = new Recorded();
        new ProgressRelay(bar).Draw();
        Assert.Empty(bar.Reports);
    }
}
