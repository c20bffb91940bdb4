using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Delivery;
using Pipeline.Slack.Rendering;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Threads;
using Polly.CircuitBreaker;

namespace Pipeline.Slack.Delivery;

/// <summary>What Slack delivery did with one digest, in Slack's terms (the neutral view is <see cref="DeliveryOutcome"/>).</summary>
public enum SlackDeliveryStatus
{
    Delivered,
    /// <summary>Slack refused the blocks; the plain-text rendering was posted instead.</summary>
    DeliveredAsPlainText,
    /// <summary>Not delivered; kept in the outbox at <see cref="DeliveryResult.OutboxLocation"/> for <c>pipeline outbox send</c>.</summary>
    Outboxed,
}

public sealed record SlackDeliveryResult(string DigestId, string Channel, SlackDeliveryStatus Status, int Attempts, DateTimeOffset? SentAt, string? Error, string? OutboxLocation)
    : ISlackAvailability
{
    /// <summary>Parked because Slack itself was failing (<see cref="SendResult.SlackUnavailable"/>), not because it refused this channel or message.</summary>
    public bool SlackUnavailable { get; init; }

    public bool Delivered => Status != SlackDeliveryStatus.Outboxed;

    /// <summary>The destination-neutral outcome: delivered, or parked in the outbox.</summary>
    public DeliveryOutcome ToOutcome() => Delivered
        ? DeliveryOutcome.Delivered
        : new DeliveryOutcome(DeliveryStatus.Parked, $"{Error}; kept in the outbox: {OutboxLocation}");
}

/// <summary>
/// Renders a digest, picks its channels (the account's channel from the directory, else the default; and the alert
/// channel too when the digest has risky events), sends it to each, and puts it in the outbox, one entry per channel,
/// where delivery finally fails. Only a failing outbox throws: then the digest would otherwise be lost, and the host
/// must know.
/// </summary>
/// <remarks>
/// Threads, with a bot token and <see cref="IAlertThreads"/>: each channel's copy of an alert is remembered by the
/// <c>ts</c> Slack gave it, and a digest whose <see cref="Digest.AlertIds"/> name an alert remembered for a channel is
/// posted there as a reply in the first such alert's thread, broadcast to the channel too. Each channel threads under
/// its own copy of the alert (a <c>ts</c> means nothing in another channel). A parked digest keeps its thread in its
/// payload, so a resend lands in the thread as well.
/// </remarks>
public sealed class SlackDigestSink : IDigestSink
{
    private readonly SlackSender _sender;
    private readonly IDigestOutbox _outbox;
    private readonly SlackRenderOptions _render;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly IAlertThreads? _threads;
    private readonly SlackCircuit? _circuit;
    private readonly bool _parkWhenCancelled;

    /// <param name="threads">Where alerts' messages are remembered for their digests' threads; null: no threads.
    /// Only used with a bot token (a webhook learns no message <c>ts</c>).</param>
    /// <param name="circuit">The process's breaker on Slack: every post runs through it, and while it is open a notice
    /// is parked without trying Slack. Null: every notice tries Slack.</param>
    /// <param name="parkWhenCancelled">The command line's Ctrl-C: a <see cref="DeliverAsync"/> whose token is cancelled
    /// parks the notice instead of giving it up, the post in flight included (the outbox write itself is not
    /// cancelled). Off where a cancelled delivery must stay undone for a retry to redo it (the function, `run`).</param>
    public SlackDigestSink(SlackSender sender, IDigestOutbox outbox, SlackRenderOptions? render = null, TimeProvider? time = null, Action<string>? log = null, IAlertThreads? threads = null,
        SlackCircuit? circuit = null, bool parkWhenCancelled = false)
    {
        _sender = sender;
        _outbox = outbox;
        _render = (render ?? SlackRenderOptions.Default).Validate();
        _time = time ?? TimeProvider.System;
        _log = log ?? (_ => { });
        _threads = sender.Options.Mode == SlackMode.BotToken ? threads : null;
        _circuit = circuit;
        _parkWhenCancelled = parkWhenCancelled;
    }

