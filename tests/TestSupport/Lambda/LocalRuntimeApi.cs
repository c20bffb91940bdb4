using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Pipeline.TestSupport.Lambda;

/// <summary>What the function sent back for one invocation (or at start-up).</summary>
public sealed record RuntimeReply(string Kind, string? RequestId, byte[] Body, string? ErrorType, long ReceivedTimestamp)
{
    public const string Response = "response";
    public const string Error = "error";
    public const string InitError = "init-error";

    public string Text => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A Runtime API on 127.0.0.1 that plays invocations to a bootstrap and collects its answers, as Lambda would,
/// plus a <c>/webhook</c> endpoint that takes digest posts. Used by the process-level tests and by
/// <c>pipeline bench lambda</c>; never part of the Lambda's own path.
/// </summary>
public sealed class LocalRuntimeApi : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Channel<(string Id, byte[] Body, DateTimeOffset Deadline)> _invocations = Channel.CreateUnbounded<(string, byte[], DateTimeOffset)>();
    private readonly Channel<RuntimeReply> _replies = Channel.CreateUnbounded<RuntimeReply>();
    private readonly List<byte[]> _webhookPosts = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _webhookFailures;
    private int _webhookSuccessesBeforeFailing;
    private int _next;

    public LocalRuntimeApi()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>What AWS_LAMBDA_RUNTIME_API must hold.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public Uri WebhookUrl => new($"http://127.0.0.1:{Port}/webhook");

    public IReadOnlyList<byte[]> WebhookPosts
    {
        get
        {
            lock (_webhookPosts) return [.. _webhookPosts];
        }
    }

    /// <summary>After <paramref name="after"/> more successful posts, the next <paramref name="count"/> webhook posts fail with HTTP 503 (a delivery outage).</summary>
    public void FailWebhookPosts(int count, int after = 0)
    {
        lock (_webhookPosts)
        {
            _webhookFailures = count;
            _webhookSuccessesBeforeFailing = after;
        }
    }

    /// <summary>Queues an invocation; returns its request id.</summary>
    public string Enqueue(byte[] eventJson, TimeSpan? timeout = null)
    {
        var id = $"req-{Interlocked.Increment(ref _next):D4}";
        _invocations.Writer.TryWrite((id, eventJson, DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromMinutes(2))));
        return id;
    }

    /// <summary>The function's next answer (response, error or init error), or a TimeoutException.</summary>
    public async Task<RuntimeReply> NextReplyAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _replies.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the function sent no answer within {timeout.TotalSeconds:0} s");
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(context));
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            var path = request.Url!.AbsolutePath;
            if (request.HttpMethod == "GET" && path == "/2018-06-01/runtime/invocation/next")
            {
                var (id, body, deadline) = await _invocations.Reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                response.Headers["Lambda-Runtime-Aws-Request-Id"] = id;
                response.Headers["Lambda-Runtime-Deadline-Ms"] = deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                response.Headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:us-east-1:123456789012:function:org-digests";
                response.Headers["Lambda-Runtime-Trace-Id"] = $"Root=1-00000000-{id};Parent=0000000000000000;Sampled=0";
                response.ContentType = "application/json";
                // As Lambda's Runtime API does, with its length. HttpListener copies a write that carries the headers into a
                // buffer of its own, which for a 19 MB batch grew by doubling (~60 MB allocated and copied in this process,
                // on the benchmark's clock): the first byte goes with the headers, the rest straight to the socket.
                response.ContentLength64 = body.Length;
                if (body.Length > 0)
                {
                    await response.OutputStream.WriteAsync(body.AsMemory(0, 1), _stop.Token).ConfigureAwait(false);
                    await response.OutputStream.WriteAsync(body.AsMemory(1), _stop.Token).ConfigureAwait(false);
                }
                response.Close();
                return;
            }

            var payload = await ReadAllAsync(request.InputStream).ConfigureAwait(false);
            long received = Stopwatch.GetTimestamp();
            if (request.HttpMethod == "POST" && path == "/webhook")
            {
                bool fail;
                lock (_webhookPosts)
                {
                    fail = _webhookFailures > 0 && _webhookSuccessesBeforeFailing == 0;
                    if (fail) _webhookFailures--;
                    else _webhookPosts.Add(payload);
                    if (!fail && _webhookSuccessesBeforeFailing > 0) _webhookSuccessesBeforeFailing--;
                }
                response.StatusCode = fail ? 503 : 200;
                await response.OutputStream.WriteAsync(fail ? "service unavailable"u8.ToArray() : "ok"u8.ToArray()).ConfigureAwait(false);
                response.Close();
                return;
            }
            if (request.HttpMethod == "POST" && path == "/2018-06-01/runtime/init/error")
            {
                Reply(response, new RuntimeReply(RuntimeReply.InitError, null, payload, request.Headers["Lambda-Runtime-Function-Error-Type"], received));
                return;
            }
            const string prefix = "/2018-06-01/runtime/invocation/";
            if (request.HttpMethod == "POST" && path.StartsWith(prefix, StringComparison.Ordinal))
            {
                var rest = path[prefix.Length..].Split('/');
                if (rest.Length == 2 && rest[1] is "response" or "error")
                {
                    var kind = rest[1] == "response" ? RuntimeReply.Response : RuntimeReply.Error;
                    Reply(response, new RuntimeReply(kind, Uri.UnescapeDataString(rest[0]), payload, request.Headers["Lambda-Runtime-Function-Error-Type"], received));
                    return;
                }
            }
            response.StatusCode = 404;
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The function went away (killed between runs) or we are stopping.
        }
    }

    private void Reply(HttpListenerResponse response, RuntimeReply reply)
    {
        _replies.Writer.TryWrite(reply);
        response.StatusCode = 202;
        response.Close();
    }

    private static async Task<byte[]> ReadAllAsync(Stream input)
    {
        using var copy = new MemoryStream();
        await input.CopyToAsync(copy).ConfigureAwait(false);
        return copy.ToArray();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Close();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
        {
            // Closing the listener ends the accept loop this way.
        }
        _stop.Dispose();
    }
}
