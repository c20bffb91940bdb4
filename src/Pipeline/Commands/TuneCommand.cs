using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Tuning;
using Pipeline.Cli.Hosting;
using Pipeline.Cli.Terminal;
using Pipeline.Enricher.Reading;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline tune`: choose a burst window from your own history. Reads and enriches the input once, replaying each
/// slice of it under every (gap, max window, lateness) setting as it goes, and prints what each would have meant.
/// </summary>
internal static class TuneCommand
{
    public static Command Create()
    {
        var input = CommonOptions.Input();
        var accounts = CommonOptions.Accounts();
        var mute = CommonOptions.Mute();
        var gaps = new Option<string>("--gaps") { Description = "Quiet gaps to compare, comma-separated.", DefaultValueFactory = _ => "30s,1m,2m,5m" };
        var maxWindows = new Option<string>("--max-windows") { Description = "Maximum burst lengths to compare, comma-separated.", DefaultValueFactory = _ => "15m" };
        var latenesses = new Option<string>("--latenesses") { Description = "Allowed lateness to compare, comma-separated: longer waits more before each digest, shorter splits bursts of late-arriving events.", DefaultValueFactory = _ => "5m" };
        var alertSeverity = CommonOptions.AlertSeverity();
        var rollupMinAccounts = CommonOptions.RollupMinAccounts();
        var rollupWindow = CommonOptions.RollupWindow();
        var format = CommonOptions.TableFormat("a table of the settings side by side.", "one {\"type\":\"tune\",…} line per setting (see docs/digests.md).");
        var html = new Option<FileInfo?>("--html") { Description = "Also write a report with charts (inline SVG, one self-contained page) to this file: Slack messages per hour for each setting, the delay to each burst's message, the largest digests, and the suggested setting." };
        var maxDelay = new Option<string>("--max-delay") { Description = "For the report's suggestion: the longest 95th-percentile delay from a burst's first event to its message you accept.", DefaultValueFactory = _ => "30m" };
        var noProgress = CommonOptions.NoProgress();
        var command = new Command("tune", "Replay events once per burst-window setting and compare digests and Slack messages per hour, delay, size and Slack rate.")
        {
            input, accounts, mute, gaps, maxWindows, latenesses, alertSeverity, rollupMinAccounts, rollupWindow, format, html, maxDelay, noProgress,
        };
        command.SetAction((parse, ct) => Cli.Guard(parse, async () =>
        {
            var report = parse.GetValue(html);
            var patience = CommonOptions.ParseDuration("--max-delay", parse.GetValue(maxDelay)!);
            var severity = CommonOptions.ParseSeverity(parse.GetValue(alertSeverity)!);
            var windows = Windows(parse.GetValue(gaps)!, parse.GetValue(maxWindows)!, parse.GetValue(latenesses)!, out var skipped)
                .Select(w => w with { AlertSeverity = severity }).ToList();
            var rollup = CommonOptions.Rollup(parse, rollupMinAccounts, rollupWindow);
            CommonOptions.Validate(rollup.Validate);
            foreach (var s in skipped) await Console.Error.WriteLineAsync($"note: skipped gap {s.Gap} with max window {s.Max} (a gap longer than the window never closes a burst).").ConfigureAwait(false);
            var inputs = InputFiles.Resolve(parse.GetValue(input)!, Console.Error);
            var directory = CommonOptions.Directory(parse, accounts, null, null);
            var mutes = CommonOptions.LoadMutes(parse.GetValue(mute));
            // The page is written after the whole replay: a path it cannot be written to is found now, not an hour later.
            await using var reportFile = report is null ? null : ReportFile.Open(report);

            // Read once, as it goes: each slice deduplicated, muted and named once (none of it depends on the window), then
            // replayed under every setting through the same core every host runs, as many settings at a time as there are
            // processors, while the next slice is read. The bar counts the bytes read, a slice ahead of the replay.
            IReadOnlyList<TuneResult> results;
            using (var progress = ProgressBar.StartIfUseful(inputs.TotalBytes, "replaying", !parse.GetValue(noProgress)))
                results = await BurstTuner.MeasureAllAsync(RecordReader.ReadFiles(inputs.Files, progress, transient: true), directory, mutes, windows, ct, rollup: rollup).ConfigureAwait(false);
            var counts = results[0].Counts;

            if (parse.GetValue(format) == OutputFormat.Json) WriteJson(results, rollup);
            else WriteTable(results, counts!.Received, counts.Digested, rollup, severity);
            if (report is not null)
            {
                var page = TuneReport.Html(results, new TuneReportContext(counts!.Received, counts.Digested, patience, RollupLine(rollup, severity), TimeProvider.System.GetUtcNow())); // the report's date: the composition root reads the clock
                await reportFile!.CommitAsync(page, ct).ConfigureAwait(false);
                await Console.Error.WriteLineAsync($"report: {report.FullName} (open it in a browser; it loads nothing from the network).").ConfigureAwait(false);
            }
            return ExitCode.Ok;
        }));
        return command;
    }

    private static readonly Dictionary<string, string> TuneFlags = new(StringComparer.Ordinal)
    {
        [nameof(BurstWindowOptions.Gap)] = "--gaps",
        [nameof(BurstWindowOptions.MaxWindow)] = "--max-windows",
        [nameof(BurstWindowOptions.Lateness)] = "--latenesses",
    };

    internal static List<BurstWindowOptions> Windows(string gaps, string maxWindows, string latenesses, out List<(string Gap, string Max)> skipped)
    {
        // A value given twice (1m,60s) is one setting: a second row of the same figures would only look like a comparison.
        var gapValues = gaps.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(g => (Text: g, Value: CommonOptions.ParseDuration("--gaps", g))).DistinctBy(g => g.Value).ToList();
        var maxValues = maxWindows.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(m => (Text: m, Value: CommonOptions.ParseDuration("--max-windows", m))).DistinctBy(m => m.Value).ToList();
        var latenessValues = latenesses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => CommonOptions.ParseDuration("--latenesses", l, allowZero: true)).Distinct().ToList();
        if (gapValues.Count == 0 || maxValues.Count == 0 || latenessValues.Count == 0) throw new UsageException("give at least one value to --gaps, --max-windows and --latenesses.");
        skipped = [];
        var windows = new List<BurstWindowOptions>();
        foreach (var max in maxValues)
            foreach (var gap in gapValues)
            {
                if (gap.Value > max.Value) { skipped.Add((gap.Text, max.Text)); continue; }
                foreach (var lateness in latenessValues) windows.Add(new BurstWindowOptions { Gap = gap.Value, MaxWindow = max.Value, Lateness = lateness });
            }
        if (windows.Count == 0) throw new UsageException("every --gaps value is longer than every --max-windows value; nothing to compare.");
        foreach (var window in windows) CommonOptions.Validate(window.Validate, TuneFlags); // before the replay, in tune's own flags
        return windows;
    }

    /// <summary>
    /// Where `--html` goes, opened before the replay so that a path that cannot take it is refused then, not after it. A
    /// file is written beside the target and renamed over it when the page is done: a run stopped half-way (Ctrl-C, an
    /// unreadable input) leaves the last page as it was and no part of a new one. A device or a pipe (<c>/dev/stdout</c>)
    /// is written to directly, and never removed.
    /// </summary>
    private sealed class ReportFile : IAsyncDisposable
    {
        private readonly string _target;
        private readonly string? _temporary;
        private readonly FileStream _stream;
        private bool _done;

        private ReportFile(string target, string? temporary, FileStream stream) => (_target, _temporary, _stream) = (target, temporary, stream);

        public static ReportFile Open(FileInfo report)
        {
            var target = report.FullName;
            bool direct = RealInputFileSystem.Instance.KindOf(target) == EntryKind.Other;
            var temporary = direct ? null : Path.Combine(Path.GetDirectoryName(target) ?? ".", "." + Path.GetFileName(target) + "." + Path.GetRandomFileName() + ".tmp");
            try
            {
                return new ReportFile(target, temporary, new FileStream(temporary ?? target, direct ? FileMode.Open : FileMode.CreateNew, FileAccess.Write, FileShare.Read));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--html cannot be written to '{Aggregator.Rendering.TextDigestRenderer.Clean(target)}': {Aggregator.Rendering.TextDigestRenderer.Clean(e.Message.TrimEnd('.'))}. Give a file in a folder that exists and you may write to.");
            }
        }

        /// <summary>Writes the page and puts it in place.</summary>
        public async Task CommitAsync(string page, CancellationToken cancellationToken)
        {
            await _stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(page), cancellationToken).ConfigureAwait(false);
            await _stream.DisposeAsync().ConfigureAwait(false);
            if (_temporary is not null) File.Move(_temporary, _target, overwrite: true);
            _done = true;
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            if (_done || _temporary is null) return;
            try
            {
                File.Delete(_temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The run's own error is the one to report; a stray hidden .tmp beside the page is harmless.
            }
        }
    }

    private static void WriteTable(IReadOnlyList<TuneResult> results, long received, long accepted, RollupOptions rollup, RiskSeverity? severity)
    {
        Console.WriteLine($"{received} records read, {accepted} digestible events (after rejects, duplicates and mutes).");
        Console.WriteLine(RollupLine(rollup, severity));
        Console.WriteLine();
        Console.WriteLine("   gap  max-window  lateness  digests  messages (roll-ups/alerts)  per hour (mean/peak)  delay median   p95  largest  late  peak msgs/min/channel");
        foreach (var r in results)
        {
            var warn = r.PeakMessagesPerMinutePerChannel > BurstTuner.SlackMessagesPerMinute ? "  over Slack's 1/s" : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Duration.Format(r.Window.Gap),6}  {Duration.Format(r.Window.MaxWindow),10}  {Duration.Format(r.Window.Lateness),8}  {r.Digests,7}  {r.Messages,8} ({r.Rollups}/{r.Alerts}){"",-8}  {r.DigestsPerHourMean,10:F1} / {r.DigestsPeakHour,-7}  {Duration.Format(Round(r.DelayMedian)),12}  {Duration.Format(Round(r.DelayP95)),5}  {r.LargestDigest,7}  {r.LateEvents,4}  {r.PeakMessagesPerMinutePerChannel,6} (Slack: {BurstTuner.SlackMessagesPerMinute}){warn}"));
        }
        Console.WriteLine();
        Console.WriteLine("messages: what Slack receives: roll-ups, alerts, and the digests no roll-up fully explains.");
        Console.WriteLine("delay: from a burst's first event to its digest, as the deployed pipeline posts it (gap or max window, plus the lateness).");
        Console.WriteLine("late: events that arrived later than the lateness allows; each may split its burst. A longer lateness waits longer before every digest.");
    }

    private static string RollupLine(RollupOptions rollup, RiskSeverity? severity) => rollup.Enabled
        ? $"roll-ups: the same change in at least {rollup.MinAccounts} accounts within --rollup-window {Duration.Format(rollup.Window)} is one message; alerts at {(severity?.ToString().ToLowerInvariant() ?? "off")}."
        : $"roll-ups: off (--rollup-min-accounts 0); alerts at {(severity?.ToString().ToLowerInvariant() ?? "off")}.";

    private static TimeSpan Round(TimeSpan t) => TimeSpan.FromSeconds(Math.Round(t.TotalSeconds));

    private static void WriteJson(IReadOnlyList<TuneResult> results, RollupOptions rollup)
    {
        using var stdout = Console.OpenStandardOutput();
        foreach (var r in results)
        {
            using (var w = new Utf8JsonWriter(stdout))
            {
                w.WriteStartObject();
                w.WriteString("type", "tune");
                w.WriteString("gap", Duration.Format(r.Window.Gap));
                w.WriteString("maxWindow", Duration.Format(r.Window.MaxWindow));
                w.WriteString("lateness", Duration.Format(r.Window.Lateness));
                w.WriteNumber("lateEvents", r.LateEvents);
                w.WriteNumber("skewedEvents", r.SkewedEvents);
                w.WriteNumber("digests", r.Digests);
                w.WriteNumber("messages", r.Messages);
                w.WriteNumber("rollups", r.Rollups);
                w.WriteNumber("alerts", r.Alerts);
                w.WriteNumber("rollupMinAccounts", rollup.MinAccounts);
                w.WriteString("rollupWindow", Duration.Format(rollup.Window));
                w.WriteNumber("digestsPerHourMean", Math.Round(r.DigestsPerHourMean, 2));
                w.WriteNumber("digestsPeakHour", r.DigestsPeakHour);
                w.WriteNumber("delayMedianSeconds", Math.Round(r.DelayMedian.TotalSeconds, 1));
                w.WriteNumber("delayP95Seconds", Math.Round(r.DelayP95.TotalSeconds, 1));
                w.WriteNumber("largestDigest", r.LargestDigest);
                w.WriteNumber("peakMessagesPerMinutePerChannel", r.PeakMessagesPerMinutePerChannel);
                w.WriteEndObject();
            }
            stdout.WriteByte((byte)'\n');
        }
    }
}