    /// <summary>
    /// The channel a digest goes to. With a webhook the URL fixes the channel, so every digest shares one
    /// (named by DefaultChannel, or "webhook"); with a bot token the account's own channel wins.
    /// </summary>
    public string ChannelFor(Notice notice)
    {
        var o = _sender.Options;
        if (o.Mode == SlackMode.Webhook) return o.DefaultChannel ?? "webhook";
        // A roll-up spans accounts: it goes to the default channel, where the organisation-wide view is.
        var info = notice switch
        {
            Digest d => d.AccountInfo,
            Alert a => a.AccountInfo,
            Aggregator.Silence.SilenceNotice s => s.AccountInfo,
            _ => null,
        };
        return info?.SlackChannel is { Length: > 0 } own ? own : o.DefaultChannel!;
    }

    /// <summary>
    /// Every channel a notice goes to, its own (<see cref="ChannelFor"/>) first: an alert, and a digest or roll-up with
    /// risky events, also go to the alert channel, when one is set and it is not already the notice's own. The one
    /// place that decides routing, so that every kind of message the sink posts routes alike.
    /// </summary>
    public IReadOnlyList<string> ChannelsFor(Notice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        string own = ChannelFor(notice);
        bool risky = notice switch
        {
            Digest d => d.RiskyCount > 0,
            Rollup r => r.RiskyCount > 0,
            Alert => true,
            Aggregator.Silence.SilenceNotice { State: Aggregator.Silence.SilenceState.Silent } => true, // a blinded account is a security event
            _ => false,
        };
        return risky && _sender.Options.AlertChannel is { } alert && !string.Equals(alert, own, StringComparison.Ordinal)
            ? [own, alert]
            : [own];
    }

