using Amazon.Runtime;

namespace Pipeline.Kinesis;

/// <summary>Settings of <see cref="KinesisClient"/>; checked by <see cref="Validate"/> when the client is built.</summary>
public sealed record KinesisClientOptions
{
    /// <summary>AWS region, e.g. "eu-west-1". Also the SigV4 signing region when <see cref="ServiceUrl"/> is set.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>Endpoint override (kinesalite: http://127.0.0.1:PORT). Default: https://kinesis.{Region}.amazonaws.com.</summary>
    public Uri? ServiceUrl { get; init; }

    /// <summary>Credentials; null = AWSSDK.Core's default chain (environment, profile, container, instance role).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>Attempts per call for retryable errors (throttling, 5xx, timeouts), and per PutRecords batch for failed entries. Default 5; 1–20.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>First backoff delay; doubles each attempt. Default 100 ms.</summary>
    public TimeSpan BaseBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Backoff cap. Default 5 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Randomise half of each backoff so throttled writers spread out. Default true; tests turn it off to see exact delays.</summary>
    public bool BackoffJitter { get; init; } = true;

    /// <summary>
    /// Where the random half of each backoff comes from: a number in [0, 1) per call. Default null: a source of the
    /// client's own, made when the client is built (<see cref="Backoff.NewJitterSource"/>); pass a seeded one to replay delays.
    /// </summary>
    public Func<double>? JitterSource { get; init; }

    /// <summary>Time limit of one HTTP call. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often <see cref="KinesisClient.WaitForActiveAsync"/> asks DescribeStreamSummary. Default 1 s.</summary>
    public TimeSpan StatusPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a stream may stay CREATING/UPDATING before WaitForActiveAsync gives up. Default 5 min.</summary>
    public TimeSpan ActiveTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Region)) throw new ArgumentException("KinesisClientOptions.Region is required (e.g. \"eu-west-1\").");
        if (ServiceUrl is { IsAbsoluteUri: false } || ServiceUrl is { Scheme: not ("http" or "https") })
            throw new ArgumentException($"KinesisClientOptions.ServiceUrl must be an absolute http(s) URL, got '{ServiceUrl}'.");
        if (MaxAttempts is < 1 or > 20) throw new ArgumentException($"KinesisClientOptions.MaxAttempts must be 1–20, got {MaxAttempts}.");
        if (BaseBackoff < TimeSpan.Zero || MaxBackoff < BaseBackoff)
            throw new ArgumentException($"KinesisClientOptions backoff must satisfy 0 <= BaseBackoff <= MaxBackoff, got {BaseBackoff} and {MaxBackoff}.");
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentException($"KinesisClientOptions.RequestTimeout must be positive, got {RequestTimeout}.");
        if (StatusPollInterval <= TimeSpan.Zero || StatusPollInterval > TimeSpan.FromDays(1) || ActiveTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"KinesisClientOptions.StatusPollInterval must be positive and at most 1 day, and ActiveTimeout positive, got {StatusPollInterval} and {ActiveTimeout}.");
    }
}
