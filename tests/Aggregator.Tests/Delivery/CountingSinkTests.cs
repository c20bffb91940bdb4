using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Notices;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Delivery;

public sealed class CountingSinkTests
{
    private sealed class Answering(DeliveryStatus status) : IDigestSink
    {
        public Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken) => Task.FromResult(new DeliveryOutcome(status));
    }

    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(DeliveryStatus.Delivered, 1)]
    [InlineData(DeliveryStatus.Parked, 1)] // kept for a resend: posted as far as the run is concerned
    [InlineData(DeliveryStatus.Failed, 0)] // handed on again when its batch is retried, and counted then
    public async Task A_notice_counts_once_it_is_delivered_or_kept_not_when_it_failed(DeliveryStatus status, int counted)
    {
        var tally = new CountingSink(new Answering(status));
        await tally.DeliverAsync(Digests.Plain("d1", "111122223333", T0, T0.AddMinutes(5), 3), CancellationToken.None);
        Assert.Equal(counted, tally.Messages);
        Assert.Equal(0, tally.Alerts);
        Assert.Equal(0, tally.Rollups);
    }
}
