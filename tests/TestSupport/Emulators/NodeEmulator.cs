using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pipeline.TestSupport.Emulators;

/// <summary>
/// One node process serving an emulator on a loopback port (127.0.0.1 only). <see cref="Start"/> picks a free
/// port the first time and keeps it across restarts, so clients built against <see cref="Endpoint"/> keep
/// working after <see cref="Stop"/>/<see cref="Start"/> (an outage). Dispose kills the process tree.
/// </summary>
public sealed class NodeEmulator : IDisposable
{
    private static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(30);
    private const int MaxCapturedChars = 16_000;

    private readonly string _name;
    private readonly string _script;
    private readonly Func<int, IReadOnlyList<string>> _arguments;
    private readonly TimeSpan _startTimeout;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private bool _disposed;

    /// <param name="name">Shown in error messages ("kinesalite").</param>
    /// <param name="script">Path relative to tests/emulators (e.g. "node_modules/dynalite/cli.js").</param>
    /// <param name="arguments">The script's arguments for a given port.</param>
    public NodeEmulator(string name, string script, Func<int, IReadOnlyList<string>> arguments, TimeSpan? startTimeout = null)
    {
        _name = name;
        _script = script;
        _arguments = arguments;
        _startTimeout = startTimeout ?? DefaultStartTimeout;
    }

    /// <summary>The loopback port; 0 until the first <see cref="Start"/>.</summary>
    public int Port { get; private set; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Everything the process wrote to stdout and stderr so far (capped), for failure messages.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// Starts the process (no-op when running) and returns once the port accepts connections. Throws with the
    /// process's output when it exits early or does not answer within the start timeout.
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsRunning) return;
        EmulatorEnvironment.EnsureInstalled();

        // A port picked by the OS can be taken by someone else before node binds it: try a few fresh ones
        // on the first start. Restarts reuse the port, which is the point of a restart.
        var attempts = Port == 0 ? 3 : 1;
        for (var attempt = 1; ; attempt++)
        {
            var port = Port == 0 ? FreeLoopbackPort() : Port;
            try
            {
                Launch(port);
                Port = port;
                return;
            }
            catch (EmulatorStartException) when (attempt < attempts && Output.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
            }
        }
    }

    /// <summary>Kills the process (a simulated outage). <see cref="Start"/> brings it back on the same port.</summary>
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is null) return;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        finally
        {
            process.Dispose();
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Stop();
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
    }

    private void Launch(int port)
    {
        lock (_output) _output.Clear();
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = EmulatorEnvironment.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(_script);
        foreach (var argument in _arguments(port)) info.ArgumentList.Add(argument);

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        // A test host that dies without disposing fixtures must not leave node listening.
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                process.WaitForExit(); // flushes the redirected output
                _process = null;
                throw new EmulatorStartException($"{_name} exited with code {process.ExitCode} before answering on 127.0.0.1:{port}. Output:\n{Output}");
            }
            if (Answers(port)) return;
            if (deadline.Elapsed > _startTimeout)
            {
                Stop();
                throw new EmulatorStartException($"{_name} did not answer on 127.0.0.1:{port} within {_startTimeout.TotalSeconds:0} s. Output:\n{Output}");
            }
            // Polling an external process for readiness, not waiting for our own logic.
            Thread.Sleep(25);
        }
    }

    private void Capture(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            if (_output.Length < MaxCapturedChars) _output.AppendLine(line);
        }
    }

    private void OnProcessExit(object? sender, EventArgs e) => Stop();

    private static bool Answers(int port)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        try
        {
            var connect = client.ConnectAsync(IPAddress.Loopback, port);
            return connect.Wait(TimeSpan.FromMilliseconds(500)) && client.Connected;
        }
        catch (AggregateException)
        {
            return false;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An emulator that could not be started (with its output in the message).</summary>
public sealed class EmulatorStartException(string message) : Exception(message);
