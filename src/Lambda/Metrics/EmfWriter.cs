using System.Buffers;
using System.Text.Json;
using Pipeline.Lambda.Configuration;

namespace Pipeline.Lambda.Metrics;

/// <summary>
/// Writes an invocation's metrics as CloudWatch embedded metric format: one JSON object per line on stdout, which
/// Lambda sends to CloudWatch Logs and CloudWatch turns into metrics (no PutMetricData call, no SDK, no latency).
/// Names come from <see cref="FunctionMetrics"/>, which infra's dashboard and alarms read too. Utf8JsonWriter only,
/// for NativeAOT.
/// </summary>
internal sealed class EmfWriter(TextWriter output, TimeProvider time, string functionName)
{
    /// <summary>EMF's limit on the values of one metric in one log line.</summary>
    internal const int MaxValuesPerMetric = 100;

    private static readonly (string Name, string Unit)[] Counts =
    [
        (FunctionMetrics.Received, "Count"),
        (FunctionMetrics.Rejected, "Count"),
        (FunctionMetrics.Duplicates, "Count"),
        (FunctionMetrics.Muted, "Count"),
        (FunctionMetrics.Digested, "Count"),
        (FunctionMetrics.DigestsPosted, "Count"),
        (FunctionMetrics.DigestsParked, "Count"),
        (FunctionMetrics.CarryBytes, "Bytes"),
        (FunctionMetrics.LedgerErrors, "Count"),
        (FunctionMetrics.CarryStoreErrors, "Count"),
        (FunctionMetrics.SilentAccountRegions, "Count"),
    ];

    private readonly object _gate = new();

    public void Write(InvocationMetrics m, string? requestId)
    {
        // The lag's values go 100 to a line (EMF's limit): the first line carries everything else too.
        var lag = m.DigestLagMs;
        int offset = 0;
        do
        {
            var chunk = lag.Skip(offset).Take(MaxValuesPerMetric).ToList();
            WriteLine(offset == 0 ? m : null, m.Kind, chunk, requestId);
            offset += MaxValuesPerMetric;
        }
        while (offset < lag.Count);
    }

    private void WriteLine(InvocationMetrics? m, string kind, IReadOnlyList<double> lag, string? requestId)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("_aws");
            w.WriteNumber("Timestamp", time.GetUtcNow().ToUnixTimeMilliseconds());
            w.WriteStartArray("CloudWatchMetrics");
            w.WriteStartObject();
            w.WriteString("Namespace", FunctionMetrics.Namespace);
            w.WriteStartArray("Dimensions");
            w.WriteStartArray();
            w.WriteStringValue(FunctionMetrics.FunctionDimension);
            w.WriteEndArray();
            w.WriteEndArray();
            w.WriteStartArray("Metrics");
            if (m is not null)
            {
                foreach (var (name, unit) in Counts) Definition(w, name, unit);
                if (m.WindowStateBytes is not null) Definition(w, FunctionMetrics.WindowStateBytes, "Bytes");
            }
            // No digest, no lag: an empty value list would be a metric without a value.
            if (lag.Count > 0) Definition(w, FunctionMetrics.DigestLag, "Milliseconds");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteString(FunctionMetrics.FunctionDimension, functionName);
            // Context for Logs Insights, not metrics: which call and which request.
            w.WriteString("invocation", kind);
            if (requestId is not null) w.WriteString("requestId", requestId);
            if (m is not null)
            {
                w.WriteNumber(FunctionMetrics.Received, m.Received);
                w.WriteNumber(FunctionMetrics.Rejected, m.Rejected);
                w.WriteNumber(FunctionMetrics.Duplicates, m.Duplicates);
                w.WriteNumber(FunctionMetrics.Muted, m.Muted);
                w.WriteNumber(FunctionMetrics.Digested, m.Digested);
                w.WriteNumber(FunctionMetrics.DigestsPosted, m.DigestsPosted);
                w.WriteNumber(FunctionMetrics.DigestsParked, m.DigestsParked);
                w.WriteNumber(FunctionMetrics.CarryBytes, m.CarryBytes);
                w.WriteNumber(FunctionMetrics.LedgerErrors, m.LedgerErrors);
                w.WriteNumber(FunctionMetrics.CarryStoreErrors, m.CarryStoreErrors);
                w.WriteNumber(FunctionMetrics.SilentAccountRegions, m.SilentAccountRegions);
                if (m.WindowStateBytes is { } stateBytes) w.WriteNumber(FunctionMetrics.WindowStateBytes, stateBytes);
            }
            if (lag.Count > 0)
            {
                w.WriteStartArray(FunctionMetrics.DigestLag);
                foreach (var ms in lag) w.WriteNumberValue(Math.Round(ms, 1));
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        var line = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        lock (_gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }

    private static void Definition(Utf8JsonWriter w, string name, string unit)
    {
        w.WriteStartObject();
        w.WriteString("Name", name);
        w.WriteString("Unit", unit);
        w.WriteEndObject();
    }
}
