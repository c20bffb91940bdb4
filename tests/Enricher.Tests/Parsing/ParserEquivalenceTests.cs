using System.Text;
using System.Text.Json;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Tests.Parsing.Reference;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Parsing;

/// <summary>
/// The one-pass reader (<see cref="EventParser"/>) against the DOM reader it replaced (<see cref="DomEventParser"/>,
/// kept in Reference/ as the oracle): on every corpus and demo event, on thousands of mutated ones and on the shapes
/// written here for the corners (duplicates, escaped names, nested policies), both give the same event or both reject
/// the record, for the same reason.
/// </summary>
public sealed class ParserEquivalenceTests
{
    [Fact]
    public void Every_demo_event_reads_as_the_DOM_reader_read_it() => AssertSameOnAll(FuzzSeeds.Demo);

    [SkippableFact]
    public void Every_corpus_event_reads_as_the_DOM_reader_read_it() => AssertSameOnAll(FuzzSeeds.Corpus);

    [Fact]
    public void Mutated_demo_events_read_as_the_DOM_reader_read_them()
    {
        var seeds = FuzzSeeds.Demo;
        FuzzRunner.Run("parser-equivalence-demo", 3000, rng => Mutated(new Mutator(rng), seeds), input => AssertSame(input.Bytes));
    }

    [SkippableFact]
    public void Mutated_corpus_events_read_as_the_DOM_reader_read_them()
    {
        var seeds = FuzzSeeds.Corpus;
        FuzzRunner.Run("parser-equivalence-corpus", 3000, rng => Mutated(new Mutator(rng), seeds), input => AssertSame(input.Bytes));
    }

