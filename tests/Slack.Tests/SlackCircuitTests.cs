using Microsoft.Extensions.Time.Testing;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Polly.CircuitBreaker;

namespace Pipeline.Slack.Tests;

/// <summary>
/// The Slack circuit breaker on its own, on a clock the test moves: what opens it (a digest parked because Slack
/// itself failed, a drain or resend that found it failing; not a refusal of one channel), what it does while open (rejects without running), what closes it
/// (the cooldown running out, a call that works).
/// </summary>
public sealed class SlackCircuitTests
{
    private static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
    private int _calls;

    /// <summary>A result; parked ones because Slack itself failed (5xx, timeout, 429) unless <paramref name="slackUnavailable"/> says otherwise.</summary>
    private static SlackDeliveryResult Result(SlackDeliveryStatus status, bool? slackUnavailable = null) =>
        new("d-1", "#security", status, Attempts: 3, SentAt: null, Error: null, OutboxLocation: null)
        {
            SlackUnavailable = slackUnavailable ?? status == SlackDeliveryStatus.Outboxed,
        };

    /// <summary>A digest's post through the circuit that ends with <paramref name="status"/>, counting the calls that ran.</summary>
    private ValueTask<SlackDeliveryResult> Post(SlackCircuit circuit, SlackDeliveryStatus status, bool? slackUnavailable = null) =>
        circuit.Pipeline.ExecuteAsync(_ =>
        {
            _calls++;
            return ValueTask.FromResult(Result(status, slackUnavailable));
        });

