using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Pipeline.TestSupport.Slack;

/// <summary>What the server does with one request instead of accepting it.</summary>
public abstract record SlackFault
{
    /// <summary>HTTP 429 with <c>Retry-After</c> in whole seconds.</summary>
    public sealed record RateLimited(int RetryAfterSeconds) : SlackFault;

    /// <summary>HTTP 500 (webhook body <c>rollup_error</c>; API body <c>{"ok":false,"error":"fatal_error"}</c>).</summary>
    public sealed record ServerError(int Status = 500) : SlackFault;

    /// <summary><c>invalid_blocks</c> even for a valid payload (as Slack sometimes does for block content it dislikes).</summary>
    public sealed record InvalidBlocks : SlackFault;

    /// <summary>A permanent client error: webhook <c>404 channel_not_found</c>, API <c>{"ok":false,"error":"channel_not_found"}</c>.</summary>
    public sealed record ChannelNotFound : SlackFault;

    /// <summary>Never answers (until the server is disposed): the client's timeout must fire.</summary>
    public sealed record Hang : SlackFault;

    /// <summary>No fault: handled as usual. Queued before a fault, it lets requests through first ("fail the second post").</summary>
    public sealed record Accept : SlackFault;

    /// <summary>
    /// A slow Slack: <see cref="Arrived"/> completes when the request is in, and the answer waits for
    /// <see cref="Release"/>; then the request is handled as usual, or gets <see cref="Then"/> when given. Never
    /// released: it hangs until the server is disposed.
    /// </summary>
    public sealed record Held(TaskCompletionSource Arrived, Task Release) : SlackFault
    {
        /// <summary>The fault the request gets once released (a test changes the world while the post is in flight).</summary>
        public SlackFault? Then { get; init; }

        public Held() : this(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), Task.Delay(Timeout.Infinite)) { }

        public Held(Task release) : this(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), release) { }
    }
}

/// <summary>One message the server accepted, as Slack would have posted it.</summary>
/// <param name="Ts">The timestamp chat.postMessage answered for it (its id in the channel); null for a webhook post.</param>
public sealed record AcceptedSlackMessage(string Channel, string Body, bool HasBlocks, string? Ts = null)
{
    public bool Contains(string s) => Body.Contains(s, StringComparison.Ordinal);

    /// <summary>The <c>thread_ts</c> the payload asked for (a reply in that message's thread), or null.</summary>
    public string? ThreadTs => StringField("thread_ts");

    /// <summary>Whether the payload asked for <c>reply_broadcast</c> (a thread reply also shown in the channel).</summary>
    public bool ReplyBroadcast
    {
        get
        {
            using var doc = JsonDocument.Parse(Body);
            return doc.RootElement.TryGetProperty("reply_broadcast", out var b) && b.ValueKind == JsonValueKind.True;
        }
    }

    private string? StringField(string name)
    {
        using var doc = JsonDocument.Parse(Body);
        return doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }
}

