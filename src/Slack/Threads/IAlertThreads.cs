namespace Pipeline.Slack.Threads;

/// <summary>
/// Where the Slack sink remembers the message each alert became, per channel (alert id and channel → the message's
/// <c>ts</c>), so that the burst's digest, posted minutes later and perhaps by another process, can be posted as a
/// reply in that alert's thread. Only a bot token learns a <c>ts</c>; a webhook never remembers anything.
/// </summary>
/// <remarks>
/// Best effort by design: a thread that cannot be remembered or found costs only the threading (the digest is then
/// posted at the top of the channel, as without a bot token), so callers log a failure and go on rather than fail a
/// delivery that Slack has already accepted.
/// </remarks>
public interface IAlertThreads
{
    /// <summary>Remembers that alert <paramref name="alertId"/> was posted to <paramref name="channel"/> as message <paramref name="ts"/>.</summary>
    Task RememberAsync(string alertId, string channel, string ts, CancellationToken cancellationToken);

    /// <summary>The <c>ts</c> of alert <paramref name="alertId"/>'s message in <paramref name="channel"/>, or null when none is remembered.</summary>
    Task<string?> FindAsync(string alertId, string channel, CancellationToken cancellationToken);
}
