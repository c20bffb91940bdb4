using System.Runtime.CompilerServices;
using System.Text;
using Amazon.SQS;
using Amazon.SQS.Model;

namespace Pipeline.Slack.Outbox;

/// <summary>Settings of the SQS outbox.</summary>
public sealed record SqsOutboxOptions
{
    /// <summary>SQS's limit on a message (body and attributes): 256 KiB.</summary>
    public const int MaxMessageBytes = 262_144;

    public required string QueueUrl { get; init; }

    /// <summary>
    /// How long a received entry stays hidden from every other reader. Long enough to resend it and delete it
    /// (a Lambda invocation lasts at most its timeout, 2 min in the stack); a failed resend comes back after it,
    /// so it also spaces out retries of a digest Slack keeps refusing. Default 15 min; 1 s–12 h (SQS's range).
    /// </summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Most entries one <see cref="SqsDigestOutbox.ReadAllAsync"/> hands out. Default 100.</summary>
    public int MaxPerRead { get; init; } = 100;

    public SqsOutboxOptions Validate()
    {
        if (!Uri.TryCreate(QueueUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            throw new ArgumentException($"the outbox queue URL '{QueueUrl}' is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME).");
        if (VisibilityTimeout < TimeSpan.FromSeconds(1) || VisibilityTimeout > TimeSpan.FromHours(12))
            throw new ArgumentException($"the outbox visibility timeout must be between 1 s and 12 h (SQS's range); it is {VisibilityTimeout}.");
        if (MaxPerRead < 1) throw new ArgumentException("the outbox MaxPerRead must be at least 1.");
        return this;
    }
}

/// <summary>An entry is larger than an SQS message may be; it cannot be parked (and nothing was sent).</summary>
internal sealed class OutboxEntryTooLargeException(string message) : Exception(message);

/// <summary>
/// The Lambda's outbox: one SQS message per undelivered digest, its body the entry's JSON
/// (<see cref="OutboxEntryJson"/>, the same shape as a <see cref="FolderOutbox"/> file).
/// <list type="bullet">
/// <item>Save = <c>SendMessage</c>: once it returns, SQS holds the entry durably (redundantly stored). An entry over
/// 256 KiB is refused with <see cref="OutboxEntryTooLargeException"/> before anything is sent.</item>
/// <item>Read = <c>ReceiveMessage</c>: one message first, then up to 10 per call, each only when the caller asks for
/// more, so a caller that stops at its first failure has taken (and hidden) no more than it tried. Every received
/// message is hidden from other readers (another shard's function) for <see cref="SqsOutboxOptions.VisibilityTimeout"/>:
/// they skip what is in flight. The location is the receipt handle.</item>
/// <item>Delete = <c>DeleteMessage</c> with that receipt handle, called once Slack has accepted the digest. A message
/// never deleted (resend failed, process died) is seen again after the visibility timeout; after the queue's
/// maxReceiveCount (10 in the stack) SQS moves it to the dead-letter queue.</item>
/// </list>
/// A standard queue keeps no strict order and may, rarely, deliver a message twice: resends are roughly in failure
/// order and at least once. Unreadable bodies are reported and left in the queue (they end in the dead-letter queue).
/// </summary>
public sealed class SqsDigestOutbox : IDigestOutbox
{
    private readonly IAmazonSQS _sqs;
    private readonly SqsOutboxOptions _options;

    public SqsDigestOutbox(IAmazonSQS sqs, SqsOutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        _sqs = sqs;
        _options = options.Validate();
    }

    public string QueueUrl => _options.QueueUrl;

    public async Task<string> SaveAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var body = OutboxEntryJson.ToUtf8(entry);
        if (body.Length > SqsOutboxOptions.MaxMessageBytes)
            throw new OutboxEntryTooLargeException(
                $"digest {entry.DigestId} cannot be parked in the SQS outbox: its entry is {body.Length:N0} bytes, over SQS's limit of {SqsOutboxOptions.MaxMessageBytes:N0}.");
        var response = await _sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = _options.QueueUrl,
            MessageBody = Encoding.UTF8.GetString(body),
        }, cancellationToken).ConfigureAwait(false);
        return $"SQS message {response.MessageId}";
    }

    public async IAsyncEnumerable<OutboxItem> ReadAllAsync(Action<string, string>? unreadable, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int handedOut = 0;
        int ask = 1;
        while (handedOut < _options.MaxPerRead)
        {
            var response = await _sqs.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = _options.QueueUrl,
                MaxNumberOfMessages = Math.Min(ask, _options.MaxPerRead - handedOut),
                VisibilityTimeout = (int)_options.VisibilityTimeout.TotalSeconds,
                WaitTimeSeconds = 0,
            }, cancellationToken).ConfigureAwait(false);
            var messages = response.Messages ?? [];
            if (messages.Count == 0) yield break;
            foreach (var message in messages)
            {
                // A standard queue may hand the same message out twice; once per read is enough.
                if (!seen.Add(message.MessageId)) continue;
                OutboxEntry? entry = null;
                string? problem = null;
                try
                {
                    entry = OutboxEntryJson.Parse(Encoding.UTF8.GetBytes(message.Body ?? ""));
                }
                catch (Exception e) when (OutboxEntryJson.IsReadError(e))
                {
                    problem = e.GetType().Name + ": " + e.Message;
                }
                if (entry is null)
                {
                    unreadable?.Invoke($"SQS message {message.MessageId}", problem ?? "unreadable");
                    continue;
                }
                handedOut++;
                yield return new OutboxItem(message.ReceiptHandle, entry);
            }
            ask = 10;
        }
    }

    public Task DeleteAsync(string location, CancellationToken cancellationToken) =>
        _sqs.DeleteMessageAsync(new DeleteMessageRequest { QueueUrl = _options.QueueUrl, ReceiptHandle = location }, cancellationToken);
}
