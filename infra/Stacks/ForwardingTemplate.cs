using System.Buffers;
using System.Text;
using System.Text.Json;
using Amazon.CDK;
using Pipeline.Infra.Constructs;

namespace Pipeline.Infra.Stacks;

/// <summary>
/// Renders <see cref="EventForwarding"/> as a standalone template for the StackSet: a private CDK app with one
/// bootstrap-less stack (member accounts are not CDK-bootstrapped), synthesized to a temporary folder.
/// </summary>
internal static class ForwardingTemplate
{
    public static string Render(EventForwardingProps forwarding)
    {
        var outdir = Path.Combine(Path.GetTempPath(), "forwarding-template-" + Guid.NewGuid().ToString("N"));
        try
        {
            var app = new App(new AppProps
            {
                Outdir = outdir,
                AnalyticsReporting = false,
            });
            var stack = new Stack(app, "MemberForwarding", new StackProps
            {
                Synthesizer = new BootstraplessSynthesizer(),
                Description = "Security pipeline: forward this account's security events to the organization's central bus.",
            });
            _ = new EventForwarding(stack, "Forwarding", forwarding);
            var assembly = app.Synth();
            return Minify(File.ReadAllText(assembly.GetStackByName(stack.StackName).TemplateFullPath));
        }
        finally
        {
            if (Directory.Exists(outdir))
                Directory.Delete(outdir, recursive: true);
        }
    }

    // A TemplateBody is limited to 51,200 bytes: no indentation.
    private static string Minify(string json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
            document.WriteTo(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
