using System.Text.Json;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Emulators;
using Pipeline.TestSupport.Slack;
using Xunit.Abstractions;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>
/// Immediate alerts live: `pipeline run` follows a stream on kinesalite and posts to a Slack on loopback. A root
/// `StopLogging` early in a long burst reaches Slack within seconds, long before its burst closes, and a run killed
/// right after posting it and restarted on the same checkpoint does not post it again.
/// </summary>
public sealed class LiveAlertTests(KinesaliteFixture kinesalite, ITestOutputHelper output) : IClassFixture<KinesaliteFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("live-alert-").FullName;
    private readonly LoopbackSlackServer _slack = new();

    public void Dispose()
    {
        _slack.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [SkippableFact]
    public async Task A_critical_call_reaches_slack_within_seconds_of_its_arrival_and_is_not_posted_twice_after_a_kill()
    {
        const string account = "456789012345";
        var stream = "alert-" + Guid.NewGuid().ToString("N")[..8];
        using var client = LivePut.Client(kinesalite.Endpoint);
        await client.CreateStreamAsync(stream, 1);
        try
        {
            var checkpoint = Path.Combine(_dir, "alert.json");
            var env = new Dictionary<string, string> { ["TEST_HOOK"] = _slack.WebhookUri("#security").ToString() };
            string[] args = ["run", "--stream", stream, "--endpoint", kinesalite.Endpoint, "--checkpoint-file", checkpoint,
                "--window", "5s", "--sweep-interval", "1s", "--gap", "1m", "--lateness", "5s", "--slack-webhook", "env:TEST_HOOK",
                "--outbox", Path.Combine(_dir, "outbox"), "-f", "json"];
            using var first = LiveRun.Start(args, env);

            // A burst of an ordinary deploy with root stopping CloudTrail two seconds in: the burst stays open for its
            // gap (a minute) after its last event, the alert must not wait for that.
            var start = LivePut.Now() + TimeSpan.FromSeconds(1);
            var burst = Enumerable.Range(0, 6).Select(i => LivePut.Event(account, start + TimeSpan.FromSeconds(i))).ToList();
            var stop = LivePut.Event(account, start + TimeSpan.FromSeconds(2), "StopLogging");
            stop.Envelope["detail"]!["userIdentity"] = Events.Root(account);
            stop.Envelope["detail"]!["eventSource"] = "cloudtrail.amazonaws.com";
            await LivePut.InRealTimeAsync(client, stream, burst.Append(stop).Select(e => (e.Time, e)));
            var put = DateTimeOffset.UtcNow;

            bool Alerted() => _slack.AcceptedIn("#security").Any(m => m.Contains("CRITICAL: StopLogging"));
            Assert.True(await first.WaitUntilAsync(Alerted, TimeSpan.FromSeconds(15)), "no alert within 15 s\n" + first.Stderr);
            var seen = DateTimeOffset.UtcNow;
            output.WriteLine($"alert in Slack {(seen - put).TotalSeconds:0.0} s after the last put, {(seen - stop.Time).TotalSeconds:0.0} s after StopLogging happened");
            Assert.True(seen - stop.Time < TimeSpan.FromSeconds(15));
            Assert.DoesNotContain(first.Digests, d => d.GetProperty("account").GetString() == account); // its burst is still open

            // Killed without a chance to checkpoint: the restarted run reads the batch again and meets the ledger.
            await first.KillAsync();
            using var second = LiveRun.Start([.. args, "--until-idle"], env);
            Assert.True(await second.WaitUntilAsync(() => second.HasExited, TimeSpan.FromSeconds(60)), "the restarted run did not finish\n" + second.Stderr);
            Assert.Equal(0, second.ExitCode);

            Assert.Single(_slack.Accepted, m => m.Contains("CRITICAL: StopLogging"));
            var digest = Assert.Single(second.Digests, d => d.GetProperty("account").GetString() == account);
            Assert.Equal(7, digest.GetProperty("eventCount").GetInt32());
            Assert.Single(digest.GetProperty("alertIds").EnumerateArray());
            Assert.Single(_slack.Accepted, m => m.Contains(digest.GetProperty("digestId").GetString()!) && m.Contains("of this burst was alerted at once")); // the digest refers to it
        }
        finally
        {
            await client.DeleteStreamAsync(stream);
        }
    }
}
