using Amazon.Runtime;

namespace Pipeline.Kinesis.Tests;

internal static class TestClients
{
    public static KinesisClientOptions Options(Uri endpoint) => new()
    {
        Region = "us-east-1",
        ServiceUrl = endpoint,
        Credentials = new BasicAWSCredentials("x", "x"),
        BackoffJitter = false,
        StatusPollInterval = TimeSpan.FromMilliseconds(50),
        RequestTimeout = TimeSpan.FromSeconds(20),
    };
}
