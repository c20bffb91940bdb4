using System.CommandLine;
using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;

namespace Pipeline.Cli.Commands;

/// <summary>Where AWS services are: a region, or an endpoint such as a local DynamoDB emulator.</summary>
internal sealed class AwsOptions : IOptionGroup
{
    public Option<string?> Endpoint { get; } = new("--endpoint")
    {
        Description = "Service endpoint URL, e.g. http://127.0.0.1:4567 for a local DynamoDB (dynalite); default: the region's AWS endpoint.",
    };

    public Option<string?> Region { get; } = new("--region")
    {
        Description = "AWS region (default: $AWS_REGION, else us-east-1).",
    };

    public IEnumerable<Option> Options => [Endpoint, Region];

    public string RegionName(ParseResult parse) =>
        parse.GetValue(Region) ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") ?? "us-east-1";

    /// <summary>
    /// A DynamoDB client. Credentials come from the SDK's default chain (environment, profile, container, instance
    /// role); for a loopback endpoint with no credentials configured, placeholder ones are used, since emulators
    /// do not check signatures and a local run should need no AWS account.
    /// </summary>
    public IAmazonDynamoDB CreateDynamoDb(ParseResult parse)
    {
        var endpoint = parse.GetValue(Endpoint);
        var region = RegionName(parse);
        var config = new AmazonDynamoDBConfig { MaxErrorRetry = 3, Timeout = TimeSpan.FromSeconds(10) };
        if (endpoint is not null)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
                throw new UsageException($"--endpoint '{endpoint}' is not an absolute URL (e.g. http://127.0.0.1:4567).");
            config.ServiceURL = uri.ToString();
            config.AuthenticationRegion = region;
            if (uri.IsLoopback && !HasConfiguredCredentials())
                return new AmazonDynamoDBClient(new BasicAWSCredentials("local", "local"), config);
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }
        return new AmazonDynamoDBClient(config);
    }

    /// <summary>A Kinesis client (our own; AWSSDK.Kinesis is not served here) with the same endpoint and credential rules.</summary>
    public Kinesis.KinesisClient CreateKinesis(ParseResult parse)
    {
        var endpoint = parse.GetValue(Endpoint);
        Uri? uri = null;
        if (endpoint is not null && !Uri.TryCreate(endpoint, UriKind.Absolute, out uri))
            throw new UsageException($"--endpoint '{endpoint}' is not an absolute URL (e.g. http://127.0.0.1:4567).");
        try
        {
            return new Kinesis.KinesisClient(new Kinesis.KinesisClientOptions
            {
                Region = RegionName(parse),
                ServiceUrl = uri,
                Credentials = uri is { IsLoopback: true } && !HasConfiguredCredentials() ? new BasicAWSCredentials("local", "local") : null,
            });
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    internal static bool HasConfiguredCredentials() =>
        Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is not null ||
        Environment.GetEnvironmentVariable("AWS_PROFILE") is not null ||
        File.Exists(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".aws", "credentials"));

    /// <summary>Turns "cannot reach the service" into a message that says what to check.</summary>
    public static ServiceUnavailableException Unreachable(string service, ParseResult parse, AwsOptions aws, Exception e) =>
        new($"cannot reach {service} at {parse.GetValue(aws.Endpoint) ?? "the AWS endpoint of " + aws.RegionName(parse)}: {FirstLine(e.Message)}. " +
            "Check --endpoint (a local emulator must be running), or your AWS credentials and --region.", e);

    private static string FirstLine(string s)
    {
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }
}

/// <summary>A service the command needs is unreachable: exit code 6.</summary>
internal sealed class ServiceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
