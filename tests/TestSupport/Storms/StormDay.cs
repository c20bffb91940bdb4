using System.Globalization;
using System.Text.Json.Nodes;

namespace Pipeline.TestSupport.Storms;

/// <summary>
/// A generated organisation day with storms, and what a reader should get from it: how many independent changes it
/// holds (one per organisation-wide change, one per ordinary burst), whose calls a person made inside a storm account,
/// which calls are risky. Deterministic for a seed. The storms are modelled as the services run them: a StackSet
/// rolling a baseline out account after account (15 at a time, two accounts refusing a call and rolling back), Control
/// Tower enabling Config rules in 45 accounts, one GuardDuty finding type raised in 30 accounts during a scan, and
/// 95 ordinary bursts of people and per-account roles. Beside them, things that must not merge: one CI role deploying
/// two unrelated apps at once (two accounts each), a Terraform role making unrelated changes in four accounts, and a
/// root user stopping CloudTrail.
/// </summary>
public sealed class StormDay
{
    public const string StackSetRole = "stacksets-exec-9f8e7d6c5b4a39281706";
    public const string ControlTowerRole = "AWSControlTowerExecution";
    public const string FindingType = "Recon:EC2/PortProbeUnprotectedPort";
    public const string Person = "alice@example.com";
    public const string PersonShown = "alice@example.com via AdministratorAccess";

    public required IReadOnlyList<JsonObject> Events { get; init; }
    /// <summary>The accounts as `aws organizations list-accounts` prints them (the `--accounts` file format).</summary>
    public required string AccountsJson { get; init; }
    /// <summary>Changes a reader would count one by one: each storm once, every other burst once.</summary>
    public required int IndependentChanges { get; init; }
    /// <summary>The account in which the person acted during the StackSet roll-out.</summary>
    public required string PersonAccount { get; init; }
    public required IReadOnlyList<string> StackSetAccounts { get; init; }
    public required IReadOnlyList<string> RefusingAccounts { get; init; }
    public required string RootAccount { get; init; }

    public string JsonLines => string.Join('\n', Events.Select(e => e.ToJsonString())) + "\n";

