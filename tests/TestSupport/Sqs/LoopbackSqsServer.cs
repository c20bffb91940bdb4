using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pipeline.TestSupport.Sqs;

/// <summary>One message as the server holds it (for assertions).</summary>
public sealed record SqsMessageSnapshot(string MessageId, string Body, int ReceiveCount, bool Visible);

/// <summary>
/// Our own minimal SQS peer on 127.0.0.1 — NOT an AWS emulator. It speaks just enough of the SQS JSON 1.0
/// protocol that the real AWSSDK.SQS client uses (POST /, <c>Content-Type: application/x-amz-json-1.0</c>,
/// <c>X-Amz-Target: AmazonSQS.&lt;Action&gt;</c>) for three actions: SendMessage, ReceiveMessage, DeleteMessage,
/// on any number of queues named by their URL's last path segment (created on first use). Semantics kept from
/// SQS: a received message is hidden for the request's VisibilityTimeout (else the queue's default, 30 s) on
/// the server's clock, each receive issues a fresh receipt handle and counts toward the message's receive count,
/// deleting needs the latest handle (an older one "succeeds" without deleting, as SQS documents), MD5 digests of
/// bodies are returned (the SDK checks them), at most 10 per receive, bodies over 256 KiB are refused.
/// Not kept: ordering guarantees beyond FIFO-ish arrival order, long polling (WaitTimeSeconds is ignored),
/// attributes, dead-letter redrive, authentication (the signature is not checked).
/// </summary>
public sealed class LoopbackSqsServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, List<Held>> _queues = new(StringComparer.Ordinal);
    private readonly List<string> _targets = [];
    private readonly object _gate = new();
    private readonly Task _loop;
    private long _sequence;

    private sealed class Held
    {
        public required string MessageId { get; init; }
        public required string Body { get; init; }
        public string? ReceiptHandle { get; set; }
        public DateTimeOffset VisibleAt { get; set; }
        public int ReceiveCount { get; set; }
    }

    public LoopbackSqsServer(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        (_listener, Port) = LoopbackHttp.StartOnFreePort();
        _loop = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    /// <summary>The service endpoint (what https://sqs.REGION.amazonaws.com is).</summary>
    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>A queue URL in SQS's form, on this server.</summary>
    public string QueueUrl(string name = "outbox") => $"{Endpoint}/000000000000/{name}";

    /// <summary>While true, every request is answered 500 InternalError (SQS unavailable).</summary>
    public bool Unavailable { get; set; }

    /// <summary>The X-Amz-Target of every request, in arrival order (shows what the SDK really sent).</summary>
    public IReadOnlyList<string> Targets { get { lock (_gate) return [.. _targets]; } }

    /// <summary>Content-Type of the last request.</summary>
    public string? LastContentType { get; private set; }

    public IReadOnlyList<SqsMessageSnapshot> Messages(string name = "outbox")
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            return _queues.TryGetValue(name, out var q)
                ? [.. q.Select(m => new SqsMessageSnapshot(m.MessageId, m.Body, m.ReceiveCount, m.VisibleAt <= now))]
                : [];
        }
    }

    private Task AcceptLoop() => LoopbackHttp.AcceptLoopAsync(_listener, Handle, _stop.Token);

    private async Task Handle(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            byte[] body;
            using (var ms = new MemoryStream())
            {
                await context.Request.InputStream.CopyToAsync(ms).ConfigureAwait(false);
                body = ms.ToArray();
            }
            string target = context.Request.Headers["X-Amz-Target"] ?? "";
            lock (_gate) _targets.Add(target);
            LastContentType = context.Request.ContentType;
            if (Unavailable)
            {
                await Error(response, 500, "InternalError", "We encountered an internal error. Please try again.").ConfigureAwait(false);
                return;
            }
            if (context.Request.HttpMethod != "POST" || !target.StartsWith("AmazonSQS.", StringComparison.Ordinal))
            {
                await Error(response, 400, "InvalidAction", $"not an SQS JSON request (X-Amz-Target '{target}')").ConfigureAwait(false);
                return;
            }
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var (status, json) = target["AmazonSQS.".Length..] switch
            {
                "SendMessage" => Send(root),
                "ReceiveMessage" => Receive(root),
                "DeleteMessage" => Delete(root),
                "GetQueueAttributes" => Attributes(root),
                var other => (400, ErrorJson("UnsupportedOperation", $"{other} is not implemented by this test peer")),
            };
            await Reply(response, status, json).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await Error(response, 400, "MalformedInput", e.Message).ConfigureAwait(false);
        }
        catch (HttpListenerException) { }
        catch (ObjectDisposedException) { }
    }

    private static string? QueueName(JsonElement root) =>
        root.TryGetProperty("QueueUrl", out var u) && u.GetString() is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.Segments[^1].TrimEnd('/')
            : null;

    private (int, string) Send(JsonElement root)
    {
        if (QueueName(root) is not { } name) return (400, ErrorJson("MissingParameter", "QueueUrl is required"));
        if (!root.TryGetProperty("MessageBody", out var b) || b.GetString() is not { Length: > 0 } text)
            return (400, ErrorJson("MissingParameter", "MessageBody is required"));
        if (Encoding.UTF8.GetByteCount(text) > 262_144)
            return (400, ErrorJson("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes."));
        var held = new Held { MessageId = Guid.NewGuid().ToString(), Body = text, VisibleAt = _time.GetUtcNow() };
        lock (_gate)
        {
            if (!_queues.TryGetValue(name, out var q)) _queues[name] = q = [];
            q.Add(held);
        }
        return (200, Json(w =>
        {
            w.WriteString("MessageId", held.MessageId);
            w.WriteString("MD5OfMessageBody", Md5(text));
        }));
    }

    private (int, string) Receive(JsonElement root)
    {
        if (QueueName(root) is not { } name) return (400, ErrorJson("MissingParameter", "QueueUrl is required"));
        int max = root.TryGetProperty("MaxNumberOfMessages", out var m) ? m.GetInt32() : 1;
        if (max is < 1 or > 10) return (400, ErrorJson("InvalidParameterValue", "Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10."));
        int visibility = root.TryGetProperty("VisibilityTimeout", out var v) ? v.GetInt32() : 30;
        var taken = new List<Held>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_queues.TryGetValue(name, out var q))
            {
                foreach (var held in q.Where(h => h.VisibleAt <= now).Take(max))
                {
                    held.ReceiveCount++;
                    held.VisibleAt = now.AddSeconds(visibility);
                    held.ReceiptHandle = $"{held.MessageId}#{Interlocked.Increment(ref _sequence)}";
                    taken.Add(held);
                }
            }
        }
        return (200, Json(w =>
        {
            w.WriteStartArray("Messages");
            foreach (var h in taken)
            {
                w.WriteStartObject();
                w.WriteString("MessageId", h.MessageId);
                w.WriteString("ReceiptHandle", h.ReceiptHandle);
                w.WriteString("MD5OfBody", Md5(h.Body));
                w.WriteString("Body", h.Body);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }));
    }

    /// <summary>The two counts `pipeline doctor` reads (any queue this peer has not seen is empty).</summary>
    private (int, string) Attributes(JsonElement root)
    {
        if (QueueName(root) is not { } name) return (400, ErrorJson("MissingParameter", "QueueUrl is required"));
        int visible, hidden;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var q = _queues.GetValueOrDefault(name) ?? [];
            visible = q.Count(h => h.VisibleAt <= now);
            hidden = q.Count - visible;
        }
        return (200, Json(w =>
        {
            w.WriteStartObject("Attributes");
            w.WriteString("ApproximateNumberOfMessages", visible.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("ApproximateNumberOfMessagesNotVisible", hidden.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }));
    }

    private (int, string) Delete(JsonElement root)
    {
        if (QueueName(root) is not { } name) return (400, ErrorJson("MissingParameter", "QueueUrl is required"));
        string handle = root.TryGetProperty("ReceiptHandle", out var r) ? r.GetString() ?? "" : "";
        int hash = handle.IndexOf('#', StringComparison.Ordinal);
        if (hash <= 0) return (400, ErrorJson("ReceiptHandleIsInvalid", $"The input receipt handle \"{handle}\" is not a valid receipt handle."));
        lock (_gate)
        {
            // Deleting an already deleted message, or with a stale handle, succeeds; only the latest handle deletes.
            if (_queues.TryGetValue(name, out var q)) q.RemoveAll(h => h.ReceiptHandle == handle);
        }
        return (200, "{}");
    }

    private static string Md5(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string ErrorJson(string code, string message) => Json(w =>
    {
        w.WriteString("__type", "com.amazonaws.sqs#" + code);
        w.WriteString("message", message);
    });

    private static Task Error(HttpListenerResponse response, int status, string code, string message)
    {
        response.Headers["x-amzn-query-error"] = $"AWS.SimpleQueueService.{code};Sender";
        return Reply(response, status, ErrorJson(code, message));
    }

    private static async Task Reply(HttpListenerResponse response, int status, string json)
    {
        response.StatusCode = status;
        response.ContentType = "application/x-amz-json-1.0";
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        var bytes = Encoding.UTF8.GetBytes(json);
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
        response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        // Close alone: after Stop, .NET's Close binds the port again to remove its prefix, and fails with "Address
        // already in use" when a parallel test has taken the freed port meanwhile.
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