    /// <summary>
    /// The destination-neutral view: delivered, or parked in the outbox. An outbox that cannot keep the digest is
    /// <see cref="DeliveryStatus.Failed"/>: the host retries (the Lambda) or reports it (the command line).
    /// </summary>
    public async Task<DeliveryOutcome> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        // A digest a roll-up fully explains is not a message of its own.
        if (!notice.Posted) return DeliveryOutcome.Delivered;
        try
        {
            return (await PostOrParkWhenCancelledAsync(notice, cancellationToken).ConfigureAwait(false)).ToOutcome();
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return new DeliveryOutcome(DeliveryStatus.Failed, $"neither delivered nor kept in the outbox: {e.GetType().Name}: {e.Message}");
        }
    }

    private async Task<SlackDeliveryResult> PostOrParkWhenCancelledAsync(Notice notice, CancellationToken cancellationToken)
    {
        if (!_parkWhenCancelled) return await PostAsync(notice, cancellationToken).ConfigureAwait(false);
        var copies = new Copies(ChannelsFor(notice));
        string? inFlight = null;
        if (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                return await PostAsync(notice, copies, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                inFlight = copies.InFlight;
            }
        }
        // Stopping must not lose it: the outbox write runs to its end whatever the run's token says. Only the copies not
        // yet delivered or parked are parked, or `outbox send` would post a delivered copy again.
        return await ParkRestAsync(notice, copies, "not tried: stopped by Ctrl-C", CancellationToken.None,
            // Abandoned mid-post: a request already on the wire may have reached Slack, so a resend may post it twice.
            inFlight, "stopped by Ctrl-C while being posted; Slack may have it already").ConfigureAwait(false);
    }

    /// <summary>
    /// Renders, sends to each of <see cref="ChannelsFor"/> in turn, and parks a channel's copy in the outbox when its
    /// delivery finally fails; throws only when the outbox fails too. The result is the account channel's: the alert
    /// channel's copy is extra, its failure parked and logged on its own without changing the result.
    /// </summary>
    public Task<SlackDeliveryResult> PostAsync(Notice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        return PostAsync(notice, new Copies(ChannelsFor(notice)), cancellationToken);
    }

    private async Task<SlackDeliveryResult> PostAsync(Notice notice, Copies copies, CancellationToken cancellationToken)
    {
        if (_circuit is null)
        {
            await PostToEachAsync(notice, copies, cancellationToken).ConfigureAwait(false);
            return copies.First;
        }
        try
        {
            // The circuit sees every copy: Slack failing for the alert channel's copy opens it as well.
            await _circuit.Pipeline.ExecuteAsync(
                async token => await PostToEachAsync(notice, copies, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            return copies.First;
        }
        catch (BrokenCircuitException)
        {
            return await ParkRestAsync(notice, copies, $"not tried: Slack failed less than {_circuit.Cooldown.TotalSeconds:0} s ago", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What has become of each of a notice's copies (one per channel of <see cref="ChannelsFor"/>): delivered or parked,
    /// and the one being posted, so that a delivery stopped half-way parks only the copies still to go.
    /// </summary>
    private sealed class Copies(IReadOnlyList<string> channels) : ISlackAvailability
    {
        private readonly Dictionary<string, SlackDeliveryResult> _done = new(StringComparer.Ordinal);

        public IReadOnlyList<string> Channels { get; } = channels;

        /// <summary>The channel whose copy is on its way to Slack (or being parked after Slack refused it).</summary>
        public string? InFlight { get; set; }

        public bool IsDone(string channel) => _done.ContainsKey(channel);

        public void Done(string channel, SlackDeliveryResult result) => _done[channel] = result;

        /// <summary>The account channel's result, the one a caller is given.</summary>
        public SlackDeliveryResult First => _done[Channels[0]];

        public bool SlackUnavailable => _done.Values.Any(r => r.SlackUnavailable);
    }

    private async Task<Copies> PostToEachAsync(Notice notice, Copies copies, CancellationToken cancellationToken)
    {
        foreach (var channel in copies.Channels)
        {
            if (copies.IsDone(channel)) continue;
            copies.InFlight = channel;
            await PostToAsync(notice, channel, copies, cancellationToken).ConfigureAwait(false);
            copies.InFlight = null;
        }
        return copies;
    }

    private async Task PostToAsync(Notice notice, string channel, Copies copies, CancellationToken cancellationToken)
    {
        var outgoing = Render(notice, channel, await ThreadForAsync(notice, channel, cancellationToken).ConfigureAwait(false));
        var result = await _sender.SendAsync(outgoing, cancellationToken).ConfigureAwait(false);
        if (result.Delivered)
        {
            // Recorded before anything else may be cancelled: Slack has this copy, it must never be parked too.
            copies.Done(channel, new SlackDeliveryResult(notice.NoticeId, outgoing.Channel, result.AsPlainText ? SlackDeliveryStatus.DeliveredAsPlainText : SlackDeliveryStatus.Delivered, result.Attempts, result.SentAt, null, null));
            if (notice is Alert alert && result.Ts is { } ts) await RememberAsync(alert, channel, ts, cancellationToken).ConfigureAwait(false);
            return;
        }
        copies.Done(channel, await SaveAsync(notice, outgoing, result.Attempts, result.Error ?? "not delivered", cancellationToken).ConfigureAwait(false)
            with { SlackUnavailable = result.SlackUnavailable });
    }

    /// <summary>
    /// The thread a digest's copy for <paramref name="channel"/> goes in: the first of its alerts (in the order they were
    /// raised) whose message in that channel is remembered. Null for every other notice, or when none is remembered, or
    /// when the store cannot answer (the digest then goes to the channel's top level rather than not at all).
    /// </summary>
    private async Task<string?> ThreadForAsync(Notice notice, string channel, CancellationToken cancellationToken)
    {
        if (_threads is null || notice is not Digest { AlertIds.Count: > 0 } digest) return null;
        try
        {
            foreach (var alertId in digest.AlertIds)
                if (await _threads.FindAsync(alertId, channel, cancellationToken).ConfigureAwait(false) is { } ts)
                    return ts;
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            _log($"digest {digest.DigestId} to {channel}: its alerts' thread could not be looked up ({e.GetType().Name}: {e.Message}); posted without a thread");
        }
        return null;
    }

    /// <summary>
    /// Remembers where the alert landed. Slack has the alert already, so a failure here must not fail the delivery
    /// (a host would retry and post the alert twice): the digest only loses its thread.
    /// </summary>
    private async Task RememberAsync(Alert alert, string channel, string ts, CancellationToken cancellationToken)
    {
        try
        {
            await _threads!.RememberAsync(alert.AlertId, channel, ts, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            _log($"alert {alert.AlertId} to {channel}: its message could not be remembered ({e.GetType().Name}: {e.Message}); digest {alert.DigestId} will not be in its thread");
        }
    }

    /// <summary>
    /// Puts the digest straight into the outbox without trying Slack (a host that has just seen Slack fail, and
    /// would rather not spend its time limit on more attempts). Throws, like <see cref="DeliverAsync"/>, only when
    /// the outbox cannot keep it.
    /// </summary>
    public Task<SlackDeliveryResult> ParkAsync(Notice notice, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        return ParkRestAsync(notice, new Copies(ChannelsFor(notice)), reason, cancellationToken);
    }

    /// <summary>
    /// Parks the copies of <paramref name="copies"/> not yet delivered or parked; the one that was in flight
    /// (<paramref name="inFlight"/>) with <paramref name="inFlightReason"/>. Returns the account channel's result.
    /// </summary>
    private async Task<SlackDeliveryResult> ParkRestAsync(Notice notice, Copies copies, string reason, CancellationToken cancellationToken,
        string? inFlight = null, string? inFlightReason = null)
    {
        foreach (var channel in copies.Channels)
        {
            if (copies.IsDone(channel)) continue;
            var thread = await ThreadForAsync(notice, channel, cancellationToken).ConfigureAwait(false);
            string why = channel == inFlight && inFlightReason is not null ? inFlightReason : reason;
            copies.Done(channel, await SaveAsync(notice, Render(notice, channel, thread), attempts: 0, why, cancellationToken).ConfigureAwait(false));
        }
        return copies.First;
    }

    /// <summary>Both payloads carry the thread, so the plain-text fallback and a resend from the outbox land in it too.</summary>
    private OutgoingMessage Render(Notice notice, string channel, string? threadTs)
    {
        string? payloadChannel = _sender.Options.Mode == SlackMode.BotToken ? channel : null;
        var message = SlackDigestRenderer.Render(notice, _render);
        return new OutgoingMessage(notice.NoticeId, channel,
            message.ToPayload(payloadChannel, threadTs: threadTs), message.ToPayload(payloadChannel, plainTextOnly: true, threadTs: threadTs));
    }

    private async Task<SlackDeliveryResult> SaveAsync(Notice notice, OutgoingMessage outgoing, int attempts, string error, CancellationToken cancellationToken)
    {
        string location = await _outbox.SaveAsync(
            new OutboxEntry(notice.NoticeId, outgoing.Channel, _time.GetUtcNow(), error, outgoing.Payload, outgoing.PlainPayload),
            cancellationToken).ConfigureAwait(false);
        _log($"{notice.Kind} {notice.NoticeId} to {outgoing.Channel} was NOT delivered ({error}); kept in the outbox: {location}");
        return new SlackDeliveryResult(notice.NoticeId, outgoing.Channel, SlackDeliveryStatus.Outboxed, attempts, null, error, location);
    }

    /// <summary>
    /// Delivers digests in the given order within each account channel (channels proceed in parallel). A digest that
    /// ends in the outbox does not hold back the ones after it. Results come back in input order. Copies for the alert
    /// channel go out as their account channels reach them, so there the order holds only within one account channel.
    /// </summary>
    public async Task<IReadOnlyList<SlackDeliveryResult>> DeliverAllAsync(IReadOnlyList<Digest> digests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digests);
        var results = new SlackDeliveryResult[digests.Count];
        var byChannel = digests.Select((d, i) => (d, i)).GroupBy(x => ChannelFor(x.d), StringComparer.Ordinal);
        await Task.WhenAll(byChannel.Select(async group =>
        {
            foreach (var (digest, index) in group)
                results[index] = await PostAsync(digest, cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);
        return results;
    }
}
