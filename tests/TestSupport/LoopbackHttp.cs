using System.Net;
using System.Net.Sockets;

namespace Pipeline.TestSupport;

/// <summary>Starts test HTTP servers on 127.0.0.1 only, on a port nobody else holds.</summary>
public static class LoopbackHttp
{
    /// <summary>
    /// Accepts requests until <paramref name="stop"/> fires or the listener closes, handling each on its own task so
    /// a scripted hang holds up only its own request.
    /// </summary>
    public static async Task AcceptLoopAsync(HttpListener listener, Func<HttpListenerContext, Task> handle, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync().ConfigureAwait(false); }
            catch (Exception) when (stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => handle(context));
        }
    }

    /// <summary>An <see cref="HttpListener"/> on a free loopback port; retries when another process takes the port between probe and start.</summary>
    public static (HttpListener Listener, int Port) StartOnFreePort()
    {
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, port);
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
    }
}