    public static StormDay Generate(int seed = 13)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero);
        var accounts = Enumerable.Range(0, 80).Select(i => (100000000000L + i * 10007L).ToString(CultureInfo.InvariantCulture)).ToList();
        string Name(int i) => $"{(i % 3 == 0 ? "prod" : i % 3 == 1 ? "stage" : "dev")}-{Teams[i % Teams.Length]}-{i:00}";
        var events = new List<JsonObject>();
        int n = 0;
        JsonObject Call(string account, DateTimeOffset t, string name, string source, JsonObject identity, string? error = null, JsonObject? request = null)
        {
            var e = TestSupport.Events.ApiCall(account: account, time: t, eventName: name, eventSource: source, eventId: $"ev-{n++}",
                errorCode: error, requestParameters: request, identity: (JsonObject)identity.DeepClone()); // a node has one parent
            OrgStream.WithTime(e, t);
            events.Add(e);
            return e;
        }

        // 1. A StackSet rolling an IAM baseline out to 60 accounts, 15 at a time, each account about a minute.
        var stackSet = accounts.Take(60).ToList();
        var refusing = new[] { stackSet[17], stackSet[42] };
        var t0 = start + TimeSpan.FromHours(2);
        for (int i = 0; i < stackSet.Count; i++)
        {
            var account = stackSet[i];
            var t = t0 + TimeSpan.FromSeconds(i / 15 * 70 + (i % 15) * 4 + random.Next(0, 3));
            var role = TestSupport.Events.Role(account, StackSetRole, "CloudFormation");
            role["invokedBy"] = "cloudformation.amazonaws.com";
            Call(account, t, "CreateRole", "iam.amazonaws.com", role);
            if (refusing.Contains(account))
            {
                Call(account, t + TimeSpan.FromSeconds(6), "PutRolePolicy", "iam.amazonaws.com", role, error: "AccessDenied");
                Call(account, t + TimeSpan.FromSeconds(20), "DeleteRole", "iam.amazonaws.com", role);
                continue;
            }
            Call(account, t + TimeSpan.FromSeconds(6), "PutRolePolicy", "iam.amazonaws.com", role);
            Call(account, t + TimeSpan.FromSeconds(12), "CreatePolicy", "iam.amazonaws.com", role);
            Call(account, t + TimeSpan.FromSeconds(18), "AttachRolePolicy", "iam.amazonaws.com", role);
            Call(account, t + TimeSpan.FromSeconds(30), "TagRole", "iam.amazonaws.com", role);
        }
        // ... and a person at work in one of those accounts meanwhile: her own calls, one of them risky.
        var personAccount = stackSet[5];
        var alice = TestSupport.Events.Role(personAccount, "AWSReservedSSO_AdministratorAccess_5f1e2d3c4b5a6978", Person);
        var ta = t0 + TimeSpan.FromSeconds(10);
        Call(personAccount, ta, "DescribeSecurityGroups", "ec2.amazonaws.com", alice);
        Call(personAccount, ta + TimeSpan.FromSeconds(15), "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com", alice,
            request: new JsonObject { ["groupId"] = "sg-0a1b2c3d", ["ipPermissions"] = new JsonObject { ["items"] = new JsonArray(new JsonObject { ["ipProtocol"] = "tcp", ["fromPort"] = 22, ["toPort"] = 22, ["ipRanges"] = new JsonObject { ["items"] = new JsonArray(new JsonObject { ["cidrIp"] = "0.0.0.0/0" }) } }) } });
        Call(personAccount, ta + TimeSpan.FromSeconds(40), "RunInstances", "ec2.amazonaws.com", alice);

        // 2. Control Tower enabling Config rules in 45 accounts, one after another.
        var t1 = start + TimeSpan.FromHours(5);
        var tower = accounts.Skip(20).Take(45).ToList();
        for (int i = 0; i < tower.Count; i++)
        {
            var account = tower[i];
            var t = t1 + TimeSpan.FromSeconds(i * 25 + random.Next(0, 5));
            var role = TestSupport.Events.Role(account, ControlTowerRole, "AWSControlTowerExecution-session");
            Call(account, t, "PutConfigurationRecorder", "config.amazonaws.com", role);
            Call(account, t + TimeSpan.FromSeconds(3), "StartConfigurationRecorder", "config.amazonaws.com", role);
            for (int r = 0; r < 4; r++) Call(account, t + TimeSpan.FromSeconds(6 + r * 3), "PutConfigRule", "config.amazonaws.com", role);
        }

        // 3. One GuardDuty finding type in 30 accounts during an internet-wide scan.
        var t2 = start + TimeSpan.FromHours(8);
        foreach (var (account, i) in accounts.Skip(40).Take(30).Select((a, i) => (a, i)))
        {
            var t = t2 + TimeSpan.FromSeconds(i * 30 + random.Next(0, 20));
            var finding = new JsonObject
            {
                ["version"] = "0",
                ["id"] = $"gd-{n++}",
                ["detail-type"] = "GuardDuty Finding",
                ["source"] = "aws.guardduty",
                ["account"] = account,
                ["time"] = t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ["region"] = "eu-west-1",
                ["resources"] = new JsonArray(),
                ["detail"] = new JsonObject { ["type"] = FindingType, ["title"] = "Unprotected port on EC2 instance i-0abc is being probed.", ["severity"] = 5, ["accountId"] = account },
            };
            events.Add(finding);
        }

        // 4. Things that must not merge: one CI role deploying two unrelated apps at once, two accounts each ...
        var t3 = start + TimeSpan.FromHours(11);
        int ci = 0;
        foreach (var (account, calls) in new[]
        {
            (accounts[70], new[] { "UpdateFunctionCode", "PublishVersion", "UpdateAlias" }),
            (accounts[71], new[] { "UpdateFunctionCode", "PublishVersion", "UpdateAlias" }),
            (accounts[72], new[] { "CreateBucket", "PutBucketEncryption", "PutBucketVersioning" }),
            (accounts[73], new[] { "CreateBucket", "PutBucketEncryption", "PutBucketVersioning" }),
        })
        {
            var role = TestSupport.Events.Role(account, "github-deploy", "GitHubActions");
            for (int c = 0; c < calls.Length; c++) Call(account, t3 + TimeSpan.FromSeconds(ci * 5 + c * 4), calls[c], calls[c].Contains("Bucket") ? "s3.amazonaws.com" : "lambda.amazonaws.com", role);
            ci++;
        }
        // ... and a Terraform role making four unrelated changes in four accounts at the same time.
        string[][] terraform = [["CreateDBInstance", "AddTagsToResource"], ["CreateQueue", "SetQueueAttributes"], ["CreateTopic", "Subscribe"], ["CreateTable", "UpdateTimeToLive"]];
        for (int i = 0; i < terraform.Length; i++)
        {
            var account = accounts[74 + i];
            var role = TestSupport.Events.Role(account, "terraform-apply", "tf");
            for (int c = 0; c < terraform[i].Length; c++) Call(account, t3 + TimeSpan.FromSeconds(i * 3 + c * 6), terraform[i][c], "rds.amazonaws.com", role);
        }

        // 5. A root user stopping CloudTrail in the middle of a burst of its own.
        var rootAccount = accounts[78];
        var t4 = start + TimeSpan.FromHours(13);
        var root = TestSupport.Events.Root(rootAccount);
        Call(rootAccount, t4, "ConsoleLogin", "signin.amazonaws.com", root);
        Call(rootAccount, t4 + TimeSpan.FromSeconds(20), "StopLogging", "cloudtrail.amazonaws.com", root);
        Call(rootAccount, t4 + TimeSpan.FromSeconds(70), "DeleteTrail", "cloudtrail.amazonaws.com", root);

        // 6. 95 ordinary bursts of people and per-account roles, spread over the day, apart from the storms.
        int ordinary = 0;
        while (ordinary < 95)
        {
            var t = start + TimeSpan.FromMinutes(random.Next(0, 16 * 60));
            if (Storms.Any(s => t > start + s - TimeSpan.FromMinutes(40) && t < start + s + TimeSpan.FromMinutes(60))) continue;
            var index = random.Next(accounts.Count);
            var account = accounts[index];
            // One burst per account per 30 minutes at most, so that no two ordinary bursts of an account meet.
            if (events.Any(e => (string)e["account"]! == account && Math.Abs((DateTimeOffset.Parse((string)e["time"]!, CultureInfo.InvariantCulture) - t).TotalMinutes) < 30)) continue;
            var identity = random.Next(2) == 0
                ? TestSupport.Events.Role(account, $"app-{Teams[index % Teams.Length]}-{account[^4..]}", "worker")
                : TestSupport.Events.Role(account, "AWSReservedSSO_ReadOnly_0a1b2c3d4e5f6071", $"user{random.Next(20)}@example.com");
            int size = random.Next(2, 12);
            for (int c = 0; c < size; c++)
                Call(account, t + TimeSpan.FromSeconds(c * random.Next(2, 10)), Ordinary[random.Next(Ordinary.Length)], "ec2.amazonaws.com", identity);
            ordinary++;
        }

        var ordered = events.Select((e, i) => (e, i))
            .OrderBy(x => DateTimeOffset.Parse((string)x.e["time"]!, CultureInfo.InvariantCulture)).ThenBy(x => x.i).Select(x => x.e).ToList();
        var accountsJson = new JsonObject
        {
            ["Accounts"] = new JsonArray([.. accounts.Select((a, i) => (JsonNode)new JsonObject { ["Id"] = a, ["Name"] = Name(i), ["State"] = "ACTIVE" })]),
        };
        return new StormDay
        {
            Events = ordered,
            AccountsJson = accountsJson.ToJsonString(),
            // 3 storms, the person's own change, 4 app deploys, 4 Terraform changes, the root session, 95 ordinary bursts.
            IndependentChanges = 3 + 1 + 4 + 4 + 1 + 95,
            PersonAccount = personAccount,
            StackSetAccounts = stackSet,
            RefusingAccounts = refusing,
            RootAccount = rootAccount,
        };
    }

    private static readonly TimeSpan[] Storms = [TimeSpan.FromHours(2), TimeSpan.FromHours(5), TimeSpan.FromHours(8), TimeSpan.FromHours(11), TimeSpan.FromHours(13)];
    private static readonly string[] Teams = ["pay", "web", "data", "ml", "core", "edge", "auth"];
    private static readonly string[] Ordinary = ["RunInstances", "StopInstances", "CreateTags", "ModifyInstanceAttribute", "CreateVolume", "AttachVolume", "CreateSnapshot"];
}
