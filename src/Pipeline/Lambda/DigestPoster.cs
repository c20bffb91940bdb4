using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Cli.Lambda;

/// <summary>
/// Where the Lambda sends a closed digest. Returns when the digest is delivered (or safely parked in an
/// outbox); throws when it is neither, and the handler then retries the batch. Slack delivery
/// (src/Slack, <c>IDigestSink</c>) plugs in here.
/// </summary>
internal interface IDigestPoster
{
    Task PostAsync(Digest digest, CancellationToken cancellationToken);
}

/// <summary>A post failed in a way a retry may cure (HTTP 5xx, 429, connection refused).</summary>
internal sealed class DigestPostException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Posts each digest as a Slack-style message, <c>{"text": …}</c>, to one URL: an incoming webhook or any
/// endpoint that takes that shape. The text rendering is escaped for Slack (&amp; &lt; &gt;), since event fields
/// are attacker-controlled.
/// </summary>
internal sealed class WebhookDigestPoster(HttpClient http, Uri url) : IDigestPoster
{
    public async Task PostAsync(Digest digest, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("text", SlackEscape(TextDigestRenderer.Render(digest)));
            w.WriteString("digestId", digest.DigestId);
            w.WriteEndObject();
        }
        using var content = new ByteArrayContent(body.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync(url, content, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new DigestPostException($"digest {digest.DigestId} not posted: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DigestPostException($"digest {digest.DigestId} not posted: no answer within {http.Timeout.TotalSeconds:0} s", e);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                throw new DigestPostException($"digest {digest.DigestId} not posted: HTTP {(int)response.StatusCode} {Truncate(text)}");
            }
        }
    }

    internal static string SlackEscape(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            sb.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}

/// <summary>Keeps every digest it is given (tests, benchmarks); <see cref="FailWhen"/> makes chosen posts throw.</summary>
internal sealed class RecordingDigestPoster : IDigestPoster
{
    private readonly List<Digest> _posted = [];
    private readonly object _gate = new();

    /// <summary>Posts of digests matching this fail (a delivery outage), until it is set back to null.</summary>
    public Func<Digest, bool>? FailWhen { get; set; }

    public IReadOnlyList<Digest> Posted
    {
        get
        {
            lock (_gate) return [.. _posted];
        }
    }

    public Task PostAsync(Digest digest, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (FailWhen?.Invoke(digest) == true)
                throw new DigestPostException($"digest {digest.DigestId} not posted: delivery down (test switch)");
            _posted.Add(digest);
        }
        return Task.CompletedTask;
    }
}
