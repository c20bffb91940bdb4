using Pipeline.Lambda.Runtime;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Lambda.Tests;

/// <summary>The Runtime API loop in process, against the loopback Runtime API: headers in, answers out.</summary>
public sealed class LambdaRuntimeTests
{
    [Fact]
    public async Task An_invocation_gets_its_trace_id_and_a_token_that_has_fired_when_the_deadline_is_near()
    {
        await using var api = new LocalRuntimeApi();
        using var http = RuntimeApiClient.CreateHttpClient(api.Address);
        var log = new LambdaLog(TextWriter.Null, TimeProvider.System);
        string? trace = null;
        bool cancelled = false;
        var runtime = new LambdaRuntime(new RuntimeApiClient(http), (invocation, ct) =>
        {
            trace = Environment.GetEnvironmentVariable("_X_AMZN_TRACE_ID");
            cancelled = ct.IsCancellationRequested;
            return Task.FromResult("{\"ok\":true}"u8.ToArray());
        }, log, TimeProvider.System);

        var id = api.Enqueue("{}"u8.ToArray(), timeout: TimeSpan.FromMilliseconds(100)); // inside the 200 ms margin
        var invocation = await new RuntimeApiClient(http).NextAsync(default);
        await runtime.InvokeAsync(invocation, default);
        var reply = await api.NextReplyAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(id, invocation.RequestId);
        Assert.NotNull(invocation.Deadline);
        Assert.Equal("arn:aws:lambda:us-east-1:123456789012:function:org-digests", invocation.FunctionArn);
        Assert.Equal(invocation.TraceId, trace);
        Assert.StartsWith("Root=1-", trace, StringComparison.Ordinal);
        Assert.True(cancelled);
        Assert.Equal(RuntimeReply.Response, reply.Kind);
        Assert.Equal("{\"ok\":true}", reply.Text);
    }

    [Fact]
    public async Task A_failing_handler_becomes_an_error_response_with_the_error_type_header()
    {
        await using var api = new LocalRuntimeApi();
        using var http = RuntimeApiClient.CreateHttpClient(api.Address);
        var runtime = new LambdaRuntime(new RuntimeApiClient(http),
            (_, _) => throw new InvalidOperationException("boom"), new LambdaLog(TextWriter.Null, TimeProvider.System), TimeProvider.System);

        api.Enqueue("{}"u8.ToArray());
        await runtime.InvokeAsync(await new RuntimeApiClient(http).NextAsync(default), default);
        var reply = await api.NextReplyAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(RuntimeReply.Error, reply.Kind);
        Assert.Equal("InvalidOperationException", reply.ErrorType);
        using var body = System.Text.Json.JsonDocument.Parse(reply.Body);
        Assert.Equal("boom", body.RootElement.GetProperty("errorMessage").GetString());
        Assert.Equal("InvalidOperationException", body.RootElement.GetProperty("errorType").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Array, body.RootElement.GetProperty("stackTrace").ValueKind);
    }

    [Fact]
    public async Task The_loop_gives_an_answered_invocations_buffer_to_the_next_body_and_each_handler_sees_its_own_bytes()
    {
        await using var api = new LocalRuntimeApi();
        using var http = RuntimeApiClient.CreateHttpClient(api.Address);
        var seen = new List<(byte[] Array, string Body)>();
        using var stop = new CancellationTokenSource();
        var runtime = new LambdaRuntime(new RuntimeApiClient(http), (invocation, _) =>
        {
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(invocation.Body, out var segment));
            var text = System.Text.Encoding.UTF8.GetString(invocation.Body.Span);
            seen.Add((segment.Array!, text));
            invocation.Body.Span.Fill((byte)'x'); // a handler may take its body over (the window handler decodes in place)
            return Task.FromResult(System.Text.Encoding.UTF8.GetBytes(text));
        }, new LambdaLog(TextWriter.Null, TimeProvider.System), TimeProvider.System);

        var first = "{\"batch\":\"" + new string('a', 300) + "\"}";
        var second = "{\"batch\":\"b\"}";
        api.Enqueue(System.Text.Encoding.UTF8.GetBytes(first));
        api.Enqueue(System.Text.Encoding.UTF8.GetBytes(second));
        var running = runtime.RunAsync(stop.Token);
        var replies = new[] { await api.NextReplyAsync(TimeSpan.FromSeconds(10)), await api.NextReplyAsync(TimeSpan.FromSeconds(10)) };
        await stop.CancelAsync();
        try
        {
            await running;
        }
        catch (OperationCanceledException)
        {
            // Stopped while posting the second answer (the loopback API records a reply before it acknowledges it).
        }

        Assert.Equal([first, second], replies.Select(r => r.Text));
        Assert.Equal([first, second], seen.Select(s => s.Body));
        Assert.Same(seen[0].Array, seen[1].Array); // the first invocation's buffer, once it was answered
    }

    [Theory]
    [InlineData(120_000, 118_000)] // a 2-minute function: 2 s margin (the cap)
    [InlineData(10_000, 9_000)]    // a tenth of the time left
    [InlineData(1_000, 800)]       // at least 200 ms
    public void The_token_fires_a_margin_before_the_deadline(int leftMs, int expectedMs)
    {
        var now = DateTimeOffset.UnixEpoch;
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), LambdaRuntime.TimeBeforeCancelling(now.AddMilliseconds(leftMs), now));
    }
}
