using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport;

namespace Pipeline.Aggregator.Tests;

/// <summary>Parsed events for aggregator tests, built through the real parser so they look like production events.</summary>
internal static class TestEvents
{
    public static OrgEvent At(DateTimeOffset time, string account = "111122223333", string eventName = "CreateTags",
        string eventSource = "ec2.amazonaws.com", string? errorCode = null, System.Text.Json.Nodes.JsonObject? identity = null,
        System.Text.Json.Nodes.JsonObject? request = null, string roleName = "deployer")
    {
        var json = Events.ApiCall(account: account, time: time, eventName: eventName, eventSource: eventSource, errorCode: errorCode,
            identity: identity, requestParameters: request, roleName: roleName).Utf8();
        Assert.True(EventParser.TryParse(json, out var parsed, out var reason), reason);
        using (parsed) return parsed!.Event;
    }

    public static OrgEvent Minutes(double minutes, string account = "111122223333", string eventName = "CreateTags") =>
        At(Events.T0.AddMinutes(minutes), account, eventName);
}
