using Pipeline.Aggregator.Bursts;

namespace Pipeline.Cli.Lambda;

/// <summary>
/// Where the Lambda sends a closed digest. Returns when the digest is delivered (or safely parked in an
/// outbox); throws when it is neither, and the handler then retries the batch. In the function:
/// <see cref="SlackDigestPoster"/> (Slack, outbox in SQS).
/// </summary>
internal interface IDigestPoster
{
    Task PostAsync(Digest digest, CancellationToken cancellationToken);
}

/// <summary>A post failed in a way a retry may cure (HTTP 5xx, 429, connection refused).</summary>
internal sealed class DigestPostException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Keeps every digest it is given (tests, benchmarks); <see cref="FailWhen"/> makes chosen posts throw.</summary>
internal sealed class RecordingDigestPoster : IDigestPoster
{
    private readonly List<Digest> _posted = [];
    private readonly object _gate = new();

    /// <summary>Posts of digests matching this fail (a delivery outage), until it is set back to null.</summary>
    public Func<Digest, bool>? FailWhen { get; set; }

    public IReadOnlyList<Digest> Posted
    {
        get
        {
            lock (_gate) return [.. _posted];
        }
    }

    public Task PostAsync(Digest digest, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (FailWhen?.Invoke(digest) == true)
                throw new DigestPostException($"digest {digest.DigestId} not posted: delivery down (test switch)");
            _posted.Add(digest);
        }
        return Task.CompletedTask;
    }
}
