using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Enricher.Parsing;
using Pipeline.TestSupport;

namespace Pipeline.Enricher.Tests.Parsing;

public sealed class EventParserTests
{
    private static (bool ok, Pipeline.Enricher.Model.OrgEvent? evt, string? reason) Parse(string json)
    {
        bool ok = EventParser.TryParse(Encoding.UTF8.GetBytes(json), out var parsed, out var reason);
        using (parsed) return (ok, parsed?.Event, reason);
    }

    [Theory]
    // a name that is no text beside the principal; a principal object with such a name beside "AWS"; such a value in the "AWS" list
    [InlineData("""{\"Statement\":[{\"\\ud800\":1,\"Principal\":\"*\"}]}""", true)]
    [InlineData("""{\"Statement\":[{\"Principal\":{\"\\udc00\":1,\"AWS\":[\"\\ud800\",\"*\"]}}]}""", true)]
    // the principal itself no text (read as U+FFFD), beside a Sid that only mentions "Principal":"*": no grant
    [InlineData("""{\"Statement\":[{\"Principal\":\"\\ud800\",\"Sid\":\"\\ud800 \\\"Principal\\\":\\\"*\\\"\"}]}""", false)]
    public void Text_that_is_no_text_inside_a_policy_string_neither_hides_a_grant_nor_refuses_the_record(string policy, bool grants)
    {
        // JSON decoded from inside a string is beyond the record's repair: an escaped half of a surrogate pair in it must not
        // make the whole record unreadable, which would keep a grant to everyone out of the digest.
        var record = "{\"eventName\":\"SetQueueAttributes\",\"eventSource\":\"sqs.amazonaws.com\",\"eventTime\":\"2024-05-01T10:00:00Z\"," +
            "\"recipientAccountId\":\"111122223333\",\"requestParameters\":{\"attributes\":{\"Policy\":\"" + policy + "\"}}}";
        Assert.True(EventParser.TryParse(Encoding.UTF8.GetBytes(record), out var parsed, out var reason), reason);
        using (parsed) Assert.Equal(grants, parsed!.Event.CloudTrail!.Facts.GrantsToEveryone);
    }

