namespace Pipeline.TestSupport.Emulators;

/// <summary>
/// An emulator as an xunit class or collection fixture: started in the constructor, killed on Dispose.
/// Where node is missing the constructor does not throw; the first use of <see cref="Endpoint"/> skips the
/// test instead (tests must be [SkippableFact]), or fails under CI=true.
/// </summary>
public abstract class EmulatorFixture : IDisposable
{
    private readonly NodeEmulator? _emulator;
    private readonly string? _dataDirectory;

    /// <param name="keepDataAcrossRestarts">
    /// false: in memory (fast; a restart starts empty). true: data in a temporary folder, so tables and
    /// streams survive <see cref="Stop"/>/<see cref="Start"/> the way they survive a real outage.
    /// </param>
    protected EmulatorFixture(string name, bool keepDataAcrossRestarts)
    {
        if (EmulatorEnvironment.Node is null) return;
        if (keepDataAcrossRestarts)
        {
            _dataDirectory = Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(_dataDirectory);
        }
        _emulator = new NodeEmulator(name, Script, port => Arguments(port, _dataDirectory));
        try
        {
            _emulator.Start();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Script path relative to tests/emulators.</summary>
    protected abstract string Script { get; }

    /// <summary>The script's arguments for a port and an optional data folder.</summary>
    protected abstract IReadOnlyList<string> Arguments(int port, string? dataDirectory);

    /// <summary>http://127.0.0.1:PORT (stable across Stop/Start). Skips the test when node is missing.</summary>
    public string Endpoint => Running.Endpoint;

    public int Port => Running.Port;

    /// <summary>What the emulator printed so far: put it in assertion messages when a call fails oddly.</summary>
    public string Output => Running.Output;

    public bool IsRunning => _emulator?.IsRunning ?? false;

    /// <summary>Kills the emulator: calls now fail with connection refused until <see cref="Start"/>.</summary>
    public void Stop() => Running.Stop();

    /// <summary>Starts it again on the same port and waits until it answers.</summary>
    public void Start() => Running.Start();

    private NodeEmulator Running
    {
        get
        {
            EmulatorEnvironment.RequireNode();
            return _emulator!;
        }
    }

    public void Dispose()
    {
        _emulator?.Dispose();
        if (_dataDirectory is not null)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp folder left behind is harmless.
            }
        }
        GC.SuppressFinalize(this);
    }
}

/// <summary>kinesalite (Kinesis Data Streams) on 127.0.0.1; streams become ACTIVE after 50 ms.</summary>
public class KinesaliteFixture : EmulatorFixture
{
    public KinesaliteFixture() : this(keepDataAcrossRestarts: false) { }

    /// <summary>For a class fixture that keeps data across restarts: `sealed class Mine() : KinesaliteFixture(true);`.</summary>
    protected KinesaliteFixture(bool keepDataAcrossRestarts) : base("kinesalite", keepDataAcrossRestarts) { }

    /// <summary>A kinesalite whose data lives in a temporary folder and so survives Stop/Start.</summary>
    public static KinesaliteFixture Durable() => new(keepDataAcrossRestarts: true);

    protected override string Script => "kinesalite.js";

    protected override IReadOnlyList<string> Arguments(int port, string? dataDirectory) =>
        dataDirectory is null ? [port.ToString(System.Globalization.CultureInfo.InvariantCulture)]
                              : [port.ToString(System.Globalization.CultureInfo.InvariantCulture), dataDirectory];
}

/// <summary>dynalite (DynamoDB) on 127.0.0.1; tables become ACTIVE after 50 ms.</summary>
public class DynaliteFixture : EmulatorFixture
{
    public DynaliteFixture() : this(keepDataAcrossRestarts: false) { }

    /// <summary>For a class fixture that keeps data across restarts: `sealed class Mine() : DynaliteFixture(true);`.</summary>
    protected DynaliteFixture(bool keepDataAcrossRestarts) : base("dynalite", keepDataAcrossRestarts) { }

    /// <summary>A dynalite whose data lives in a temporary folder and so survives Stop/Start.</summary>
    public static DynaliteFixture Durable() => new(keepDataAcrossRestarts: true);

    protected override string Script => "node_modules/dynalite/cli.js";

    protected override IReadOnlyList<string> Arguments(int port, string? dataDirectory)
    {
        List<string> arguments = ["--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--createTableMs", "50", "--deleteTableMs", "50", "--updateTableMs", "50"];
        if (dataDirectory is not null) arguments.AddRange(["--path", dataDirectory]);
        return arguments;
    }
}
