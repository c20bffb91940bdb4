using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.Runtime;
using Amazon.SimpleSystemsManagement;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Secrets;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Slack;

namespace Pipeline.Slack.Tests;

public sealed class SecretTests
{
    private const string TokenSecretPart = "T0kenS3cr3t";

    private static void AssertNoSecret(IEnumerable<string?> texts)
    {
        foreach (var text in texts.Where(t => t is not null))
        {
            Assert.DoesNotContain(SlackFixture.WebhookSecretPath, text!, StringComparison.Ordinal);
            Assert.DoesNotContain(TokenSecretPart, text!, StringComparison.Ordinal);
        }
    }

    private static SlackFault[] EveryFault => [new SlackFault.RateLimited(1), new SlackFault.ServerError(), new SlackFault.Hang(), new SlackFault.InvalidBlocks(), new SlackFault.ChannelNotFound()];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Secret_appears_in_no_log_line_error_or_outbox_file_when_delivery_fails(bool botToken)
    {
        using var f = new SlackFixture();
        // A short attempt timeout for the hangs: this test counts nothing, it reads what was written.
        var options = (botToken ? f.BotOptions(maxAttempts: 2) : f.WebhookOptions(maxAttempts: 2)) with { MinIntervalPerChannel = TimeSpan.Zero, AttemptTimeout = SlackFixture.HangTimeout };
        var sink = await f.SinkAsync(options);
        var errors = new List<string?>();
        foreach (var fault in EveryFault)
        {
            f.Server.Enqueue(fault, times: 4);
            var result = await sink.PostAsync(SlackFixture.DigestFor("111122223333", errors.Count), default);
            errors.Add(result.Error);
        }

        Assert.NotEmpty(f.Log);
        Assert.Contains(errors, e => e is not null);
        AssertNoSecret(f.Log);
        AssertNoSecret(errors);
        AssertNoSecret(f.OutboxFiles().Select(File.ReadAllText));
    }

    [Fact]
    public async Task Secret_appears_in_no_log_line_when_slack_cannot_be_reached()
    {
        // Bound but not listening: connections are refused, and no other test's server can take the port meanwhile.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int closedPort = ((IPEndPoint)closed.LocalEndPoint!).Port;
        using var f = new SlackFixture();
        string url = $"http://127.0.0.1:{closedPort}/webhook/{SlackFixture.WebhookSecretPath}";
        var sink = new SlackDigestSink(await f.SenderAsync(f.WebhookOptions(maxAttempts: 2), new SecretResolver(_ => url)), f.Outbox, time: f.Time, log: f.Write);

        var result = await sink.PostAsync(SlackFixture.DigestFor("111122223333", 0), default);

        Assert.Equal(SlackDeliveryStatus.Outboxed, result.Status);
        Assert.Contains("network error", result.Error, StringComparison.Ordinal);
        AssertNoSecret(f.Log.Append(result.Error));
    }

    [Theory]
    [InlineData("http://hooks.example.com/services/" + SlackFixture.WebhookSecretPath)]
    [InlineData("not a url " + SlackFixture.WebhookSecretPath)]
    [InlineData("ftp://127.0.0.1/" + SlackFixture.WebhookSecretPath)]
    public async Task Bad_webhook_url_is_refused_at_start_up_without_showing_it(string url)
    {
        var options = new SlackDeliveryOptions { Secret = SecretReference.Parse("env:HOOK") };
        var e = await Assert.ThrowsAsync<SlackConfigurationException>(() =>
            SlackDelivery.CreateSenderAsync(options, new SeededRandom().NextDouble, secrets: new SecretResolver(_ => url)));
        Assert.Contains("env:HOOK", e.Message, StringComparison.Ordinal);
        AssertNoSecret([e.Message, e.ToString()]);
    }

    [Fact]
    public async Task Malformed_token_is_refused_without_showing_it()
    {
        var options = new SlackDeliveryOptions { Mode = SlackMode.BotToken, DefaultChannel = "#s", Secret = SecretReference.Parse("env:TOKEN") };
        var e = await Assert.ThrowsAsync<SlackConfigurationException>(() =>
            SlackDelivery.CreateSenderAsync(options, new SeededRandom().NextDouble, secrets: new SecretResolver(_ => "xoxb " + TokenSecretPart)));
        AssertNoSecret([e.Message, e.ToString()]);
    }

    [Fact]
    public void Secret_value_never_shows_through_ToString()
    {
        var secret = new SlackSecret("https://hooks.slack.com/services/" + SlackFixture.WebhookSecretPath, SecretReference.Parse("ssm:/pipeline/slack"));
        Assert.Equal("[secret from ssm:/pipeline/slack]", secret.ToString());
        Assert.Equal("POST /[redacted] failed", secret.Redact("POST /services/" + SlackFixture.WebhookSecretPath + " failed"));
    }

