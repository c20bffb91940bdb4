using Pipeline.Slack.Delivery;

namespace Pipeline.Slack.Outbox;

/// <summary>What a resend run did.</summary>
public sealed record ResendSummary(int Sent, int Failed, int Unreadable)
{
    /// <summary>The run stopped at a limit (count, time, first failure) with entries perhaps still waiting.</summary>
    public bool StoppedEarly { get; init; }

    public override string ToString() => $"{Sent} resent, {Failed} still failing (kept), {Unreadable} unreadable (kept)";
}

/// <summary>
/// Bounds on one resend run, for hosts that resend on the side (the Lambda drains a few before each batch):
/// at most <see cref="MaxEntries"/> entries, no new one started after <see cref="MaxDuration"/>, and, with
/// <see cref="StopAtFirstFailure"/>, none taken after one failed (Slack is still down: leave the rest untouched).
/// </summary>
public sealed record ResendLimits(int MaxEntries, TimeSpan MaxDuration, bool StopAtFirstFailure);

/// <summary>
/// Resends what the outbox holds (for <c>pipeline outbox send</c>, and the Lambda's drain): in failure order, each
/// with the same retries and pacing as a first delivery; an entry is deleted only once Slack has accepted it, so a
/// run that fails again leaves it for the next.
/// </summary>
public sealed class OutboxResender(SlackSender sender, IDigestOutbox outbox, Action<string>? log = null, TimeProvider? time = null)
{
    private readonly Action<string> _log = log ?? (_ => { });
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public Task<ResendSummary> ResendAllAsync(CancellationToken cancellationToken) =>
        ResendAsync(new ResendLimits(int.MaxValue, Timeout.InfiniteTimeSpan, StopAtFirstFailure: false), cancellationToken);

    public async Task<ResendSummary> ResendAsync(ResendLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        long started = _time.GetTimestamp();
        int sent = 0, failed = 0, unreadable = 0;
        bool stoppedEarly = false;
        await foreach (var item in outbox.ReadAllAsync((where, why) => { unreadable++; _log($"outbox entry {where} is unreadable, left in place: {why}"); }, cancellationToken).ConfigureAwait(false))
        {
            var e = item.Entry;
            var result = await sender.SendAsync(new OutgoingMessage(e.DigestId, e.Channel, e.Payload, e.PlainPayload), cancellationToken).ConfigureAwait(false);
            if (result.Delivered)
            {
                await outbox.DeleteAsync(item.Location, cancellationToken).ConfigureAwait(false);
                sent++;
                _log($"digest {e.DigestId} resent to {e.Channel} (failed first at {e.FailedAt:u}: {e.Reason})");
            }
            else
            {
                failed++;
                _log($"digest {e.DigestId} to {e.Channel} still failing, kept in the outbox: {result.Error}");
                if (limits.StopAtFirstFailure) { stoppedEarly = true; break; }
            }
            // Checked before asking the outbox for the next entry, so nothing is taken that will not be tried.
            if (sent + failed >= limits.MaxEntries
                || (limits.MaxDuration != Timeout.InfiniteTimeSpan && _time.GetElapsedTime(started) >= limits.MaxDuration))
            {
                stoppedEarly = true;
                break;
            }
        }
        return new ResendSummary(sent, failed, unreadable) { StoppedEarly = stoppedEarly };
    }
}
