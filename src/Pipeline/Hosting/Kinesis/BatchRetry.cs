using Pipeline.Lambda.Windows;
using Polly;
using Polly.Retry;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>
/// Calls the handler again for a batch it reports as failed, as Lambda's event source mapping does: at most
/// <see cref="EventSourceMappingOptions.MaxBatchAttempts"/> calls, 1, 2, 4 … 30 s apart, then
/// <see cref="BatchFailedException"/>, so the run stops with its checkpoint before the batch. A handler that throws
/// is not called again: that is a stop or a bug, not a failed batch.
/// </summary>
internal sealed class BatchRetry
{
    private static readonly ResiliencePropertyKey<string> ShardKey = new("shardId");
    private readonly ResiliencePipeline<WindowResponse> _pipeline;

    public BatchRetry(int maxAttempts, TimeProvider time, Action<string> log)
    {
        // Polly needs at least one retry; one attempt is no retry at all.
        _pipeline = maxAttempts <= 1
            ? ResiliencePipeline<WindowResponse>.Empty
            : new ResiliencePipelineBuilder<WindowResponse> { TimeProvider = time }
                .AddRetry(new RetryStrategyOptions<WindowResponse>
                {
                    MaxRetryAttempts = maxAttempts - 1,
                    // No jitter: one local consumer has no crowd of retries to spread out.
                    Delay = TimeSpan.FromSeconds(1),
                    MaxDelay = TimeSpan.FromSeconds(30),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = false,
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { BatchItemFailures.Count: > 0 }),
                    OnRetry = args =>
                    {
                        log($"shard {args.Context.Properties.GetValue(ShardKey, "")}: batch failed, retrying in {args.RetryDelay.TotalSeconds:0} s (attempt {args.AttemptNumber + 2} of {maxAttempts})");
                        return default;
                    },
                })
                .Build();
    }

    /// <summary>The handler's response to the batch once it reported no failure.</summary>
    public async Task<WindowResponse> CallAsync(string shardId, Func<CancellationToken, Task<WindowResponse>> call, CancellationToken cancellationToken)
    {
        int attempts = 0;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ShardKey, shardId);
        WindowResponse response;
        try
        {
            response = await _pipeline.ExecuteAsync(async ctx =>
            {
                attempts++;
                return await call(ctx.CancellationToken).ConfigureAwait(false);
            }, context).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
        if (response.BatchItemFailures.Count == 0) return response;

        // Stopping (Polly starts no call once the token is cancelled): the batch is read again next time, not retried now.
        cancellationToken.ThrowIfCancellationRequested();
        throw new BatchFailedException($"shard {shardId}: the batch from sequence number {response.BatchItemFailures[0]} failed {attempts} times (see the log above); stopped here. Fix the cause and run again: it resumes from this batch.");
    }
}
