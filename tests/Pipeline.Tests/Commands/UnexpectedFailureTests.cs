using System.Net;
using System.Net.Sockets;
using Pipeline.Cli.Terminal;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.Tests.Commands;

/// <summary>No command ends with a stack trace: failures it foresees, and those it does not, are one line and a documented code.</summary>
public sealed class UnexpectedFailureTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("failure-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_failure_no_command_foresees_is_one_line_with_what_to_check_and_exit_9()
    {
        // A checkpoint folder that cannot be created (a file stands where it should be): an IOException no command catches itself.
        var blocker = Path.Combine(_dir, "not-a-folder");
        await File.WriteAllTextAsync(blocker, "");
        var result = await PipelineProcess.RunAsync(["run", "--stream", "s", "--endpoint", "http://127.0.0.1:9", "--checkpoint-file", Path.Combine(blocker, "cp.json"), "--until-idle"]);

        Assert.Equal(9, result.ExitCode);
        RunCommandTests.AssertNoStackTrace(result.Stderr);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: a file could not be read or written (IOException): ", line, StringComparison.Ordinal);
        Assert.Contains("not-a-folder", line, StringComparison.Ordinal);
        Assert.EndsWith("then run again.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_against_a_port_where_nothing_listens_says_the_service_is_unreachable_without_a_stack_trace()
    {
        var result = await PipelineProcess.RunAsync(["run", "--stream", "s", "--endpoint", $"http://127.0.0.1:{ClosedPort()}", "--checkpoint-file", Path.Combine(_dir, "cp.json"), "--until-idle"]);

        Assert.Equal(6, result.ExitCode);
        RunCommandTests.AssertNoStackTrace(result.Stderr);
        Assert.Contains("cannot reach Kinesis", result.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Run_on_a_stream_that_does_not_exist_says_so_without_a_stack_trace()
    {
        var result = await PipelineProcess.RunAsync(["run", "--stream", "no-such-stream", "--endpoint", kinesalite.Endpoint, "--checkpoint-file", Path.Combine(_dir, "cp.json"), "--until-idle"]);

        Assert.Equal(3, result.ExitCode);
        RunCommandTests.AssertNoStackTrace(result.Stderr);
        Assert.Contains("stream no-such-stream does not exist", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_one_line_redacts_webhook_paths_tokens_and_signatures_and_drops_control_characters()
    {
        var e = new HttpRequestException("POST https://hooks.slack.com/services/T0/B0/s3cr3tpath failed\u001b[31m for xoxb-1234-abcd?X-Amz-Signature=deadbeef key AKIAABCDEFGHIJKLMNOP\nsecond line",
            new SocketException((int)SocketError.ConnectionRefused));

        var line = UnexpectedFailure.Describe(e);

        Assert.StartsWith("error: a service did not answer as expected (HttpRequestException): ", line, StringComparison.Ordinal);
        foreach (var secret in new[] { "s3cr3tpath", "xoxb-1234", "deadbeef", "AKIAABCDEFGHIJKLMNOP", "second line", "\u001b" })
            Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
        Assert.Contains("https://hooks.slack.com/[redacted]", line, StringComparison.Ordinal);
        Assert.Contains("refused", line, StringComparison.OrdinalIgnoreCase); // the root cause is kept
        Assert.DoesNotContain('\n', line);
    }

    /// <summary>A loopback port that was free a moment ago: nothing listens on it.</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
