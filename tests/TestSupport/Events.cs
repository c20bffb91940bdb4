using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.TestSupport;

/// <summary>Builds realistic EventBridge envelopes for tests, so each test states only what it is about.</summary>
public static class Events
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

    /// <summary>An "AWS API Call via CloudTrail" envelope with a role session as the caller.</summary>
    public static JsonObject ApiCall(
        string account = "111122223333",
        DateTimeOffset? time = null,
        string eventName = "CreateTags",
        string eventSource = "ec2.amazonaws.com",
        string? eventId = null,
        string? envelopeId = null,
        string region = "us-east-1",
        string roleName = "deployer",
        string session = "ci",
        string? errorCode = null,
        JsonObject? requestParameters = null,
        JsonObject? identity = null)
    {
        var t = (time ?? T0).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var detail = new JsonObject
        {
            ["eventVersion"] = "1.09",
            ["userIdentity"] = identity ?? Role(account, roleName, session),
            ["eventTime"] = t,
            ["eventSource"] = eventSource,
            ["eventName"] = eventName,
            ["awsRegion"] = region,
            ["sourceIPAddress"] = "192.0.2.10",
            ["userAgent"] = "aws-cli/2.15.0",
            ["requestParameters"] = requestParameters,
            ["responseElements"] = null,
            ["eventID"] = eventId ?? Guid.NewGuid().ToString(),
            ["readOnly"] = false,
            ["eventType"] = "AwsApiCall",
            ["recipientAccountId"] = account,
        };
        if (errorCode is not null)
        {
            detail["errorCode"] = errorCode;
            detail["errorMessage"] = "not authorized";
        }
        return new JsonObject
        {
            ["version"] = "0",
            ["id"] = envelopeId ?? Guid.NewGuid().ToString(),
            ["detail-type"] = "AWS API Call via CloudTrail",
            ["source"] = "aws." + eventSource.Split('.')[0],
            ["account"] = account,
            ["time"] = t,
            ["region"] = region,
            ["resources"] = new JsonArray(),
            ["detail"] = detail,
        };
    }

    public static JsonObject Role(string account, string roleName, string session) => new()
    {
        ["type"] = "AssumedRole",
        ["principalId"] = "AROAEXAMPLE:" + session,
        ["arn"] = $"arn:aws:sts::{account}:assumed-role/{roleName}/{session}",
        ["accountId"] = account,
        ["sessionContext"] = new JsonObject
        {
            ["sessionIssuer"] = new JsonObject { ["type"] = "Role", ["arn"] = $"arn:aws:iam::{account}:role/{roleName}", ["userName"] = roleName },
            ["attributes"] = new JsonObject { ["mfaAuthenticated"] = "false" },
        },
    };

    public static JsonObject Root(string account) => new()
    {
        ["type"] = "Root",
        ["principalId"] = account,
        ["arn"] = $"arn:aws:iam::{account}:root",
        ["accountId"] = account,
    };

    public static string Line(this JsonNode node) => node.ToJsonString();

    public static byte[] Utf8(this JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    public static string JsonLines(IEnumerable<JsonNode> nodes) => string.Join('\n', nodes.Select(n => n.ToJsonString())) + "\n";

    /// <summary>The detail of an envelope, for tests that need a bare CloudTrail record.</summary>
    public static JsonObject Detail(JsonObject envelope) => (JsonObject)JsonNode.Parse(envelope["detail"]!.ToJsonString())!;

    public static JsonDocument Parse(string json) => JsonDocument.Parse(json);
}
