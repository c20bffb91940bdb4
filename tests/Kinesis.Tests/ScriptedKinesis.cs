using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Pipeline.Kinesis.Tests;

/// <summary>A real HTTP server on 127.0.0.1 that answers Kinesis calls from a script, and records what it was sent.</summary>
internal sealed class ScriptedKinesis : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<Call, (int Status, string Body)> _answer;
    private readonly Task _loop;

    public sealed record Call(string Operation, JsonElement Body, string RawBody, IReadOnlyDictionary<string, string> Headers);

    public ScriptedKinesis(Func<Call, (int Status, string Body)> answer)
    {
        _answer = answer;
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePort();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 3)
            {
            }
        }
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public ConcurrentQueue<Call> Calls { get; } = new();

    public IReadOnlyList<Call> CallsTo(string operation) => [.. Calls.Where(c => c.Operation == operation)];

    public static string Error(string type, string message) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["__type"] = "com.amazonaws.kinesis.v20131202#" + type, ["message"] = message }, ScriptedJson.Default.DictionaryStringString);

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var raw = await reader.ReadToEndAsync();
            var target = context.Request.Headers["X-Amz-Target"] ?? "";
            var headers = context.Request.Headers.AllKeys.OfType<string>().ToDictionary(k => k, k => context.Request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase);
            var call = new Call(target.Replace("Kinesis_20131202.", "", StringComparison.Ordinal), JsonDocument.Parse(raw).RootElement.Clone(), raw, headers);
            Calls.Enqueue(call);
            (int status, string body) answer;
            try
            {
                answer = _answer(call);
            }
            catch (Exception e)
            {
                answer = (599, e.ToString());
            }
            var bytes = Encoding.UTF8.GetBytes(answer.body);
            context.Response.StatusCode = answer.status;
            context.Response.ContentType = "application/x-amz-json-1.1";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        // Close alone: after Stop, .NET's Close binds the port again to remove its prefix, and fails with "Address
        // already in use" when a parallel test has taken the freed port meanwhile.
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ScriptedJson : System.Text.Json.Serialization.JsonSerializerContext;
