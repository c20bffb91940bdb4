using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Pipeline.Slack.Secrets;

namespace Pipeline.Slack.Delivery;

/// <summary>What one HTTP attempt to post a message came to.</summary>
internal abstract record PostOutcome
{
    /// <summary>
    /// Accepted. With a bot token, <see cref="Ts"/> is the message's timestamp (its id in the channel, what a reply's
    /// <c>thread_ts</c> names) and <see cref="ChannelId"/> the channel's id, as <c>chat.postMessage</c> answers them; a
    /// webhook answers a bare "ok", so both are null there.
    /// </summary>
    internal sealed record Ok(string? ChannelId = null, string? Ts = null) : PostOutcome;
    /// <summary>HTTP 429; <see cref="RetryAfter"/> from the header when Slack sent one.</summary>
    internal sealed record RateLimited(TimeSpan? RetryAfter) : PostOutcome;
    /// <summary>5xx, a timeout or a network error: worth another attempt.</summary>
    internal sealed record Transient(string Reason) : PostOutcome;
    /// <summary>Slack refused the blocks: the plain-text rendering may still go through.</summary>
    internal sealed record InvalidBlocks : PostOutcome;
    /// <summary>Any other refusal (404 channel_not_found, invalid_auth, 403 …): retrying cannot help.</summary>
    internal sealed record Permanent(string Reason) : PostOutcome;
}

/// <summary>Sends one message payload, one attempt, and classifies Slack's answer. Webhook or chat.postMessage.</summary>
internal sealed class SlackPoster
{
    private readonly HttpClient _http;
    private readonly SlackSecret _secret;
    private readonly SlackMode _mode;
    private readonly Uri _endpoint;
    private readonly TimeSpan _attemptTimeout;

    public SlackPoster(HttpClient http, SlackSecret secret, SlackDeliveryOptions options)
    {
        _http = http;
        _secret = secret;
        _mode = options.Mode;
        _endpoint = options.Mode == SlackMode.Webhook ? new Uri(secret.Reveal()) : new Uri(options.ApiBaseUrl, "chat.postMessage");
        _attemptTimeout = options.AttemptTimeout;
    }

    public async Task<PostOutcome> PostAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ReadOnlyMemoryContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (_mode == SlackMode.BotToken) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _secret.Reveal());

        // The attempt timeout guards against a hung connection, an I/O matter rather than logic, so it runs on the
        // real clock; backoff and pacing use the injected TimeProvider.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_attemptTimeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            string body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            return _mode == SlackMode.Webhook ? ClassifyWebhook(response, body) : ClassifyApi(response, body);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new PostOutcome.Transient($"no answer within {_attemptTimeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException e)
        {
            // Only the kind of failure: the exception's own message could name the endpoint, whose path is the webhook secret.
            return new PostOutcome.Transient("network error " + (e.HttpRequestError.ToString()));
        }
    }

    private static PostOutcome ClassifyWebhook(HttpResponseMessage response, string body)
    {
        int status = (int)response.StatusCode;
        if (status is >= 200 and < 300) return new PostOutcome.Ok();
        if (response.StatusCode == HttpStatusCode.TooManyRequests) return new PostOutcome.RateLimited(RetryAfter(response));
        if (status >= 500) return new PostOutcome.Transient($"HTTP {status} {Short(body)}");
        if (body.Trim() == "invalid_blocks") return new PostOutcome.InvalidBlocks();
        return new PostOutcome.Permanent($"HTTP {status} {Short(body)}");
    }

    private static PostOutcome ClassifyApi(HttpResponseMessage response, string body)
    {
        int status = (int)response.StatusCode;
        if (response.StatusCode == HttpStatusCode.TooManyRequests) return new PostOutcome.RateLimited(RetryAfter(response));
        if (status >= 500) return new PostOutcome.Transient($"HTTP {status}");
        if (status is < 200 or >= 300) return new PostOutcome.Permanent($"HTTP {status} {Short(body)}");
        // chat.postMessage answers 200 even when it failed: "ok" decides.
        string? error = null, channel = null, ts = null;
        bool ok = false;
        try
        {
            using var doc = JsonDocument.Parse(body);
            ok = doc.RootElement.TryGetProperty("ok", out var o) && o.ValueKind == JsonValueKind.True;
            if (doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String) error = e.GetString();
            channel = StringProperty(doc.RootElement, "channel");
            ts = StringProperty(doc.RootElement, "ts");
        }
        catch (JsonException)
        {
            return new PostOutcome.Transient("answer is not JSON");
        }
        if (ok) return new PostOutcome.Ok(channel, ts);
        return error switch
        {
            "invalid_blocks" or "invalid_blocks_format" => new PostOutcome.InvalidBlocks(),
            "ratelimited" or "rate_limited" => new PostOutcome.RateLimited(RetryAfter(response)),
            "internal_error" or "fatal_error" or "service_unavailable" or "request_timeout" => new PostOutcome.Transient(error),
            _ => new PostOutcome.Permanent(Short(error ?? "ok=false")),
        };
    }

    private static string? StringProperty(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (header?.Date is { } date && response.Headers.Date is { } now) return date > now ? date - now : TimeSpan.Zero;
        return null;
    }

    /// <summary>Slack's error bodies are short codes (channel_not_found); anything else is cut and kept on one line.</summary>
    private static string Short(string body)
    {
        var line = new string(body.Trim().Take(80).Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        return line.Length == 0 ? "(empty)" : line;
    }
}
