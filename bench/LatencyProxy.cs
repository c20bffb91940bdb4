using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Pipeline.Bench;

/// <summary>
/// A loopback TCP proxy that holds every byte coming back from the server for <see cref="Latency"/> before passing it on:
/// dynalite answers a request in a fraction of a millisecond of network, DynamoDB in a region in several, and a function
/// that waits for its table while it could be working shows only with the wait in place. Bytes keep their order and
/// their pace (each chunk leaves <see cref="Latency"/> after it came), so a long answer is not held once per chunk.
/// </summary>
internal sealed class LatencyProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public LatencyProxy(string upstream, TimeSpan latency)
    {
        _upstream = new Uri(upstream);
        Latency = latency;
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    public TimeSpan Latency { get; }

    /// <summary>The proxy's address, in the form of the upstream endpoint (what the function is given instead).</summary>
    public string Endpoint => $"{_upstream.Scheme}://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    private async Task AcceptAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeAsync(client, ct);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                client.NoDelay = true;
                server.NoDelay = true;
                await server.ConnectAsync(_upstream.Host, _upstream.Port, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return; // the server is gone, or the proxy stopping: the client sees its connection close
            }
            await Task.WhenAll(
                ForwardAsync(client, server, TimeSpan.Zero, ct),
                ForwardAsync(server, client, Latency, ct)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One direction of a connection. Its end is passed on as the other side's end of sending, so a client that closes its
    /// sending half after a request still gets the answer; a broken connection (or the proxy stopping) closes both
    /// sockets, so the other direction ends too.
    /// </summary>
    private static async Task ForwardAsync(TcpClient from, TcpClient to, TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await PumpAsync(from.GetStream(), to.GetStream(), delay, ct).ConfigureAwait(false);
            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            from.Close();
            to.Close();
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>, each chunk sent <paramref name="delay"/> after it was read.</summary>
    private static async Task PumpAsync(Stream from, Stream to, TimeSpan delay, CancellationToken ct)
    {
        var chunks = Channel.CreateUnbounded<(long ReadAt, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var sending = SendAsync();
        try
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                chunks.Writer.TryWrite((Stopwatch.GetTimestamp(), buffer.AsSpan(0, read).ToArray()));
        }
        finally
        {
            chunks.Writer.TryComplete();
            await sending.ConfigureAwait(false);
        }

        async Task SendAsync()
        {
            await foreach (var (readAt, bytes) in chunks.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var wait = delay - Stopwatch.GetElapsedTime(readAt);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct).ConfigureAwait(false);
                await to.WriteAsync(bytes, ct).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
