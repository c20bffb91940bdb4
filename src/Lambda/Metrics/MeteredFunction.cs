using Pipeline.Aggregator.Bursts;
using Pipeline.Lambda.Carry;
using Pipeline.Lambda.Runtime;
using Pipeline.Lambda.Windows;

namespace Pipeline.Lambda.Metrics;

/// <summary>
/// One invocation as the function serves it (the schedule's sweep or a Kinesis batch), followed, whatever happened,
/// by one EMF line of its metrics: the batch's counts from the handler, the edges' from the <see cref="InvocationMeter"/>.
/// </summary>
internal sealed class MeteredFunction(KinesisWindowHandler handler, CarrySweeper sweeper, InvocationMeter meter, EmfWriter metrics)
{
    /// <summary>Lambda's variable naming the function: the metrics' one dimension.</summary>
    internal const string FunctionNameVariable = "AWS_LAMBDA_FUNCTION_NAME";

    /// <summary>Outside Lambda (a Runtime API emulator) the dimension still needs a value.</summary>
    internal const string UnnamedFunction = "local";

    public async Task<byte[]> InvokeAsync(Invocation invocation, CancellationToken cancellationToken)
    {
        meter.Take("none"); // nothing belongs to no invocation: start from zero
        string kind = "window";
        RunSummary? batch = null;
        long? stateBytes = null;
        int silent = 0;
        try
        {
            // The schedule's sweep ({"action":"sweep"}) or a Kinesis batch, told apart in the one reading of the body. The
            // body is this invocation's alone: a batch's records are decoded in place, with no copy of the batch.
            if (KinesisWindowEvent.ParseInPlaceOrSweep(invocation.Body) is not { } evt)
            {
                kind = "sweep";
                var result = await sweeper.SweepAsync(invocation.RequestId, flushAll: false, cancellationToken).ConfigureAwait(false);
                silent = result.SilentAccountRegions; // the silence alarm's metric: account-regions newly reported quiet
                return SweepRequest.ResponseJson(result);
            }
            var response = await handler.HandleAsync(evt, cancellationToken).ConfigureAwait(false);
            batch = response.Batch;
            var json = response.ToJson();
            if (response.State is not null) stateBytes = json.Length; // what Lambda measures against its 1 MB limit
            return json;
        }
        finally
        {
            // Also when the invocation failed: its errors are what an operator's alarm needs most.
            metrics.Write(meter.Take(kind).WithBatch(batch) with { WindowStateBytes = stateBytes, SilentAccountRegions = silent },
                invocation.RequestId);
        }
    }
}