    public static TheoryData<string> Corners() =>
    [
        // duplicates: the last one wins, at every level
        """{"eventVersion":"1.08","eventName":"A","eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","userIdentity":{"type":"Root"},"userIdentity":{"type":"IAMUser","userName":"bob","sessionContext":{"sessionIssuer":{"userName":"x"}},"sessionContext":{"attributes":{"mfaAuthenticated":"True"}}}}""",
        // escaped names and values
        """{"event\u004eame":"PutBucketPolicy","eventSource":"s3.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"bucket\u004eame":"b\u00e9","policy":"{\"Statement\":[{\"Principal\":{\"AWS\":\"*\"}}]}"}}""",
        // a policy as a JSON string, a policy nested as JSON, a principal that is not everyone
        """{"eventName":"SetQueueAttributes","eventSource":"sqs.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"attributes":{"Policy":"  {\"Statement\":[{\"Principal\":\"*\"}]}"}}}""",
        """{"eventName":"PutKeyPolicy","eventSource":"kms.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"policy":{"Statement":[{"Principal":{"AWS":["arn:aws:iam::1:root","*"]}}]}}}""",
        """{"eventName":"PutKeyPolicy","eventSource":"kms.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"policy":{"Statement":[{"Principal":{"AWS":"*","AWS":"arn:aws:iam::1:root"}}]}}}""",
        """{"eventName":"AddPermission","eventSource":"lambda.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"principal":"*","functionName":"f"}}""",
        """{"eventName":"CreateStack","eventSource":"cloudformation.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"Principal":"*"}}""",
        // ingress ranges at several depths, and a range name whose value is not a string
        """{"eventName":"AuthorizeSecurityGroupIngress","eventSource":"ec2.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"},{"cidrIp":"10.0.0.0/8"}]},"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]},"cidrBlock":{"cidrIp":"1.2.3.4/32"}}}""",
        """{"eventName":"X","eventSource":"ec2.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"cidrIp":"0.0.0.0/0"},"cidrIp":"1.1.1.1/32"}}}}}}}}}""",
        // targets: an array, an array of non-strings, a later key, RunInstances' instancesSet
        """{"eventName":"DeleteUsers","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"userName":["a","b","c"],"name":"n"}}""",
        """{"eventName":"DeleteUsers","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"userName":[1,2],"roleName":7,"Name":"last"}}""",
        """{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"instancesSet":{"items":[{"imageId":"ami-1","instanceId":42}]}}}""",
        """{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"instancesSet":{"items":[{"imageId":"ami-1"}],"items":[]}}}""",
        // a target key given twice (the last value counts, and a number does not name), requestParameters given twice
        """{"eventName":"DeleteRole","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"roleName":"first","roleName":5,"userName":"u"}}""",
        """{"eventName":"DeleteRole","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"roleName":"gone","instancesSet":{"items":[{"instanceId":"i-1"}]}},"requestParameters":{"note":1,"instancesSet":{"items":[{"instanceId":"i-2"}]},"instancesSet":"not an object"}}""",
        """{"eventName":"DeleteRole","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"roleName":[],"userName":["\u0061lice","bob"],"groupName":"g"}}""",
        // an envelope with requestParameters of its own around the detail's, before and after it
        """{"requestParameters":{"roleName":"outer-before"},"version":"0","id":"e2","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2024-05-01T10:00:00Z","detail":{"eventName":"CreateRole","eventSource":"iam.amazonaws.com","requestParameters":{"roleName":"inner","policyArn":"p"}},"requestParameters":{"userName":"outer-after"}}""",
        // a request searched whole (a range name in it) whose target is found in the pass all the same
        """{"eventName":"AuthorizeSecurityGroupIngress","eventSource":"ec2.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"groupId":["sg-1","sg-2"],"ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]},"groupId":"sg-3"}}""",
        // requests with no range name, principal or escape: only their top level is read, the rest skipped whole
        """{"eventName":"TagResource","eventSource":"ec2.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"x":{"y":[1,2,{"z":"w"}],"userName":"nested"},"roleName":[{"a":1},"b"],"groupName":["g1",{"k":[]},"g3"]}}""",
        """{"eventName":"PutBucketPolicy","eventSource":"s3.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"bucketName":"b","policy":{"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]},"note":"no ranges"}}""",
        // a policy string whose JSON has a name that is no text (a lone surrogate escape): the grant beside it still counts
        """{"eventName":"PutBucketPolicy","eventSource":"s3.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"bucketName":"b","policy":"{\"Statement\":[{\"\\ud800\":1,\"Principal\":\"*\"}]}"}}""",
        """{"eventName":"SetQueueAttributes","eventSource":"sqs.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"attributes":{"Policy":"{\"Statement\":[{\"Principal\":{\"\\udc00\":1,\"AWS\":[\"\\ud800\",\"*\"]}}]}"}}}""",
        """{"eventName":"SetQueueAttributes","eventSource":"sqs.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"attributes":{"Policy":"{\"Statement\":[{\"Principal\":\"\\ud800\",\"Sid\":\"\\ud800 \\\"Principal\\\":\\\"*\\\"\"}]}"}}}""",
        // the same with a principal: searched whole, and found
        """{"eventName":"PutBucketPolicy","eventSource":"s3.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","requestParameters":{"bucketName":"b","policy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"}}]}}}""",
        // no recipientAccountId: the account from userIdentity.accountId (the identity read again, after the pass skipped it), the last one winning
        """{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","userIdentity":{"type":"IAMUser","accountId":"444455556666","sessionContext":{"attributes":{"mfaAuthenticated":"true"}},"accountId":"111122223333"}}""",
        """{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","userIdentity":{"type":"IAMUser","accountId":"444455556666"},"userIdentity":"gone"}""",
        // sign-ins: MFA and result read from their own objects
        """{"eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn","eventSource":"signin.amazonaws.com","eventTime":"2024-05-01T10:00:00Z","recipientAccountId":"111122223333","userIdentity":{"type":"Root","accountId":"111122223333"},"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}}""",
        // an envelope around a record, around a finding, with a detail that is not an object
        """{"version":"0","id":"e1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2024-05-01T10:00:00Z","detail":{"eventName":"CreateRole","eventSource":"iam.amazonaws.com","awsRegion":"eu-west-1","requestParameters":{"roleName":"r"}}}""",
        """{"version":"0","id":"g1","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2024-05-01T10:00:00Z","region":"us-east-1","detail":{"type":"Recon:EC2/PortProbeUnprotectedPort","severity":"8.5"}}""",
        """{"version":"0","id":"h1","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","account":"111122223333","time":"2024-05-01T10:00:00Z","detail":{"findings":[{"Title":"t","Severity":{"Label":"HIGH"},"GeneratorId":"g"},{"Title":"second"}],"awsRegion":"ap-south-1"}}""",
        """{"version":"0","id":"h2","detail-type":"Security Hub Findings - Imported","source":"aws.securityhub","account":"111122223333","time":"2024-05-01T10:00:00Z","detail":{"findings":["not an object"]}}""",
        """{"version":"0","id":"s1","detail-type":"Scheduled Event","source":"aws.events","account":"111122223333","time":"2024-05-01T10:00:00Z","detail":[1,2]}""",
        // bare findings
        """{"schemaVersion":"2.0","accountId":"111122223333","region":"us-east-1","id":"f1","type":"UnauthorizedAccess:IAMUser/MaliciousIPCaller","title":"t","severity":5,"updatedAt":"2024-05-01T10:00:00.123Z"}""",
        """{"SchemaVersion":"2018-10-08","AwsAccountId":"111122223333","Id":"sh1","ProductArn":"arn:aws:securityhub:eu-central-1::product/aws/guardduty","CreatedAt":"2024-05-01T10:00:00Z","Title":"t"}""",
        // rejections: not an object, not JSON, trailing text, too deep, no account, a number where a string was expected
        """[1,2]""",
        """ "text" """,
        """{"detail-type":"x" """,
        """{"eventName":"A"} {"eventName":"B"}""",
        """{"eventName":"A","requestParameters":{"a":tru}}""",
        """{"eventName":"A","eventTime":"2024-05-01T10:00:00Z"}""",
        """{"eventName":7,"eventSource":true,"eventTime":"2024-05-01T10:00:00Z","recipientAccountId":111122223333,"readOnly":"True","errorCode":0}""",
        "",
        "   ",
    ];