/// <summary>
/// A Slack look-alike on 127.0.0.1 for tests: incoming webhooks at <c>/webhook/{channel}</c> and the Web API's
/// <c>chat.postMessage</c> at <c>/api/chat.postMessage</c> (bot token checked). It validates every payload against
/// Slack's limits (rejecting with <c>invalid_blocks</c> like Slack), records what it accepts in arrival order, and
/// plays scripted faults: 429 with Retry-After, 500, invalid_blocks, channel_not_found, or a hang.
/// Also records <see cref="InjectionProblems"/> for the tests to assert on (Slack itself would just post them).
/// </summary>
public sealed class LoopbackSlackServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<(string? Channel, SlackFault Fault)> _faults = new();
    private readonly List<AcceptedSlackMessage> _accepted = [];
    private readonly TaskCompletionSource _hanging = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _rejections = [];
    private readonly List<string> _injection = [];
    private readonly object _gate = new();
    private readonly Task _loop;
    private int _requests;
    private long _messages;

    public LoopbackSlackServer(string botToken = "xoxb-test-token")
    {
        BotToken = botToken;
        (_listener, Port) = LoopbackHttp.StartOnFreePort();
        _loop = Task.Run(AcceptLoop);
    }

    public int Port { get; }
    public string BotToken { get; }
    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");
    /// <summary>Base address for the Web API (what <c>https://slack.com/api/</c> is in production).</summary>
    public Uri ApiBaseUri => new(BaseUri, "api/");
    public Uri WebhookUri(string channel) => new(BaseUri, "webhook/" + Uri.EscapeDataString(channel));

    public int RequestCount => Volatile.Read(ref _requests);

    /// <summary>Completes when a request first meets a <see cref="SlackFault.Hang"/>: a test can act while a post is stuck in flight.</summary>
    public Task Hanging => _hanging.Task;

    public IReadOnlyList<AcceptedSlackMessage> Accepted { get { lock (_gate) return _accepted.ToList(); } }
    /// <summary>Why payloads were refused for breaking Slack's limits (should stay empty for our renderer).</summary>
    public IReadOnlyList<string> Rejections { get { lock (_gate) return _rejections.ToList(); } }
    public IReadOnlyList<string> InjectionProblems { get { lock (_gate) return _injection.ToList(); } }

    public IReadOnlyList<AcceptedSlackMessage> AcceptedIn(string channel) => Accepted.Where(m => m.Channel == channel).ToList();

    /// <summary>The next request (for <paramref name="channel"/>, or any when null) gets this fault instead of being accepted.</summary>
    public void Enqueue(SlackFault fault, string? channel = null) => _faults.Enqueue((channel, fault));

    public void Enqueue(SlackFault fault, int times, string? channel = null)
    {
        for (int i = 0; i < times; i++) Enqueue(fault, channel);
    }

    private Task AcceptLoop() => LoopbackHttp.AcceptLoopAsync(_listener, Handle, _stop.Token);

    private async Task Handle(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        var request = context.Request;
        var response = context.Response;
        try
        {
            string body;
            using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
                body = await reader.ReadToEndAsync().ConfigureAwait(false);
            string path = request.Url!.AbsolutePath;
            bool api = path.StartsWith("/api/", StringComparison.Ordinal);

            if (path == "/api/auth.test")
            {
                // What `pipeline doctor` calls: checks the token, posts nothing.
                if (request.Headers["Authorization"] != "Bearer " + BotToken) await ApiError(response, "invalid_auth");
                else await Reply(response, 200, "application/json", "{\"ok\":true,\"team\":\"Loopback\",\"user\":\"digests\",\"team_id\":\"T0LOOP\",\"user_id\":\"U0LOOP\"}");
                return;
            }
            if (api && path != "/api/chat.postMessage") { await Reply(response, 404, "text/plain", "unknown_method"); return; }
            if (!api && !path.StartsWith("/webhook/", StringComparison.Ordinal)) { await Reply(response, 404, "text/plain", "no_service"); return; }
            if (request.HttpMethod != "POST") { await Reply(response, 405, "text/plain", "method_not_allowed"); return; }

            string? channel;
            if (api)
            {
                if (request.Headers["Authorization"] != "Bearer " + BotToken) { await ApiError(response, "invalid_auth"); return; }
                channel = ChannelOf(body);
                if (channel is null) { await ApiError(response, "channel_not_found"); return; }
            }
            else
            {
                channel = Uri.UnescapeDataString(path["/webhook/".Length..]);
            }

            // A message with neither text nor blocks is refused, as Slack refuses it (`pipeline doctor`'s probe of a webhook).
            if (!api && !body.Contains("\"text\"", StringComparison.Ordinal) && !body.Contains("\"blocks\"", StringComparison.Ordinal))
            {
                await Reply(response, 400, "text/plain", "no_text");
                return;
            }

            bool payloadHasBlocks = body.Contains("\"blocks\"", StringComparison.Ordinal);
            var fault = TakeFault(channel, payloadHasBlocks);
            if (fault is SlackFault.Held held)
            {
                held.Arrived.TrySetResult();
                await held.Release.WaitAsync(_stop.Token).ConfigureAwait(false);
                fault = held.Then;
            }
            if (fault is not null and not SlackFault.Accept and not SlackFault.Held)
            {
                await Play(fault, api, response).ConfigureAwait(false);
                return;
            }

            var bytes = Encoding.UTF8.GetBytes(body);
            var problems = SlackPayloadValidator.LimitProblems(bytes);
            if (problems.Count > 0)
            {
                lock (_gate) _rejections.AddRange(problems);
                if (api) await ApiError(response, "invalid_blocks");
                else await Reply(response, 400, "text/plain", "invalid_blocks");
                return;
            }
            var injection = SlackPayloadValidator.InjectionProblems(bytes);
            bool hasBlocks;
            using (var doc = JsonDocument.Parse(bytes)) hasBlocks = doc.RootElement.TryGetProperty("blocks", out _);
            // Slack's ts is seconds.microseconds and unique within a channel; a counter keeps ours unique across all of them.
            string? ts = api ? $"1795615331.{Interlocked.Increment(ref _messages):D6}" : null;
            lock (_gate)
            {
                _injection.AddRange(injection);
                _accepted.Add(new AcceptedSlackMessage(channel, body, hasBlocks, ts));
            }
            if (api) await Reply(response, 200, "application/json", $"{{\"ok\":true,\"channel\":\"{ChannelId(channel)}\",\"ts\":\"{ts}\"}}");
            else await Reply(response, 200, "text/plain", "ok");
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // disposed while a request was open (a hang): nothing to answer
        }
        catch (HttpListenerException)
        {
            // the client gave up (timeout) while we answered
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private SlackFault? TakeFault(string channel, bool payloadHasBlocks)
    {
        lock (_gate)
        {
            // Faults are consumed in order; a fault for another channel stays queued for that channel, and
            // invalid_blocks waits for a payload that has blocks (Slack cannot refuse blocks a message does not have).
            var all = new List<(string? Channel, SlackFault Fault)>();
            while (_faults.TryDequeue(out var f)) all.Add(f);
            int index = all.FindIndex(f => (f.Channel is null || f.Channel == channel) && (payloadHasBlocks || f.Fault is not SlackFault.InvalidBlocks));
            SlackFault? taken = index >= 0 ? all[index].Fault : null;
            if (index >= 0) all.RemoveAt(index);
            foreach (var f in all) _faults.Enqueue(f);
            return taken;
        }
    }

    private async Task Play(SlackFault fault, bool api, HttpListenerResponse response)
    {
        switch (fault)
        {
            case SlackFault.RateLimited r:
                response.Headers["Retry-After"] = r.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (api) await Reply(response, 429, "application/json", "{\"ok\":false,\"error\":\"ratelimited\"}");
                else await Reply(response, 429, "text/plain", "rate_limited");
                break;
            case SlackFault.ServerError s:
                if (api) await Reply(response, s.Status, "application/json", "{\"ok\":false,\"error\":\"fatal_error\"}");
                else await Reply(response, s.Status, "text/plain", "rollup_error");
                break;
            case SlackFault.InvalidBlocks:
                if (api) await ApiError(response, "invalid_blocks");
                else await Reply(response, 400, "text/plain", "invalid_blocks");
                break;
            case SlackFault.ChannelNotFound:
                if (api) await ApiError(response, "channel_not_found");
                else await Reply(response, 404, "text/plain", "channel_not_found");
                break;
            case SlackFault.Hang:
                _hanging.TrySetResult();
                try { await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
                response.Abort();
                break;
        }
    }

    /// <summary>Slack answers with the channel's id (C…) whatever name was posted to; a stable made-up one here.</summary>
    public static string ChannelId(string channel) =>
        "C" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(channel)))[..10];

    private static string? ChannelOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("channel", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Task ApiError(HttpListenerResponse response, string error) =>
        Reply(response, 200, "application/json", $"{{\"ok\":false,\"error\":\"{error}\"}}");

    private static async Task Reply(HttpListenerResponse response, int status, string contentType, string body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(body);
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
