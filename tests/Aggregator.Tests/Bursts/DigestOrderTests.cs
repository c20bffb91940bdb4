using Pipeline.Aggregator.Bursts;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests.Bursts;

/// <summary>Risky events and failures are shown in the order LINQ's stable OrderBy gave them, ties included.</summary>
public sealed class DigestOrderTests
{
    private static RiskyEvent Risky(RiskSeverity severity, int second, string name, string principal) =>
        new(name, principal, Events.T0.AddSeconds(second), "reason", severity, null, null, null, "eu-west-1");

    [Theory]
    [InlineData(10)]
    [InlineData(200)] // past insertion sort
    public void Risky_events_equal_on_every_key_keep_the_order_they_were_counted_in(int count)
    {
        var random = new Random(count);
        var risky = Enumerable.Range(0, count)
            .Select(i => Risky((RiskSeverity)random.Next(1, 4), random.Next(3), random.Next(2) == 0 ? "A" : "B", $"p{i}"))
            .ToArray();
        var expected = risky.OrderByDescending(r => r.Severity).ThenBy(r => r.EventTime).ThenBy(r => r.EventName, StringComparer.Ordinal).Take(count / 2).ToList();

        Assert.Equal(expected, DigestOrder.Risky([.. risky], count / 2));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(200)]
    public void Failures_equal_on_every_key_keep_the_order_they_were_counted_in(int count)
    {
        var random = new Random(count);
        var failures = Enumerable.Range(0, count)
            .Select(i => new FailedCall(random.Next(2) == 0 ? "PutObject" : "GetObject", $"p{i}", random.Next(2) == 0 ? "AccessDenied" : "NoSuchKey", null, random.Next(1, 4)))
            .ToArray();
        var expected = failures.OrderByDescending(f => f.Count).ThenBy(f => f.EventName, StringComparer.Ordinal).ThenBy(f => f.ErrorCode, StringComparer.Ordinal).ToList();

        Assert.Equal(expected, DigestOrder.Failures([.. failures], int.MaxValue));
    }
}
