using System.Buffers;
using System.Text.Json;

namespace Pipeline.Lambda.Runtime;

/// <summary>
/// Structured logs as Lambda and CloudWatch Logs Insights like them: one JSON object per line on stdout,
/// Powertools-style field names (<c>level</c>, <c>message</c>, <c>timestamp</c>, <c>service</c>, <c>requestId</c>),
/// plus the fields of the message. Never logs record contents or secrets.
/// </summary>
public sealed class LambdaLog(TextWriter output, TimeProvider time, string service = "org-digests")
{
    private readonly object _gate = new();

    /// <summary>The invocation being handled (set by the runtime loop; null between invocations).</summary>
    public string? RequestId { get; set; }

    public void Info(string message, Action<Utf8JsonWriter>? fields = null) => Write("INFO", message, fields);

    public void Warn(string message, Action<Utf8JsonWriter>? fields = null) => Write("WARN", message, fields);

    public void Error(string message, Action<Utf8JsonWriter>? fields = null) => Write("ERROR", message, fields);

    public void Write(string level, string message, Action<Utf8JsonWriter>? fields)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("level", level);
            w.WriteString("message", message);
            w.WriteString("timestamp", time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("service", service);
            if (RequestId is not null) w.WriteString("requestId", RequestId);
            fields?.Invoke(w);
            w.WriteEndObject();
        }
        var line = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        lock (_gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