    [Theory]
    [MemberData(nameof(Corners))]
    public void Corner_cases_read_as_the_DOM_reader_read_them(string json) => AssertSame(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void A_record_nested_past_the_depth_limit_is_rejected_by_both()
    {
        var deep = "{\"eventName\":\"A\",\"eventTime\":\"2024-05-01T10:00:00Z\",\"recipientAccountId\":\"111122223333\",\"requestParameters\":"
            + string.Concat(Enumerable.Repeat("{\"a\":", 300)) + "1" + new string('}', 300) + "}";
        AssertSame(Encoding.UTF8.GetBytes(deep));
        Assert.False(EventParser.TryParse(Encoding.UTF8.GetBytes(deep), out _, out var reason));
        Assert.StartsWith("not valid JSON", reason, StringComparison.Ordinal);
    }

    private static void AssertSameOnAll(IReadOnlyList<byte[]> events)
    {
        Assert.NotEmpty(events);
        foreach (var line in events) AssertSame(line);
    }

    private static FuzzInput Mutated(Mutator mutator, IReadOnlyList<byte[]> seeds)
    {
        var log = new List<string>();
        return new FuzzInput(mutator.MutateEvent(mutator.Pick(seeds), log), string.Join("; ", log));
    }

    internal static void AssertSame(byte[] data)
    {
        bool domOk = DomEventParser.TryParse(data, out var dom, out var domReason);
        bool ok = EventParser.TryParse(data, out var parsed, out var reason);
        using (dom)
        using (parsed)
        {
            Assert.True(domOk == ok, $"DOM reader: {(domOk ? "accepted" : domReason)}; one-pass reader: {(ok ? "accepted" : reason)}");
            if (!ok)
            {
                // Both say the same about a record that is JSON; for one that is not, the JSON reader's words may differ.
                if (domReason!.StartsWith("not valid JSON", StringComparison.Ordinal)) Assert.StartsWith("not valid JSON", reason, StringComparison.Ordinal);
                else Assert.Equal(domReason, reason);
                return;
            }
            Assert.Equal(Describe(dom!.Event), Describe(parsed!.Event));
            Assert.Equal(dom.Envelope.GetRawText(), parsed.Envelope.GetRawText());
        }
    }

    /// <summary>The whole event as text (lists by content, not by reference), so a difference shows where it is.</summary>
    private static string Describe(OrgEvent evt) => JsonSerializer.Serialize(evt, Options);

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
}
