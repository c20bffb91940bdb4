using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pipeline.Bench.Tests;

/// <summary>
/// The proxy `bench lambda --dynamodb-latency-ms` puts between the function and dynalite, against a real TCP server on
/// loopback. Only a lower bound on time is checked (the answer never comes before the latency), which no slow machine breaks.
/// </summary>
public sealed class LatencyProxyTests
{
    [Fact]
    public async Task Every_byte_of_the_answer_comes_in_order_and_not_before_the_latency_even_to_a_client_that_stopped_sending()
    {
        var answer = new byte[1 << 20];
        new Random(7).NextBytes(answer);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = ServeOnceAsync(listener, answer);
        var latency = TimeSpan.FromMilliseconds(200);
        await using var proxy = new LatencyProxy($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}", latency);

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, new Uri(proxy.Endpoint).Port);
        var stream = client.GetStream();
        var sent = Stopwatch.GetTimestamp();
        await stream.WriteAsync("ping"u8.ToArray());
        client.Client.Shutdown(SocketShutdown.Send); // the request ends here: the server answers once it sees that
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        TimeSpan? firstByte = null;
        int read;
        while ((read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30))) > 0)
        {
            firstByte ??= Stopwatch.GetElapsedTime(sent);
            received.Write(buffer, 0, read);
        }

        Assert.Equal("ping", await serving);
        Assert.Equal(answer, received.ToArray());
        Assert.True(firstByte >= latency - TimeSpan.FromMilliseconds(5), $"the first byte came after {firstByte}");
    }

    /// <summary>Reads one request to its end, answers it in uneven writes and closes; returns the request.</summary>
    private static async Task<string> ServeOnceAsync(TcpListener listener, byte[] answer)
    {
        using var connection = await listener.AcceptTcpClientAsync();
        var stream = connection.GetStream();
        var request = new MemoryStream();
        await stream.CopyToAsync(request);
        for (int at = 0, size = 1000; at < answer.Length; at += size, size = size * 3 % 70_001 + 1)
            await stream.WriteAsync(answer.AsMemory(at, Math.Min(size, answer.Length - at)));
        return System.Text.Encoding.ASCII.GetString(request.ToArray());
    }
}
