using Pipeline.Slack.Delivery;

namespace Pipeline.Slack.Outbox;

/// <summary>What a resend run did.</summary>
internal sealed record ResendSummary(int Sent, int Failed, int Unreadable)
{
    public override string ToString() => $"{Sent} resent, {Failed} still failing (kept), {Unreadable} unreadable (kept)";
}

/// <summary>
/// Resends what the outbox holds (for <c>pipeline outbox send</c>): in failure order, each with the same retries
/// and pacing as a first delivery; an entry is deleted only once Slack has accepted it, so a run that fails
/// again leaves it for the next.
/// </summary>
internal sealed class OutboxResender(SlackSender sender, IDigestOutbox outbox, Action<string>? log = null)
{
    private readonly Action<string> _log = log ?? (_ => { });

    public async Task<ResendSummary> ResendAllAsync(CancellationToken cancellationToken)
    {
        int sent = 0, failed = 0, unreadable = 0;
        await foreach (var item in outbox.ReadAllAsync((where, why) => { unreadable++; _log($"outbox entry {where} is unreadable, left in place: {why}"); }, cancellationToken).ConfigureAwait(false))
        {
            var e = item.Entry;
            var result = await sender.SendAsync(new OutgoingMessage(e.DigestId, e.Channel, e.Payload, e.PlainPayload), cancellationToken).ConfigureAwait(false);
            if (result.Delivered)
            {
                await outbox.DeleteAsync(item.Location, cancellationToken).ConfigureAwait(false);
                sent++;
                _log($"digest {e.DigestId} resent to {e.Channel}");
            }
            else
            {
                failed++;
                _log($"digest {e.DigestId} to {e.Channel} still failing, kept in the outbox: {result.Error}");
            }
        }
        return new ResendSummary(sent, failed, unreadable);
    }
}
