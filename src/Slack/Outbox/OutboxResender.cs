using Pipeline.Aggregator.Rendering;
using Pipeline.Slack.Delivery;
using Polly.CircuitBreaker;

namespace Pipeline.Slack.Outbox;

/// <summary>What a resend run did.</summary>
/// <param name="Unreadable">Entries that were not valid outbox entries (or could not be read): not sent, not deleted.</param>
public sealed record ResendSummary(int Sent, int Failed, int Unreadable) : ISlackAvailability
{
    /// <summary>A resend failed because Slack itself is failing (<see cref="SendResult.SlackUnavailable"/>): what opens a <see cref="SlackCircuit"/>.</summary>
    public bool SlackUnavailable { get; init; }

    /// <summary>The run stopped at a limit (count, time, first failure) with entries perhaps still waiting.</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>The run was stopped (Ctrl-C): no entry was taken after that, and the one in flight was finished or kept.</summary>
    public bool Interrupted { get; init; }

    public override string ToString() => $"{Sent} resent, {Failed} still failing (kept), {Unreadable} invalid (not sent)";
}

/// <summary>
/// Bounds on one resend run, for hosts that resend on the side (the Lambda drains a few before each batch):
/// at most <see cref="MaxEntries"/> entries, no new one started after <see cref="MaxDuration"/>, and, with
/// <see cref="StopAtFirstFailure"/>, none taken after one failed (Slack is still down: leave the rest untouched).
/// </summary>
public sealed record ResendLimits(int MaxEntries, TimeSpan MaxDuration, bool StopAtFirstFailure)
{
    /// <summary>
    /// Once the run is stopped, how long the digest in flight may still take to be accepted before its post is
    /// abandoned (and the entry kept). Zero (the default): abandoned at once.
    /// </summary>
    public TimeSpan InFlightGrace { get; init; }
}

/// <summary>
/// Resends what the outbox holds (for <c>pipeline outbox send</c>, and the Lambda's drain): in failure order, each
/// with the same retries and pacing as a first delivery; an entry is deleted only once Slack has accepted it, so a
/// run that fails again leaves it for the next. The outbox hands out each entry to one reader at a time (a claim in
/// the folder, the visibility timeout in SQS), so resenders running at once do not post an entry twice.
/// <para>
/// Stopping (the token): no entry is taken after it. The one in flight gets <see cref="ResendLimits.InFlightGrace"/>
/// to be accepted, and is then deleted; if Slack has not answered by then its post is abandoned and the entry stays
/// for the next run (which posts it again should Slack, after all, have taken it: the one case of a possible
/// duplicate, said in the log). The summary comes back with <see cref="ResendSummary.Interrupted"/>.
/// </para>
/// <para>
/// With a <see cref="SlackCircuit"/> (<c>pipeline outbox send</c>), each resend runs through it: once one finds Slack
/// itself failing (5xx, timeouts, network errors, 429; not a refusal of one channel), the circuit opens and the run
/// stops, leaving the rest untouched for the next run rather than giving each its full retries against a Slack that
/// is down.
/// </para>
/// </summary>
public sealed class OutboxResender(SlackSender sender, IDigestOutbox outbox, Action<string>? log = null, TimeProvider? time = null, SlackCircuit? circuit = null)
{
    private readonly Action<string> _log = log ?? (_ => { });
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Every entry; once stopped, the digest in flight has one attempt's time (<see cref="SlackDeliveryOptions.AttemptTimeout"/>) to be accepted.</summary>
    public Task<ResendSummary> ResendAllAsync(CancellationToken cancellationToken) =>
        ResendAsync(new ResendLimits(int.MaxValue, Timeout.InfiniteTimeSpan, StopAtFirstFailure: false) { InFlightGrace = sender.Options.AttemptTimeout }, cancellationToken);

    public async Task<ResendSummary> ResendAsync(ResendLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        long started = _time.GetTimestamp();
        int sent = 0, failed = 0, unreadable = 0;
        bool stoppedEarly = false, interrupted = false, slackUnavailable = false;
        // Cancelled only InFlightGrace after the run is stopped: the post in flight may still finish.
        using var inFlight = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var onStop = cancellationToken.Register(() =>
        {
            if (limits.InFlightGrace <= TimeSpan.Zero) inFlight.Cancel();
            else inFlight.CancelAfter(limits.InFlightGrace);
        });
        try
        {
            await foreach (var item in outbox.ReadAllAsync((where, why) => { unreadable++; Log($"outbox entry {where} is not valid and was not sent: {why}"); }, inFlight.Token).ConfigureAwait(false))
            {
                if (cancellationToken.IsCancellationRequested) { interrupted = true; break; } // taken as the stop came: given back untried
                var e = item.Entry;
                SendResult result;
                try
                {
                    result = await SendAsync(new OutgoingMessage(e.DigestId, e.Channel, e.Payload, e.PlainPayload), inFlight.Token).ConfigureAwait(false);
                }
                catch (BrokenCircuitException)
                {
                    // Slack failed for another resender (or digest) sharing the circuit since this entry was taken: given back untried.
                    Log($"Slack is failing (seen less than {circuit!.Cooldown.TotalSeconds:0} s ago): digest {e.DigestId} and the rest are left in the outbox for the next send");
                    slackUnavailable = stoppedEarly = true;
                    break;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    Log($"digest {e.DigestId} to {e.Channel}: stopped before Slack answered; kept in the outbox for the next send (which posts it again if Slack did take it)");
                    interrupted = true;
                    break;
                }
                if (result.Delivered)
                {
                    // Not cancellable: once Slack has the digest, its entry must go, or the next run posts it twice.
                    await outbox.DeleteAsync(item.Location, CancellationToken.None).ConfigureAwait(false);
                    sent++;
                    Log($"digest {e.DigestId} resent to {e.Channel} (failed first at {e.FailedAt:u}: {e.Reason})");
                }
                else
                {
                    failed++;
                    slackUnavailable |= result.SlackUnavailable;
                    Log($"digest {e.DigestId} to {e.Channel} still failing, kept in the outbox: {result.Error}");
                    if (limits.StopAtFirstFailure) { stoppedEarly = true; break; }
                    if (circuit is { IsOpen: true })
                    {
                        // Checked before the next entry is taken: the rest stay untouched, not one more is tried.
                        Log($"Slack itself is failing ({result.Error}): the rest are left in the outbox for the next send");
                        stoppedEarly = true;
                        break;
                    }
                }
                // Checked before asking the outbox for the next entry, so nothing is taken that will not be tried.
                if (cancellationToken.IsCancellationRequested) { interrupted = true; break; }
                if (sent + failed >= limits.MaxEntries
                    || (limits.MaxDuration != Timeout.InfiniteTimeSpan && _time.GetElapsedTime(started) >= limits.MaxDuration))
                {
                    stoppedEarly = true;
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped while the outbox was reading an entry: it gives back what it had claimed.
            interrupted = true;
        }
        return new ResendSummary(sent, failed, unreadable) { StoppedEarly = stoppedEarly || interrupted, Interrupted = interrupted, SlackUnavailable = slackUnavailable };
    }

    /// <summary>One resend, through the circuit when there is one (it opens on a result saying Slack itself is failing).</summary>
    private async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken) => circuit is null
        ? await sender.SendAsync(message, cancellationToken).ConfigureAwait(false)
        : await circuit.Pipeline.ExecuteAsync(async token => await sender.SendAsync(message, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Entries are untrusted text (anyone who can write to the outbox): shown the way the terminal shows event text.</summary>
    private void Log(string line) => _log(TextDigestRenderer.Clean(line));
}
