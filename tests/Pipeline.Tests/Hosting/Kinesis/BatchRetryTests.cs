using Microsoft.Extensions.Time.Testing;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Lambda.Windows;
using Pipeline.TestSupport;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>The local event source mapping's retry of a failing batch, in virtual time.</summary>
public sealed class BatchRetryTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly WindowResponse Failed = new(null, ["49590338271490256608559692538361571095921575989136588898"]);
    private static readonly WindowResponse Ok = new(null, []);

    private readonly List<string> _log = [];
    private int _calls;

    private Func<CancellationToken, Task<WindowResponse>> Answers(params WindowResponse[] answers) => _ =>
    {
        var answer = answers[Math.Min(_calls, answers.Length - 1)];
        _calls++;
        return Task.FromResult(answer);
    };

    [Fact]
    public async Task A_batch_that_keeps_failing_is_called_5_times_1_2_4_8_s_apart_then_stops_the_run()
    {
        var time = new InstantTimeProvider(Start);
        var retry = new BatchRetry(maxAttempts: 5, time, _log.Add);

        var e = await Assert.ThrowsAsync<BatchFailedException>(() => retry.CallAsync("shardId-000000000001", Answers(Failed), default));

        Assert.Equal(5, _calls);
        Assert.Equal([1, 2, 4, 8], time.Delays.Select(d => d.TotalSeconds));
        Assert.Equal(
            [
                "shard shardId-000000000001: batch failed, retrying in 1 s (attempt 2 of 5)",
                "shard shardId-000000000001: batch failed, retrying in 2 s (attempt 3 of 5)",
                "shard shardId-000000000001: batch failed, retrying in 4 s (attempt 4 of 5)",
                "shard shardId-000000000001: batch failed, retrying in 8 s (attempt 5 of 5)",
            ], _log);
        Assert.Equal(
            "shard shardId-000000000001: the batch from sequence number 49590338271490256608559692538361571095921575989136588898 failed 5 times (see the log above); stopped here. Fix the cause and run again: it resumes from this batch.",
            e.Message);
    }

    [Fact]
    public async Task The_wait_doubles_up_to_30_s_and_stays_there()
    {
        var time = new InstantTimeProvider(Start);

        await Assert.ThrowsAsync<BatchFailedException>(() => new BatchRetry(maxAttempts: 9, time, _log.Add).CallAsync("s", Answers(Failed), default));

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], time.Delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public async Task A_batch_is_not_called_again_before_its_wait_is_over_and_its_success_is_returned()
    {
        var time = new FakeTimeProvider(Start);
        var retry = new BatchRetry(maxAttempts: 5, time, _log.Add);

        var call = retry.CallAsync("s", Answers(Failed, Ok), default);
        Assert.Equal(1, _calls);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(1, _calls);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Same(Ok, await call);
        Assert.Equal(2, _calls);
        Assert.Single(_log);
    }

    [Fact]
    public async Task With_one_attempt_a_failed_batch_stops_the_run_at_once()
    {
        var time = new InstantTimeProvider(Start);

        var e = await Assert.ThrowsAsync<BatchFailedException>(() => new BatchRetry(maxAttempts: 1, time, _log.Add).CallAsync("s", Answers(Failed), default));

        Assert.Equal(1, _calls);
        Assert.Empty(time.Delays);
        Assert.Empty(_log);
        Assert.Contains("failed 1 times", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_failing_because_the_run_is_stopping_is_not_retried()
    {
        var time = new InstantTimeProvider(Start);
        using var stop = new CancellationTokenSource();
        var retry = new BatchRetry(maxAttempts: 5, time, _log.Add);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => retry.CallAsync("s", _ =>
        {
            _calls++;
            stop.Cancel(); // Ctrl-C while the handler ran: it reports the batch failed
            return Task.FromResult(Failed);
        }, stop.Token));

        Assert.Equal(1, _calls);
        Assert.Empty(time.Delays);
    }

    [Fact]
    public async Task A_stop_during_the_wait_ends_it_without_another_call()
    {
        var time = new FakeTimeProvider(Start);
        using var stop = new CancellationTokenSource();
        var call = new BatchRetry(maxAttempts: 5, time, _log.Add).CallAsync("s", Answers(Failed), stop.Token);

        stop.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, _calls);
    }

    [Fact]
    public async Task A_handler_that_throws_is_not_called_again()
    {
        var time = new InstantTimeProvider(Start);

        await Assert.ThrowsAsync<InvalidOperationException>(() => new BatchRetry(maxAttempts: 5, time, _log.Add).CallAsync("s", _ =>
        {
            _calls++;
            throw new InvalidOperationException("a bug in the handler");
        }, default));

        Assert.Equal(1, _calls);
        Assert.Empty(time.Delays);
    }
}
