using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.TestSupport;
using Pipeline.TestSupport.Browser;

namespace Pipeline.Tests.Preview;

/// <summary>
/// The two pages a reader opens in a browser — `--format html` and `tune --html` — opened in headless Chromium:
/// what is on them, that caller text stays text there, and that they ask the network for nothing.
/// </summary>
public sealed partial class PreviewPagesInChromiumTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("preview-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public async Task The_demo_page_shows_every_message_riskiest_first_and_the_summary_in_chromium()
    {
        var page = await RunAsync(["demo", "--format", "html"], "demo.html");
        var json = await PipelineProcess.RunAsync(["demo", "--format", "json"]);
        var summary = JsonDocument.Parse(json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;

        var dom = await HeadlessChromium.DumpDomAsync(page);

        // One article per Slack message the run posts: the JSON summary counts them too.
        Assert.Equal(summary.GetProperty("messages").GetInt32(), Article().Matches(dom).Count);
        var classes = Article().Matches(dom).Select(m => m.Groups[1].Value).ToList();
        Assert.StartsWith("message alert risky critical", classes[0], StringComparison.Ordinal);
        int firstCalm = classes.FindIndex(c => !c.Contains("risky", StringComparison.Ordinal));
        Assert.True(firstCalm < 0 || classes.Skip(firstCalm).All(c => !c.Contains("risky", StringComparison.Ordinal)), "a risky message after a calm one: " + string.Join(" | ", classes));
        Assert.Contains("CRITICAL: StopLogging in sandbox-dev (555555555555)", dom, StringComparison.Ordinal);
        Assert.Contains("<b>CRITICAL</b>", dom, StringComparison.Ordinal); // mrkdwn drawn, not shown as *CRITICAL*
        Assert.Contains("<code>user/ci-deploy</code>", dom, StringComparison.Ordinal);
        Assert.Contains("<h2>Run summary</h2>", dom, StringComparison.Ordinal);
        Assert.Matches(@"received \d+ = rejected \d+ \+ duplicates \d+ \+ muted \d+ \+ digested \d+", dom);
        Assert.DoesNotContain("<script", dom, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Hostile_text_stays_text_on_the_page_and_the_page_requests_nothing()
    {
        var (listener, port) = LoopbackHttp.StartOnFreePort();
        int requests = 0;
        using var stop = new CancellationTokenSource();
        var serving = LoopbackHttp.AcceptLoopAsync(listener, ctx => { Interlocked.Increment(ref requests); ctx.Response.Close(); return Task.CompletedTask; }, stop.Token);
        try
        {
            string beacon = $"http://127.0.0.1:{port}";
            var hostile = $"<img src=\"{beacon}/img\"><script>fetch('{beacon}/js')</script><style>@import '{beacon}/css';</style>";
            var events = PathOf("hostile.jsonl");
            // A refused call's error message is shown as it came (in a code span): the attacker's text reaches the page.
            var refused = Events.ApiCall(account: "111122223333", time: Events.T0.AddSeconds(5), errorCode: "AccessDenied");
            refused["detail"]!["errorMessage"] = hostile;
            await File.WriteAllTextAsync(events, Events.JsonLines([
                Events.ApiCall(account: "111122223333", eventName: "StopLogging", eventSource: "cloudtrail.amazonaws.com", session: hostile),
                refused,
            ]));
            var accounts = PathOf("accounts.csv");
            await File.WriteAllTextAsync(accounts, $"111122223333,\"<iframe src='{beacon}/frame'></iframe> prod\"\n");

            var page = await RunAsync(["digest", "-i", events, "--accounts", accounts, "--format", "html"], "hostile.html");
            var dom = await HeadlessChromium.DumpDomAsync(page);

            Assert.Equal(0, Volatile.Read(ref requests));
            Assert.DoesNotContain("<img", dom, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<iframe", dom, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<script", dom, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("&lt;img src=", dom, StringComparison.Ordinal); // shown, as Slack shows it
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
        }
    }

    [Fact]
    public async Task The_tune_report_draws_one_line_per_setting_and_marks_the_suggestion_in_chromium()
    {
        var report = PathOf("tune.html");
        var result = await PipelineProcess.RunAsync(["tune", "-i", Path.Combine(SharedCorpus.RepositoryRoot, "samples/demo/org-events.jsonl"), "--gaps", "30s,2m,5m", "--html", report, "--no-progress"]);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("gap  max-window", result.Stdout, StringComparison.Ordinal); // the terminal table is still printed

        var dom = await HeadlessChromium.DumpDomAsync(report);

        Assert.Equal(3, Regex.Matches(dom, "<polyline class=\"series").Count);
        Assert.Single(Regex.Matches(dom, "<polyline class=\"series suggested\""));
        Assert.Equal(3, Regex.Matches(dom, "<rect class=\"p95").Count);
        Assert.Matches("Suggested: <b>gap (30s|2m|5m) · max 15m · lateness 5m</b>", dom);
        Assert.Single(Regex.Matches(dom, "<tr class=\"suggested\">"));
        Assert.DoesNotContain("<script", dom, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Chromium_takes_screenshots_of_both_pages()
    {
        var page = await RunAsync(["demo", "--format", "html"], "demo.html");
        var report = PathOf("tune.html");
        Assert.Equal(0, (await PipelineProcess.RunAsync(["tune", "-i", Path.Combine(SharedCorpus.RepositoryRoot, "samples/demo/org-events.jsonl"), "--gaps", "30s,2m,5m", "--html", report, "--no-progress"])).ExitCode);
        foreach (var (html, png) in new[] { (page, PathOf("demo.png")), (report, PathOf("tune.png")) })
        {
            await HeadlessChromium.ScreenshotAsync(html, png, 1000, 1400);
            var bytes = await File.ReadAllBytesAsync(png);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
            Assert.Equal(1000, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4))); // the IHDR width
            Assert.True(bytes.Length > 20_000, $"a {bytes.Length}-byte screenshot is too small to show the page");
        }
    }

    private async Task<string> RunAsync(string[] args, string name)
    {
        var result = await PipelineProcess.RunAsync(args);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        var page = PathOf(name);
        await File.WriteAllTextAsync(page, result.Stdout);
        return page;
    }

    [GeneratedRegex("<article class=\"([^\"]*)\"")]
    private static partial Regex Article();
}
