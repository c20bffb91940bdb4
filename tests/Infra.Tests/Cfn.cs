using System.Text.Json.Nodes;

namespace Pipeline.Infra.Tests;

/// <summary>Small readers over a synthesized CloudFormation template (as JSON).</summary>
internal static class Cfn
{
    public static IEnumerable<(string Id, JsonObject Resource)> Resources(JsonObject template, string type) =>
        template["Resources"]!.AsObject()
            .Where(r => (string?)r.Value!["Type"] == type)
            .Select(r => (r.Key, r.Value!.AsObject()));

    /// <summary>The resource whose construct path (aws:cdk:path metadata) is <paramref name="path"/>.</summary>
    public static (string Id, JsonObject Resource) ByPath(JsonObject template, string path)
    {
        var match = template["Resources"]!.AsObject()
            .Where(r => (string?)r.Value!["Metadata"]?["aws:cdk:path"] == path)
            .Select(r => (r.Key, r.Value!.AsObject()))
            .ToArray();
        Assert.True(match.Length == 1, $"expected one resource at {path}, found {match.Length}");
        return match[0];
    }

    public static (string Id, JsonObject Resource) Single(JsonObject template, string type)
    {
        var all = Resources(template, type).ToArray();
        Assert.True(all.Length == 1, $"expected one {type}, found {all.Length}");
        return all[0];
    }

    public static JsonObject Props(JsonObject resource) => resource["Properties"]!.AsObject();

    public static JsonNode GetAtt(string id, string attribute = "Arn") => new JsonObject { ["Fn::GetAtt"] = new JsonArray(id, attribute) };

    public static JsonNode Ref(string id) => new JsonObject { ["Ref"] = id };

    /// <summary>Asserts JSON equality, printing both sides on failure.</summary>
    public static void Equal(JsonNode? expected, JsonNode? actual)
    {
        Assert.True(JsonNode.DeepEquals(expected, actual),
            $"expected:{Environment.NewLine}{expected?.ToJsonString()}{Environment.NewLine}actual:{Environment.NewLine}{actual?.ToJsonString()}");
    }

    /// <summary>An IAM policy's statements, with single actions/resources normalised to arrays.</summary>
    public static IReadOnlyList<JsonObject> Statements(JsonObject policyResource) =>
        Props(policyResource)["PolicyDocument"]!["Statement"]!.AsArray().Select(s => s!.AsObject()).ToArray();

    public static JsonArray AsArray(JsonNode? node) => node switch
    {
        JsonArray array => array,
        null => [],
        _ => [node.DeepClone()],
    };

    public static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
}
