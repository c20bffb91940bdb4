namespace Pipeline.Lambda.Metrics;

/// <summary>
/// Collects what the function's edges see during one invocation (messages posted or parked, their lag, ledger and
/// carry-store failures, carry bytes written) through the metered decorators, until <see cref="Take"/> hands them over
/// and starts afresh. The function runs one invocation at a time; the lock only guards against a stray late callback.
/// </summary>
internal sealed class InvocationMeter(TimeProvider time)
{
    private readonly object _gate = new();
    private long _posted, _parked, _ledgerErrors, _carryErrors, _carryBytes;
    private List<double> _lag = [];

    public TimeProvider Time => time;

    public void Posted(DateTimeOffset newestEvent) => Delivered(newestEvent, parked: false);

    public void Parked(DateTimeOffset newestEvent) => Delivered(newestEvent, parked: true);

    private void Delivered(DateTimeOffset newestEvent, bool parked)
    {
        // An event stamped in the future (a skewed clock) would give a negative lag: it counts as none.
        var lag = Math.Max(0, (time.GetUtcNow() - newestEvent).TotalMilliseconds);
        lock (_gate)
        {
            if (parked) _parked++; else _posted++;
            _lag.Add(lag);
        }
    }

    public void LedgerError()
    {
        lock (_gate) _ledgerErrors++;
    }

    public void CarryStoreError()
    {
        lock (_gate) _carryErrors++;
    }

    public void CarryWritten(long bytes)
    {
        lock (_gate) _carryBytes += bytes;
    }

    /// <summary>What was seen since the last call, as the edges' part of an invocation's metrics; resets the meter.</summary>
    public InvocationMetrics Take(string kind)
    {
        lock (_gate)
        {
            var metrics = new InvocationMetrics
            {
                Kind = kind,
                DigestsPosted = _posted,
                DigestsParked = _parked,
                DigestLagMs = _lag,
                LedgerErrors = _ledgerErrors,
                CarryStoreErrors = _carryErrors,
                CarryBytes = _carryBytes,
            };
            _posted = _parked = _ledgerErrors = _carryErrors = _carryBytes = 0;
            _lag = [];
            return metrics;
        }
    }
}