    [Fact]
    public void A_grant_in_a_policy_nested_as_a_string_in_a_string_counts_whatever_text_beside_it()
    {
        // The policy {"Statement":[{"Principal":"*","Sid":"…"}]} as a JSON string whose own text holds an unpaired
        // surrogate escape (\ud800 in the Sid), passed as the request's policy string: that escape is one decoding below
        // the record, where only the policy's own repair reaches it. Unrepaired, the string is no text and the grant in it
        // would go unread.
        static string Quoted(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var policyAsString = Quoted("""{"Statement":[{"Principal":"*","Sid":"SID"}]}""").Replace("SID", "\\ud800", StringComparison.Ordinal);
        Assert.Contains("\"Sid\\\":\\\"\\ud800", policyAsString, StringComparison.Ordinal); // a real escape at this level, not an escaped backslash
        var record = "{\"eventName\":\"SetQueueAttributes\",\"eventSource\":\"sqs.amazonaws.com\",\"eventTime\":\"2024-05-01T10:00:00Z\"," +
            "\"recipientAccountId\":\"111122223333\",\"requestParameters\":{\"attributes\":{\"Policy\":" + Quoted(policyAsString) + "}}}";
        Assert.True(EventParser.TryParse(Encoding.UTF8.GetBytes(record), out var parsed, out var reason), reason);
        using (parsed) Assert.True(parsed!.Event.CloudTrail!.Facts.GrantsToEveryone);
        ParserEquivalenceTests.AssertSame(Encoding.UTF8.GetBytes(record));
    }

    [Fact]
    public void A_record_that_is_not_json_is_refused_in_the_framework_readers_words_with_its_position()
    {
        // The parser reads with its own JsonCursor; the reason users see is System.Text.Json's, as a DOM parse would give it.
        var broken = Encoding.UTF8.GetBytes("""{"eventName":"CreateUser","count":01}""");
        Assert.False(EventParser.TryParse(broken, out _, out var reason));
        Assert.Equal("not valid JSON: " + EventParser.FrameworkVerdict(broken)!.Split('\n')[0], reason);
        Assert.Contains("Invalid leading zero", reason, StringComparison.Ordinal);
        Assert.Contains("LineNumber: 0 | BytePositionInLine: ", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Envelope_fields_and_cloudtrail_record_are_read()
    {
        var env = Events.ApiCall(account: "123456789012", eventName: "RunInstances", eventId: "ev-1", envelopeId: "env-1", region: "eu-west-1",
            roleName: "Admin", session: "alice@example.com", errorCode: "AccessDenied");
        var (ok, evt, _) = Parse(env.Line());

        Assert.True(ok);
        Assert.Equal("env-1", evt!.Id);
        Assert.Equal("123456789012", evt.Account);
        Assert.Equal("eu-west-1", evt.Region);
        Assert.Equal(Events.T0, evt.Time);
        Assert.Equal("aws.ec2", evt.Source);
        Assert.Equal("AWS API Call via CloudTrail", evt.DetailType);
        Assert.Equal("RunInstances", evt.CloudTrail!.EventName);
        Assert.Equal("ev-1", evt.DedupeId);
        Assert.Equal("AccessDenied", evt.CloudTrail.ErrorCode);
        Assert.Equal("role/Admin/alice@example.com", evt.Principal);
        Assert.False(evt.CloudTrail.Identity.MfaAuthenticated);
    }

    [Fact]
    public void Bare_cloudtrail_record_is_wrapped_as_eventbridge_would()
    {
        var record = Events.Detail(Events.ApiCall(account: "210987654321", eventName: "ConsoleLogin", eventSource: "signin.amazonaws.com", eventId: "abc"));
        record["eventType"] = "AwsConsoleSignIn";

        var (ok, evt, _) = Parse(record.Line());

        Assert.True(ok);
        Assert.Equal("AWS Console Sign In via CloudTrail", evt!.DetailType); // as EventBridge spells it
        Assert.Equal("aws.signin", evt.Source);
        Assert.Equal("210987654321", evt.Account);
        Assert.Equal("abc", evt.Id);
        Assert.Equal("ConsoleLogin", evt.ActionName);
    }

    [Fact]
    public void Bare_record_without_recipient_account_falls_back_to_the_caller_account()
    {
        var record = Events.Detail(Events.ApiCall(account: "210987654321"));
        record.Remove("recipientAccountId");
        var (ok, evt, _) = Parse(record.Line());
        Assert.True(ok);
        Assert.Equal("210987654321", evt!.Account);
    }

    [Theory]
    [InlineData("2019-01-01 00:00:00.000000000")]
    [InlineData("2019-01-01 00:00:00.000")]
    [InlineData("2019-01-01T00:00:00Z")]
    public void Timestamps_in_the_wild_are_read_as_utc(string time)
    {
        var record = Events.Detail(Events.ApiCall());
        record["eventTime"] = time;
        var (ok, evt, reason) = Parse(record.Line());
        Assert.True(ok, reason);
        Assert.Equal(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero), evt!.Time);
    }

    [Fact]
    public void Bare_guardduty_finding_becomes_a_finding_event()
    {
        var finding = new JsonObject
        {
            ["schemaVersion"] = "2.0", ["accountId"] = "123456789012", ["region"] = "us-east-1", ["id"] = "f1",
            ["type"] = "Recon:EC2/PortProbeUnprotectedPort", ["severity"] = 8.5, ["title"] = "Unprotected port probed",
            ["createdAt"] = "2024-01-01T00:00:00Z", ["updatedAt"] = "2024-01-01T00:05:00Z",
        };
        var (ok, evt, _) = Parse(finding.Line());
        Assert.True(ok);
        Assert.Equal("GuardDuty Finding", evt!.DetailType);
        Assert.Equal("aws.guardduty", evt.Source);
        Assert.Equal(8.5, evt.Finding!.Severity);
        Assert.Equal("Unprotected port probed", evt.Finding.Title);
        Assert.Null(evt.CloudTrail);
    }

    [Theory]
    [InlineData("{\"detail-type\":\"x\"", "not valid JSON")]
    [InlineData("[1,2]", "expected a JSON object")]
    [InlineData("{\"hello\":\"world\"}", "not an EventBridge event")]
    [InlineData("{\"detail-type\":\"X\",\"source\":\"s\",\"time\":\"2024-01-01T00:00:00Z\"}", "event has no account")]
    [InlineData("{\"detail-type\":\"X\",\"source\":\"s\",\"account\":\"12345\",\"time\":\"2024-01-01T00:00:00Z\"}", "is not 12 digits")]
    [InlineData("{\"detail-type\":\"X\",\"source\":\"s\",\"account\":\"123456789012\"}", "event has no time")]
    [InlineData("{\"detail-type\":\"X\",\"source\":\"s\",\"account\":\"123456789012\",\"time\":\"yesterday\"}", "is not a timestamp")]
    [InlineData("{\"eventName\":\"X\",\"eventTime\":\"2024-01-01T00:00:00Z\"}", "CloudTrail record has no account id")]
    [InlineData("{\"detail-type\":\"X\",\"source\":\"s\",\"account\":\"123456789012\",\"time\":\"9999-12-31T23:59:59Z\"}", "is out of range")]
    public void Unusable_records_are_rejected_with_a_reason(string json, string expectedReason)
    {
        var (ok, _, reason) = Parse(json);
        Assert.False(ok);
        Assert.Contains(expectedReason, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_is_rejected_not_thrown()
    {
        var bytes = Encoding.UTF8.GetBytes(Events.ApiCall().Line());
        bytes[20] = 0xff;
        Assert.False(EventParser.TryParse(bytes, out _, out var reason));
        Assert.NotNull(reason);
    }

    [Fact]
    public void Event_without_any_id_is_identified_by_its_content()
    {
        const string json = "{\"detail-type\":\"Custom\",\"source\":\"my.app\",\"account\":\"123456789012\",\"time\":\"2024-01-01T00:00:00Z\",\"detail\":{}}";
        var (_, a, _) = Parse(json);
        var (_, b, _) = Parse(json);
        Assert.StartsWith("content:", a!.Id, StringComparison.Ordinal);
        Assert.Equal(a.Id, b!.Id);
    }

    [Theory]
    [InlineData("Root", null, null, "root")]
    [InlineData("IAMUser", "alice", null, "user/alice")]
    [InlineData("AWSService", null, "ec2.amazonaws.com", "service/ec2.amazonaws.com")]
    public void Principals_get_short_readable_names(string type, string? userName, string? invokedBy, string expected)
    {
        var identity = new JsonObject { ["type"] = type, ["userName"] = userName, ["invokedBy"] = invokedBy, ["arn"] = "arn:aws:iam::123456789012:root" };
        var (_, evt, _) = Parse(Events.ApiCall(identity: identity).Line());
        Assert.Equal(expected, evt!.Principal);
    }

    [Fact]
    public void Identity_center_sessions_and_users_are_read_as_people()
    {
        var (_, sso, _) = Parse(Events.ApiCall(roleName: "AWSReservedSSO_AdministratorAccess_5f1e2d3c4b5a6978", session: "alice@example.com").Line());
        Assert.Equal("alice@example.com via AdministratorAccess", sso!.Principal);
        Assert.True(sso.CloudTrail!.Identity.IsPerson);

        var user = JsonNode.Parse("""{"type":"IdentityCenterUser","accountId":"123456789012","onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4","identityStoreArn":"arn:aws:identitystore::123456789012:identitystore/d-1234567890"}}""")!.AsObject();
        var (_, portal, _) = Parse(Events.ApiCall(identity: user).Line());
        Assert.Equal("94482488-3041-7026-18f3-be45837cd0e4 via Identity Center", portal!.Principal);
    }

    [Fact]
    public void World_open_ingress_and_public_policies_are_noticed()
    {
        var ingress = JsonNode.Parse("""{"groupId":"sg-1","ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]},"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]}}""")!.AsObject();
        var (_, sg, _) = Parse(Events.ApiCall(eventName: "AuthorizeSecurityGroupIngress", requestParameters: ingress).Line());
        Assert.Equal(["0.0.0.0/0", "::/0"], sg!.CloudTrail!.Facts.IngressRanges);
        Assert.Equal("sg-1", sg.CloudTrail.Target);

        // A policy passed as a JSON string inside the request, as SQS and KMS do.
        var policy = new JsonObject { ["policy"] = """{"Statement":[{"Effect":"Allow","Principal": {"AWS": "*"},"Action":"kms:*"}]}""" };
        var (_, key, _) = Parse(Events.ApiCall(eventName: "PutKeyPolicy", eventSource: "kms.amazonaws.com", requestParameters: policy).Line());
        Assert.True(key!.CloudTrail!.Facts.GrantsToEveryone);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_request_reads_the_same_whether_the_event_name_comes_before_or_after_it(bool nameFirst)
    {
        // Read in the record's one pass when the name came first (CloudTrail's order), else once the name is known.
        const string request = """
            "requestParameters":{"keyId":"k-1","policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\"}]}","rule":{"cidrIp":"0.0.0.0/0"}}
            """;
        const string name = "\"eventName\":\"PutKeyPolicy\"";
        string record = "{" + (nameFirst ? name + "," + request : request + "," + name) +
            ""","eventSource":"kms.amazonaws.com","eventTime":"2026-11-02T10:00:00Z","awsRegion":"eu-west-1","recipientAccountId":"123456789012","eventID":"e-1","userIdentity":{"type":"Root"}}""";

        var (ok, evt, reason) = Parse(record);

        Assert.True(ok, reason);
        Assert.Equal("k-1", evt!.CloudTrail!.Target);
        Assert.True(evt.CloudTrail.Facts.GrantsToEveryone);
        Assert.Equal(["0.0.0.0/0"], evt.CloudTrail.Facts.IngressRanges);
    }

    [Fact]
    public void A_later_duplicate_event_name_decides_whether_the_request_is_searched_for_policies()
    {
        // The pass read the request for "PutKeyPolicy" (policies searched); the last "eventName" wins, and for it they are not.
        const string record = """
            {"eventName":"PutKeyPolicy","requestParameters":{"keyId":"k-1","policy":"{\"Statement\":[{\"Principal\":\"*\"}]}"},"eventName":"DescribeKey","eventSource":"kms.amazonaws.com","eventTime":"2026-11-02T10:00:00Z","awsRegion":"eu-west-1","recipientAccountId":"123456789012","eventID":"e-1","userIdentity":{"type":"Root"}}
            """;

        var (ok, evt, reason) = Parse(record);

        Assert.True(ok, reason);
        Assert.Equal("DescribeKey", evt!.CloudTrail!.EventName);
        Assert.False(evt.CloudTrail.Facts.GrantsToEveryone);
        Assert.Equal("k-1", evt.CloudTrail.Target);
    }

    [Theory]
    [InlineData("\\u002A", true)]   // "*", escaped: still everyone
    [InlineData("\\u002A\\u002A", false)] // "**": no principal
    public void An_escaped_principal_is_read_as_what_it_says(string principal, bool everyone)
    {
        string record = """
            {"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"b","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"PRINCIPAL"}]}},"eventSource":"s3.amazonaws.com","eventTime":"2026-11-02T10:00:00Z","awsRegion":"eu-west-1","recipientAccountId":"123456789012","eventID":"e-1","userIdentity":{"type":"Root"}}
            """.Replace("PRINCIPAL", principal, StringComparison.Ordinal);

        var (ok, evt, reason) = Parse(record);

        Assert.True(ok, reason);
        Assert.Equal(everyone, evt!.CloudTrail!.Facts.GrantsToEveryone);
    }
}