    [Fact]
    public async Task The_first_parked_digest_opens_it_for_the_cooldown_calls_meanwhile_are_rejected_without_running_and_it_closes_when_the_cooldown_ends()
    {
        var circuit = new SlackCircuit(_time, Cooldown);
        await Post(circuit, SlackDeliveryStatus.Delivered);
        Assert.False(circuit.IsOpen);

        await Post(circuit, SlackDeliveryStatus.Outboxed); // the first refusal: no second one needed
        Assert.True(circuit.IsOpen);

        _time.Advance(TimeSpan.FromSeconds(59));
        var rejected = await Assert.ThrowsAsync<BrokenCircuitException>(() => Post(circuit, SlackDeliveryStatus.Delivered).AsTask());
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.RetryAfter);
        Assert.Equal(2, _calls);
        Assert.True(circuit.IsOpen);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(circuit.IsOpen);
        Assert.Equal(SlackDeliveryStatus.Delivered, (await Post(circuit, SlackDeliveryStatus.Delivered)).Status);
        Assert.Equal(3, _calls);
    }

    [Fact]
    public async Task A_digest_parked_because_slack_refused_its_channel_does_not_open_it()
    {
        // channel_not_found / not_in_channel for one account's channel: Slack answered, the next account may work.
        var circuit = new SlackCircuit(_time, Cooldown);
        await Post(circuit, SlackDeliveryStatus.Outboxed, slackUnavailable: false);
        Assert.False(circuit.IsOpen);
        Assert.Equal(SlackDeliveryStatus.Delivered, (await Post(circuit, SlackDeliveryStatus.Delivered)).Status);
        Assert.Equal(2, _calls);
    }

    [Fact]
    public async Task A_resend_that_found_slack_failing_opens_it_and_one_refused_for_its_channel_does_not()
    {
        var circuit = new SlackCircuit(_time, Cooldown);

        await circuit.Pipeline.ExecuteAsync(_ => ValueTask.FromResult(new SendResult(false, false, 1, null, "channel_not_found")));
        Assert.False(circuit.IsOpen);

        await circuit.Pipeline.ExecuteAsync(_ => ValueTask.FromResult(new SendResult(false, false, 5, null, "HTTP 500") { SlackUnavailable = true }));
        Assert.True(circuit.IsOpen);
    }

    [Fact]
    public async Task A_call_rejected_while_open_does_not_extend_the_cooldown()
    {
        var circuit = new SlackCircuit(_time, Cooldown);
        await Post(circuit, SlackDeliveryStatus.Outboxed);

        _time.Advance(TimeSpan.FromSeconds(40));
        await Assert.ThrowsAsync<BrokenCircuitException>(() => Post(circuit, SlackDeliveryStatus.Outboxed).AsTask());

        _time.Advance(TimeSpan.FromSeconds(20)); // a minute after the refusal, 20 s after the rejected call
        Assert.False(circuit.IsOpen);
        await Post(circuit, SlackDeliveryStatus.Delivered);
        Assert.Equal(2, _calls);
    }

    [Fact]
    public async Task A_refusal_after_the_cooldown_opens_it_for_a_new_cooldown()
    {
        var circuit = new SlackCircuit(_time, Cooldown);
        await Post(circuit, SlackDeliveryStatus.Outboxed);
        _time.Advance(Cooldown);

        await Post(circuit, SlackDeliveryStatus.Outboxed); // Slack tried again, and refused again

        _time.Advance(Cooldown - TimeSpan.FromTicks(1));
        Assert.True(circuit.IsOpen);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.False(circuit.IsOpen);
    }

    [Fact]
    public async Task A_delivery_that_works_closes_it_even_within_the_cooldown()
    {
        // A post started before another one was refused comes back delivered: Slack works, the cooldown is over.
        var circuit = new SlackCircuit(_time, Cooldown);
        var slow = new TaskCompletionSource<SlackDeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = circuit.Pipeline.ExecuteAsync(async _ => await slow.Task).AsTask();

        await Post(circuit, SlackDeliveryStatus.Outboxed);
        Assert.True(circuit.IsOpen);

        slow.SetResult(Result(SlackDeliveryStatus.DeliveredAsPlainText));
        await inFlight;
        Assert.False(circuit.IsOpen);
    }

    [Fact]
    public async Task A_drain_with_a_resend_that_found_slack_failing_opens_it_and_one_without_does_not()
    {
        var circuit = new SlackCircuit(_time, Cooldown);

        await circuit.Pipeline.ExecuteAsync(_ => ValueTask.FromResult(new ResendSummary(Sent: 0, Failed: 0, Unreadable: 1)));
        Assert.False(circuit.IsOpen);

        // A resend refused for its own channel (channel_not_found): Slack answered.
        await circuit.Pipeline.ExecuteAsync(_ => ValueTask.FromResult(new ResendSummary(Sent: 2, Failed: 1, Unreadable: 0)));
        Assert.False(circuit.IsOpen);

        await circuit.Pipeline.ExecuteAsync(_ => ValueTask.FromResult(new ResendSummary(Sent: 2, Failed: 1, Unreadable: 0) { SlackUnavailable = true }));
        Assert.True(circuit.IsOpen);
    }

    [Fact]
    public async Task A_call_that_throws_leaves_it_as_it_was()
    {
        // Slack refused and the outbox failed too: the exception goes to the caller untouched and says nothing new.
        var circuit = new SlackCircuit(_time, Cooldown);
        var boom = new InvalidOperationException("outbox down");

        Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => circuit.Pipeline.ExecuteAsync<SlackDeliveryResult>(_ => throw boom).AsTask()));
        Assert.False(circuit.IsOpen);

        var slow = new TaskCompletionSource<SlackDeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = circuit.Pipeline.ExecuteAsync(async _ => await slow.Task).AsTask();
        await Post(circuit, SlackDeliveryStatus.Outboxed);
        slow.SetException(boom);
        await Assert.ThrowsAsync<InvalidOperationException>(() => inFlight);
        Assert.True(circuit.IsOpen);
    }

    [Fact]
    public async Task A_zero_cooldown_never_opens()
    {
        var circuit = new SlackCircuit(_time, TimeSpan.Zero);

        await Post(circuit, SlackDeliveryStatus.Outboxed);
        Assert.False(circuit.IsOpen);
        await Post(circuit, SlackDeliveryStatus.Outboxed);
        Assert.Equal(2, _calls);
    }
}