    [Fact]
    public async Task Missing_environment_variable_is_named_in_the_error()
    {
        var e = await Assert.ThrowsAsync<SlackConfigurationException>(() =>
            SlackDelivery.CreateSenderAsync(new SlackDeliveryOptions(), new SeededRandom().NextDouble, secrets: new SecretResolver(_ => null)));
        Assert.Contains("PIPELINE_SLACK_WEBHOOK_URL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task File_secret_is_read_and_trimmed()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, "xoxb-1-2-" + TokenSecretPart + "\n");
            var secret = await new SecretResolver().ResolveAsync(SecretReference.Parse("file:" + path), default);
            Assert.Equal("xoxb-1-2-" + TokenSecretPart, secret.Reveal());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("vault:x")]
    [InlineData("env:")]
    [InlineData("https://hooks.slack.com/services/x")]
    public void Bad_secret_reference_is_refused_with_the_accepted_forms(string spec)
    {
        var e = Assert.Throws<FormatException>(() => SecretReference.Parse(spec));
        Assert.DoesNotContain("hooks.slack.com", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bot_token_without_default_channel_is_refused_with_a_clear_message()
    {
        var e = Assert.Throws<SlackConfigurationException>(() => new SlackDeliveryOptions { Mode = SlackMode.BotToken }.Validate());
        Assert.Contains("DefaultChannel is required", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_option_names_itself_and_its_range()
    {
        var e = Assert.Throws<SlackConfigurationException>(() => new SlackDeliveryOptions { MaxAttempts = 0 }.Validate());
        Assert.Equal("Slack option MaxAttempts must be between 1 and 10; it is 0.", e.Message);
    }

    /// <summary>The real SDK client against an SSM look-alike on loopback: the request asks for decryption, the value comes back.</summary>
    [Fact]
    public async Task Ssm_secure_string_is_read_with_decryption()
    {
        using var listener = new HttpListener();
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = ((IPEndPoint)probe.LocalEndpoint).Port; }
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        string? requestBody = null, target = null;
        var serve = Task.Run(async () =>
        {
            var ctx = await listener.GetContextAsync();
            target = ctx.Request.Headers["X-Amz-Target"];
            using (var reader = new StreamReader(ctx.Request.InputStream)) requestBody = await reader.ReadToEndAsync();
            var bytes = Encoding.UTF8.GetBytes("{\"Parameter\":{\"Name\":\"/pipeline/slack/webhook\",\"Type\":\"SecureString\",\"Value\":\"https://hooks.slack.com/services/" + SlackFixture.WebhookSecretPath + "\",\"Version\":1}}");
            ctx.Response.ContentType = "application/x-amz-json-1.1";
            ctx.Response.ContentLength64 = bytes.Length;
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        });
        using var client = new AmazonSimpleSystemsManagementClient(new BasicAWSCredentials("x", "x"),
            new AmazonSimpleSystemsManagementConfig { ServiceURL = $"http://127.0.0.1:{port}", AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });

        var secret = await new SecretResolver(ssm: () => new SsmParameterReader(client)).ResolveAsync(SecretReference.Parse("ssm:/pipeline/slack/webhook"), default);
        await serve;

        Assert.Equal("https://hooks.slack.com/services/" + SlackFixture.WebhookSecretPath, secret.Reveal());
        Assert.Equal("AmazonSSM.GetParameter", target);
        Assert.Contains("\"WithDecryption\":true", requestBody, StringComparison.Ordinal);
        Assert.Contains("\"Name\":\"/pipeline/slack/webhook\"", requestBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ssm_failure_names_the_parameter_not_a_value()
    {
        var e = await Assert.ThrowsAsync<SlackConfigurationException>(() =>
            new SecretResolver(ssm: () => new FailingSsm()).ResolveAsync(SecretReference.Parse("ssm:/pipeline/slack/webhook"), default));
        Assert.Contains("ssm:/pipeline/slack/webhook", e.Message, StringComparison.Ordinal);
        Assert.Contains("ParameterNotFound", e.Message, StringComparison.Ordinal);
    }

    private sealed class FailingSsm : ISsmParameterReader
    {
        public Task<string> GetDecryptedAsync(string name, CancellationToken cancellationToken) =>
            throw new Amazon.SimpleSystemsManagement.Model.ParameterNotFoundException("ParameterNotFound: " + name);
    }
}
