using System.Diagnostics;

namespace Pipeline.Infra.Tests;

/// <summary>
/// cdk-nag's AwsSolutions checks on the synthesized app, through node (cdk-nag has no .NET package):
/// infra/nag/check.js loads each template and honours the cdk_nag suppressions written in the C# stacks.
/// </summary>
[Collection(CdkCollection.Name)]
public sealed class NagTests(SynthesizedApp app)
{
    [SkippableFact]
    public void AwsSolutions_checks_pass_with_only_the_justified_suppressions()
    {
        var (exit, output) = RunCheck(app.Outdir);
        Assert.True(exit == 0, output);
        Assert.Contains("AwsSolutions passed for 4 template(s)", output, StringComparison.Ordinal);
        // The suppressions in the stacks, and nothing else: a new one must be added here on purpose.
        var suppressed = output.Split('\n').Where(l => l.Contains(": suppressed ", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(": suppressed ", StringComparison.Ordinal) + 13)..l.IndexOf(": ", l.IndexOf(": suppressed ", StringComparison.Ordinal) + 13, StringComparison.Ordinal)])
            .Order().ToArray();
        Assert.Equal(
            new[]
            {
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:eu-west-1:111111111111:key/*]",
                "AwsSolutions-KDS3",
                "AwsSolutions-SQS3",
                "AwsSolutions-SQS3",
                "AwsSolutions-SQS3",
                // The forwarding dead-letter queue of each management-account stack (two regions).
                "AwsSolutions-SQS3",
                "AwsSolutions-SQS3",
            },
            suppressed);
    }

    [SkippableFact]
    public void The_check_fails_on_a_template_with_an_unsuppressed_finding()
    {
        // An unencrypted queue without TLS enforcement or a dead-letter queue: SQS2, SQS3, SQS4.
        var dir = Path.Combine(app.Outdir, "..", "nag-negative-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Bad.template.json"), """
            {"Resources": {"Plain": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
            """);
        var (exit, output) = RunCheck(dir);
        Assert.Equal(1, exit);
        Assert.Contains("AwsSolutions-SQS4", output, StringComparison.Ordinal);
    }

    private (int Exit, string Output) RunCheck(string assemblyDirectory)
    {
        var node = FindOnPath("node");
        Skip.If(node is null, "node is not installed: the cdk-nag check runs in node (install node 20+ and run tests/test.sh).");
        var nagDirectory = Path.Combine(app.InfraDirectory, "nag");
        Assert.True(Directory.Exists(Path.Combine(nagDirectory, "node_modules", "cdk-nag")),
            "infra/nag/node_modules is missing: run `npm ci` in infra/nag (tests/test.sh does).");

        var start = new ProcessStartInfo(node!, ["check.js", assemblyDirectory])
        {
            WorkingDirectory = nagDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["JSII_DEPRECATED"] = "quiet";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
