using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Pipeline.Lambda.Runtime;

/// <summary>
/// One invocation as the Runtime API hands it out. <see cref="Body"/> is this invocation's own buffer, shared with
/// nothing while it runs: the handler may take it over (the window handler decodes records in place), but must keep
/// nothing of it once the invocation is answered, when the buffer goes back to carry the next body
/// (<see cref="RuntimeApiClient.Recycle"/>).
/// </summary>
internal sealed record Invocation(string RequestId, DateTimeOffset? Deadline, string? TraceId, string? FunctionArn, Memory<byte> Body);

/// <summary>
/// The Lambda Runtime API (custom runtimes, <c>provided.al2023</c>): <c>GET next</c> blocks until an event comes,
/// then the function answers with <c>POST response</c> or <c>POST error</c>; a start-up failure is reported with
/// <c>POST init/error</c>. Base address: <c>http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/</c>.
/// </summary>
internal sealed class RuntimeApiClient(HttpClient http)
{
    private const string ErrorContentType = "application/vnd.aws.lambda.error+json";

    /// <summary>The first buffer for a body of unknown length (and the least one).</summary>
    private const int MinBodyBuffer = 64 * 1024;

    /// <summary>
    /// The largest body so far: the guess for the next one of unknown length. The largest, not the last: a window's small
    /// final call would otherwise make the next full batch grow its buffer (a copy) several times.
    /// </summary>
    private int _largestBody;

    /// <summary>
    /// The buffer of the last answered invocation, for the next body: a batch of several megabytes in a fresh array costs
    /// a page fault per 4 KB (the kernel zeroing each page) and a large-object allocation, the one heap the GC collects
    /// only in its full collections.
    /// </summary>
    private byte[]? _spare;

    /// <summary>
    /// The invocation has been answered: its body's buffer will carry the next one. Nothing of the body may be kept
    /// after this call (the runtime calls it once the response or error is posted).
    /// </summary>
    public void Recycle(Invocation answered)
    {
        if (MemoryMarshal.TryGetArray<byte>(answered.Body, out var segment) && segment.Array is { } array && array.Length > (_spare?.Length ?? 0))
            _spare = array;
    }

