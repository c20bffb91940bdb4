using System.Net.Http.Headers;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Pipeline.TestSupport.Emulators;

namespace Pipeline.TestSupport.Tests;

public sealed class DynaliteHarnessTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>
{
    [SkippableFact]
    public async Task Dynalite_answers_ListTables_on_loopback()
    {
        Assert.StartsWith("http://127.0.0.1:", dynalite.Endpoint, StringComparison.Ordinal);
        using var client = Client(dynalite.Endpoint);

        var response = await client.ListTablesAsync(new ListTablesRequest());

        Assert.Equal(System.Net.HttpStatusCode.OK, response.HttpStatusCode);
    }

    [SkippableFact]
    public async Task Restarted_dynalite_keeps_its_tables_when_asked_to_and_refuses_calls_while_down()
    {
        using var durable = DynaliteFixture.Durable();
        using var client = Client(durable.Endpoint);
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = "checkpoints",
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });
        var port = durable.Port;

        durable.Stop();
        await Assert.ThrowsAnyAsync<Exception>(() => client.ListTablesAsync(new ListTablesRequest()));
        durable.Start();

        Assert.Equal(port, durable.Port);
        var tables = await client.ListTablesAsync(new ListTablesRequest());
        Assert.Contains("checkpoints", tables.TableNames);
    }

    private static AmazonDynamoDBClient Client(string endpoint) =>
        new(new BasicAWSCredentials("x", "x"), new AmazonDynamoDBConfig
        {
            ServiceURL = endpoint,
            AuthenticationRegion = "us-east-1",
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromSeconds(10),
        });
}

public sealed class KinesaliteHarnessTests(KinesaliteFixture kinesalite) : IClassFixture<KinesaliteFixture>
{
    [SkippableFact]
    public async Task Kinesalite_answers_ListStreams_on_loopback()
    {
        Assert.StartsWith("http://127.0.0.1:", kinesalite.Endpoint, StringComparison.Ordinal);
        using var http = new HttpClient();

        using var response = await http.SendAsync(ListStreams(kinesalite.Endpoint));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Contains("\"StreamNames\":[]", body, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Stopped_kinesalite_refuses_connections_until_started_again()
    {
        using var own = new KinesaliteFixture();
        using var http = new HttpClient();

        own.Stop();
        Assert.False(own.IsRunning);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(ListStreams(own.Endpoint)));
        own.Start();

        using var response = await http.SendAsync(ListStreams(own.Endpoint));
        Assert.True(response.IsSuccessStatusCode, own.Output);
    }

    // kinesalite checks that an Authorization header is present, not that its signature is right.
    private static HttpRequestMessage ListStreams(string endpoint)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint + "/")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes("{}")),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        request.Headers.Add("X-Amz-Target", "Kinesis_20131202.ListStreams");
        request.Headers.Add("X-Amz-Date", "20250101T000000Z");
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=x/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=x");
        return request;
    }
}