    /// <summary>The spare buffer when it holds at least <paramref name="length"/> bytes (it is then no longer spare), else a new one.</summary>
    private byte[] BufferOf(int length)
    {
        if (_spare is { } spare && spare.Length >= length)
        {
            _spare = null;
            return spare;
        }
        // Every byte is written before it is read, so the array need not be zeroed.
        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>An HttpClient for the Runtime API: no timeout, since <c>next</c> blocks until there is work.</summary>
    public static HttpClient CreateHttpClient(string runtimeApi) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = new Uri($"http://{runtimeApi}/2018-06-01/"),
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<Invocation> NextAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync("runtime/invocation/next", HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var body = await ReadBodyAsync(response.Content, cancellationToken).ConfigureAwait(false);
        string? Header(string name) => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
        var requestId = Header("Lambda-Runtime-Aws-Request-Id") ?? throw new InvalidOperationException("the Runtime API sent an invocation without Lambda-Runtime-Aws-Request-Id");
        DateTimeOffset? deadline = long.TryParse(Header("Lambda-Runtime-Deadline-Ms"), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;
        return new Invocation(requestId, deadline, Header("Lambda-Runtime-Trace-Id"), Header("Lambda-Runtime-Invoked-Function-Arn"), body);
    }

    /// <summary>
    /// Reads the body from the socket into one array of its own, with no copy on the way: the last invocation's when it is
    /// large enough, else one sized by Content-Length when the Runtime API sends one, else by the largest body so far (with
    /// room to spare), grown if short. Buffering the content (ReadAsByteArrayAsync) copied a 6 MB batch about three times
    /// and zeroed each copy.
    /// </summary>
    private async Task<Memory<byte>> ReadBodyAsync(HttpContent content, CancellationToken cancellationToken)
    {
        long? length = content.Headers.ContentLength;
        if (length > Array.MaxLength) throw new InvalidOperationException($"the Runtime API sent a body of {length} bytes");
        var buffer = BufferOf(length is { } exact
            ? (int)exact
            : (int)Math.Clamp(_largestBody + _largestBody / 8L, MinBodyBuffer, Array.MaxLength));
        int filled = 0;
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // A recycled buffer may be longer than the body: with a Content-Length, reads stop at it.
            int end = length is { } total ? (int)total : int.MaxValue;
            while (filled < end)
            {
                if (filled == buffer.Length)
                {
                    var larger = GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, 2L * buffer.Length));
                    if (larger.Length == buffer.Length) throw new InvalidOperationException("the Runtime API sent a body larger than an array can hold");
                    buffer.AsSpan().CopyTo(larger);
                    buffer = larger;
                }
                int read = await stream.ReadAsync(buffer.AsMemory(filled, Math.Min(buffer.Length, end) - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                filled += read;
            }
        }
        if (length is not null && filled != length)
            throw new IOException($"the Runtime API's body ended after {filled} of its {length} bytes");
        _largestBody = Math.Max(_largestBody, filled);
        return buffer.AsMemory(0, filled);
    }

    public async Task PostResponseAsync(string requestId, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync($"runtime/invocation/{Uri.EscapeDataString(requestId)}/response", content, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    public Task PostErrorAsync(string requestId, string errorType, string message, string[]? stackTrace, CancellationToken cancellationToken) =>
        PostErrorBodyAsync($"runtime/invocation/{Uri.EscapeDataString(requestId)}/error", errorType, message, stackTrace, cancellationToken);

    public Task PostInitErrorAsync(string errorType, string message, CancellationToken cancellationToken) =>
        PostErrorBodyAsync("runtime/init/error", errorType, message, null, cancellationToken);

    private async Task PostErrorBodyAsync(string path, string errorType, string message, string[]? stackTrace, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("errorMessage", message);
            w.WriteString("errorType", errorType);
            w.WriteStartArray("stackTrace");
            foreach (var line in stackTrace ?? []) w.WriteStringValue(line);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        using var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue(ErrorContentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Add("Lambda-Runtime-Function-Error-Type", errorType);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>
/// The loop a custom runtime runs: next → handle → response (or error), forever. Thin on purpose: the logic is in
/// the handler. Each invocation gets a token that fires shortly before its deadline, so the handler can answer
/// "retry this batch" instead of being killed mid-way.
/// </summary>
internal sealed class LambdaRuntime(RuntimeApiClient api, Func<Invocation, CancellationToken, Task<byte[]>> handle, LambdaLog log, TimeProvider time)
{
    /// <summary>Runs until <paramref name="stop"/> fires (or forever, as in Lambda).</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Invocation invocation;
            try
            {
                invocation = await api.NextAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            await InvokeAsync(invocation, stop).ConfigureAwait(false);
            api.Recycle(invocation);
        }
    }

    internal async Task InvokeAsync(Invocation invocation, CancellationToken stop)
    {
        log.RequestId = invocation.RequestId;
        // X-Ray and the AWS SDK read the trace id from here.
        Environment.SetEnvironmentVariable("_X_AMZN_TRACE_ID", invocation.TraceId);
        using var deadline = DeadlineToken(invocation.Deadline, stop);
        try
        {
            byte[] body;
            try
            {
                body = await handle(invocation, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
            {
                log.Error("invocation failed: " + e.Message, w => w.WriteString("errorType", e.GetType().Name));
                await api.PostErrorAsync(invocation.RequestId, e.GetType().Name, e.Message,
                    e.StackTrace?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), stop).ConfigureAwait(false);
                return;
            }
            await api.PostResponseAsync(invocation.RequestId, body, stop).ConfigureAwait(false);
        }
        finally
        {
            log.RequestId = null;
        }
    }

    private CancellationTokenSource DeadlineToken(DateTimeOffset? deadline, CancellationToken stop)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(stop);
        if (deadline is { } d)
        {
            var fireIn = TimeBeforeCancelling(d, time.GetUtcNow());
            if (fireIn <= TimeSpan.Zero) source.Cancel();
            else source.CancelAfter(fireIn);
        }
        return source;
    }

    /// <summary>
    /// When the handler's token fires: a margin before the deadline (a tenth of the time left, between 200 ms and
    /// 2 s), leaving time to answer "retry this batch" before Lambda kills the invocation.
    /// </summary>
    internal static TimeSpan TimeBeforeCancelling(DateTimeOffset deadline, DateTimeOffset now)
    {
        var left = deadline - now;
        var margin = TimeSpan.FromTicks(Math.Clamp(left.Ticks / 10, TimeSpan.FromMilliseconds(200).Ticks, TimeSpan.FromSeconds(2).Ticks));
        return left - margin;
    }
}
