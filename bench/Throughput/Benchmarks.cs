using System.Diagnostics;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Text;
using System.Text.Json;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Delivery;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Processing;
using Pipeline.Aggregator.Rendering;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Tuning;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Muting;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Reading;

namespace Pipeline.Bench.Throughput;

/// <summary>What one `pipeline bench` run measures, validated before anything is generated.</summary>
internal sealed record BenchOptions
{
    public static readonly IReadOnlyList<string> Names = ["e2e", "stages", "gzip", "parse", "mute", "dedupe", "memory", "tune"];

    /// <summary>Events of the end-to-end run; the memory and tune runs compare a tenth of this with all of it.</summary>
    public long Events { get; init; } = 1_000_000;
    public IReadOnlySet<string> Only { get; init; } = Names.ToHashSet(StringComparer.Ordinal);
    /// <summary>Timed runs of each throughput measurement; the best is kept (the others are noise from a shared machine).</summary>
    public int Repeat { get; init; } = 2;
    public string? CorpusFolder { get; init; }
    public string TempFolder { get; init; } = Path.GetTempPath();

    public void Validate()
    {
        if (Events < 100) throw new ArgumentException($"--events must be at least 100 (got {Events}).");
        if (Repeat is < 1 or > 20) throw new ArgumentException($"--repeat must be 1–20 (got {Repeat}).");
        foreach (var name in Only)
            if (!Names.Contains(name)) throw new ArgumentException($"--only '{name}' is not a benchmark: use {string.Join(", ", Names)}.");
    }
}

/// <summary>
/// The benchmarks of `pipeline bench`. Each throughput figure is paired with a baseline measured in the same
/// run over the same bytes: <c>JsonDocument.Parse</c> of every line, the floor any JSON consumer pays.
/// </summary>
internal sealed class Benchmarks(BenchOptions options, BenchCorpus corpus, TextWriter log)
{
    // Issue 14's: a replay at least as fast as a DOM parse of the same bytes (the first plan asked for half of it).
    private const double EndToEndTarget = 1.0;
    private const double BytesPerIdTarget = 64;
    private const double FlatMemoryTarget = 1.5;

    public List<BenchResult> Run(CancellationToken cancellationToken)
    {
        var results = new List<BenchResult>();
        if (options.Only.Contains("e2e") || options.Only.Contains("stages")) results.AddRange(EndToEnd(cancellationToken));
        if (options.Only.Contains("gzip")) results.AddRange(CloudTrailFiles(cancellationToken));
        if (options.Only.Contains("parse")) results.AddRange(ParseOnly(cancellationToken));
        if (options.Only.Contains("mute")) results.AddRange(MuteRules(cancellationToken));
        if (options.Only.Contains("dedupe")) results.Add(DedupeMemory());
        if (options.Only.Contains("memory")) results.AddRange(PeakMemory(cancellationToken));
        if (options.Only.Contains("tune")) results.AddRange(TuneMemory(cancellationToken));
        return results;
    }

    // ---- 1. end to end -------------------------------------------------------------------------

    private IEnumerable<BenchResult> EndToEnd(CancellationToken cancellationToken)
    {
        var file = Path.Combine(options.TempFolder, $"pipeline-bench-{Environment.ProcessId}.jsonl");
        try
        {
            var clock = Stopwatch.StartNew();
            long bytes;
            using (var output = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                bytes = new EventReplicator(corpus.Lines).WriteTo(output, options.Events);
            log.WriteLine($"generated {options.Events:N0} events ({bytes / 1e6:N0} MB) in {clock.Elapsed.TotalSeconds:N1} s: {file}");

            // Warm-up: JIT and tiering on a small input, so the timed runs measure steady state.
            var warm = Path.Combine(options.TempFolder, $"pipeline-bench-{Environment.ProcessId}-warmup.jsonl");
            using (var output = File.Create(warm))
                new EventReplicator(corpus.Lines, seed: 7).WriteTo(output, Math.Min(options.Events, 50_000));
            ParseBaseline(warm);
            RunPipeline(warm, cancellationToken);
            File.Delete(warm);

            Measured<long> baseline = default;
            Measured<RunSummary> pipeline = default;
            RunSummary? summary = null;
            for (int i = 0; i < options.Repeat; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var b = Measure(() => ParseBaseline(file));
                if (i == 0 || b.Seconds < baseline.Seconds) baseline = b;
                log.WriteLine($"  baseline run {i + 1}: {b.Seconds:N2} s ({b.Result:N0} lines)");
                if (!options.Only.Contains("e2e")) break;
                var p = Measure(() => RunPipeline(file, cancellationToken));
                if (i == 0 || p.Seconds < pipeline.Seconds) pipeline = p;
                summary = p.Result;
                log.WriteLine($"  end-to-end run {i + 1}: {p.Seconds:N2} s");
            }

            var rows = new List<BenchResult>
            {
                new("baseline", "JsonDocument.Parse per line (read, parse, dispose)", options.Events)
                {
                    Seconds = baseline.Seconds, Bytes = bytes, Ratio = 1.0, Note = $"{baseline.Cpu}; {baseline.Allocations(options.Events)}",
                },
            };
            if (summary is not null)
            {
                var ratio = baseline.Seconds / pipeline.Seconds;
                rows.Add(new BenchResult("e2e", "read → parse (a batch ahead, on its own task) → dedupe → name → bursts → roll-ups → JSON", options.Events)
                {
                    Seconds = pipeline.Seconds, Bytes = bytes, Ratio = ratio,
                    Target = $"≥ {EndToEndTarget:0.0#} × baseline", TargetMet = ratio >= EndToEndTarget,
                    Note = RunNote(pipeline, options.Events),
                });
            }
            if (options.Only.Contains("stages"))
                rows.AddRange(Stages(file, bytes, baseline.Seconds, cancellationToken));
            return rows;
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Where the end-to-end time goes: each row runs one more stage of the pipeline over the same file,
    /// the last without Rx, so the differences between rows are the stages' costs (a profile anyone can rerun).
    /// </summary>
    private IEnumerable<BenchResult> Stages(string file, long bytes, double baselineSeconds, CancellationToken cancellationToken)
    {
        var stages = new (string Name, string What, Func<long> Run)[]
        {
            ("read", "RecordReader: lines as records", () => RecordReader.ReadFiles([file], transient: true).LongCount()),
            ("+parse", "… + EventParser.TryParse (envelope for bare records)", () =>
            {
                long n = 0;
                foreach (var record in RecordReader.ReadFiles([file], transient: true))
                {
                    if (EventParser.TryParse(record.Data, out var parsed, out _)) parsed!.Dispose();
                    n++;
                }
                return n;
            }),
            ("+dedupe", "… + dedupe (Enricher.Classify, no mute rules)", () =>
            {
                var enricher = new Enricher.Enrichment.Enricher(new EnricherOptions(), WarmDirectory);
                long n = 0;
                foreach (var record in RecordReader.ReadFiles([file], transient: true))
                {
                    enricher.Classify(record);
                    n++;
                }
                return n;
            }),
            ("+bursts", "… + names, bursts, JSON digests, without Rx", () => RunWithoutRx(file)),
        };
        foreach (var (name, what, run) in stages)
        {
            cancellationToken.ThrowIfCancellationRequested();
            run(); // warm
            var m = Measure(run);
            log.WriteLine($"  stage {name}: {m.Seconds:N2} s");
            yield return new BenchResult($"stage {name}", what, m.Result)
            {
                Seconds = m.Seconds, Bytes = bytes, Ratio = baselineSeconds / m.Seconds, Note = m.Allocations(m.Result),
            };
        }
    }

    /// <summary>
    /// The same events as CloudTrail's own S3 files (<see cref="CloudTrailExport"/>): what reading them costs, and the
    /// run of e2e over them, each against the standard way to read such a file (decompress it, build a DOM of it)
    /// measured in the same run. Alternating runs, the best of each kept, as e2e's.
    /// </summary>
    private IEnumerable<BenchResult> CloudTrailFiles(CancellationToken cancellationToken)
    {
        var folder = Path.Combine(options.TempFolder, $"pipeline-bench-{Environment.ProcessId}-cloudtrail");
        try
        {
            var clock = Stopwatch.StartNew();
            var export = CloudTrailExport.Write(new EventReplicator(corpus.Lines), options.Events, folder, cancellationToken);
            log.WriteLine($"wrote {export.Records:N0} records as {export.Files.Count:N0} CloudTrail files ({export.GzipBytes / 1e6:N0} MB gzipped, " +
                $"{export.JsonBytes / 1e6:N0} MB of JSON) in {clock.Elapsed.TotalSeconds:N1} s: {folder}");

            // Warm-up, as e2e's: the first few files through each path.
            var warm = export.Files.Take(50).ToList();
            foreach (var f in warm) CloudTrailExport.ParseWithDom(f);
            RunPipeline(RecordReader.ReadFiles(warm, transient: true), cancellationToken);

            Measured<long> baseline = default, read = default;
            Measured<RunSummary> pipeline = default;
            for (int i = 0; i < options.Repeat; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var b = Measure(() => export.Files.Sum(f =>
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return (long)CloudTrailExport.ParseWithDom(f);
                }));
                if (i == 0 || b.Seconds < baseline.Seconds) baseline = b;
                var r = Measure(() => RecordReader.ReadFiles(export.Files, transient: true).LongCount());
                if (i == 0 || r.Seconds < read.Seconds) read = r;
                var p = Measure(() => RunPipeline(RecordReader.ReadFiles(export.Files, transient: true), cancellationToken));
                if (i == 0 || p.Seconds < pipeline.Seconds) pipeline = p;
                log.WriteLine($"  gzip run {i + 1}: baseline {b.Seconds:N2} s, read {r.Seconds:N2} s, end to end {p.Seconds:N2} s");
            }
            if (baseline.Result != export.Records || read.Result != export.Records)
                throw new InvalidOperationException($"the CloudTrail files hold {export.Records:N0} records, but the DOM found {baseline.Result:N0} and the reader {read.Result:N0}");

            string leftOut = export.LeftOut > 0 ? $"; {export.LeftOut:N0} generated lines that are not JSON left out" : "";
            return
            [
                new("gzip-baseline", $"CloudTrail's S3 files ({CloudTrailExport.RecordsPerFile:N0} records each, gzipped): decompress, JsonDocument.Parse each file", export.Records)
                {
                    Seconds = baseline.Seconds, Bytes = export.JsonBytes, Ratio = 1.0,
                    Note = $"{export.Files.Count:N0} files, {export.GzipBytes / 1e6:N0} MB stored{leftOut}; {baseline.Cpu}; {baseline.Allocations(export.Records)}",
                },
                new("gzip-read", "RecordReader: the same files decompressed and split into records", export.Records)
                {
                    Seconds = read.Seconds, Bytes = export.JsonBytes, Ratio = baseline.Seconds / read.Seconds,
                    Note = $"{read.Cpu}; {read.Allocations(export.Records)}",
                },
                new("gzip-e2e", "e2e over the same files: read → parse (a batch ahead) → dedupe → name → bursts → roll-ups → JSON", export.Records)
                {
                    Seconds = pipeline.Seconds, Bytes = export.JsonBytes, Ratio = baseline.Seconds / pipeline.Seconds,
                    Note = RunNote(pipeline, export.Records),
                },
            ];
        }
        finally
        {
            try
            {
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
            catch (IOException e)
            {
                // Not over the error that got here, if one did: say what is left behind instead.
                log.WriteLine($"could not delete {folder}: {e.Message}");
            }
        }
    }

    /// <summary>What a pipeline run made and cost: the same words for e2e and gzip-e2e, which the benchmark's tests compare.</summary>
    private static string RunNote(Measured<RunSummary> run, long events)
    {
        var summary = run.Result;
        return $"{summary.Digests:N0} digests, {summary.Rollups:N0} roll-ups, {summary.Messages:N0} messages; rejected {summary.Rejected:N0}, duplicates {summary.Duplicates:N0}, digested {summary.Digested:N0}; " +
            $"{run.CpuOfCallingThread("the core's thread")}; {run.Allocations(events)}";
    }

    /// <summary>The core driven in a plain loop, a naming batch at a time: what the pipeline costs with no Rx operators at all.</summary>
    private static long RunWithoutRx(string file)
    {
        var core = NewCore();
        var batch = new List<ClassifiedRecord>(100);
        long n = 0;
        foreach (var record in RecordReader.ReadFiles([file], transient: true))
        {
            batch.Add(core.Classify(record));
            n++;
            if (batch.Count == 100) Process();
        }
        Process();
        Write(core.Flush());
        return n;

        void Process()
        {
            Write(core.ProcessAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult().Digests);
            batch.Clear();
        }
    }

    /// <summary>The floor: split lines without copying, <c>JsonDocument.Parse</c> each, dispose it. Returns the lines parsed.</summary>
    internal static long ParseBaseline(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        int start = 0, end = 0;
        long lines = 0;
        while (true)
        {
            int read = stream.Read(buffer, end, buffer.Length - end);
            end += read;
            int nl;
            while ((nl = buffer.AsSpan(start, end - start).IndexOf((byte)'\n')) >= 0)
            {
                ParseOne(buffer.AsMemory(start, nl));
                lines++;
                start += nl + 1;
            }
            if (read == 0)
            {
                if (start < end) { ParseOne(buffer.AsMemory(start, end - start)); lines++; }
                return lines;
            }
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
            if (end == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        }

        static void ParseOne(ReadOnlyMemory<byte> line)
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
            }
            catch (JsonException)
            {
                // A bad line costs what it costs; the pipeline pays for it too.
            }
        }
    }

    /// <summary>
    /// What `pipeline digest --format json` runs over one file: the records read and parsed a batch ahead on a task of their
    /// own (ParseAhead), the batches pushed through the core's Rx adapter, the roll-up stage deciding what is posted (its
    /// default settings, as the command's), every notice printed as the command prints it (the JSON renderer into a
    /// buffered text writer, flushed once per batch) and discarded.
    /// </summary>
    private static RunSummary RunPipeline(string file, CancellationToken cancellationToken) =>
        RunPipeline(RecordReader.ReadFiles([file], transient: true), cancellationToken);

    internal static RunSummary RunPipeline(IEnumerable<RawRecord> records, CancellationToken cancellationToken)
    {
        var core = NewCore();
        var stage = new RollupStage(core.Options.Rollup, core.Options.Window);
        using var stdout = new StreamWriter(Stream.Null, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16);
        var printed = new WriterSink(new JsonRenderer(), stdout, flushEach: false);
        ParseAhead.Batches(records, core, cancellationToken).ToObservable(Scheduler.Immediate).Through(core)
            .ForEachAsync(batch => Print(printed, stdout, stage.Next(batch, core.Clock)), cancellationToken).GetAwaiter().GetResult();
        Print(printed, stdout, stage.Finish());
        var summary = core.Summary() with { Rollups = stage.Rollups, Messages = stage.Messages };
        if (!summary.Balanced) throw new InvalidOperationException("the benchmark run's counts do not add up");
        return summary;
    }

    private static void Write(IReadOnlyList<Notice> notices)
    {
        foreach (var notice in notices) DigestJson.Write(Stream.Null, notice);
    }

    /// <summary>A batch's notices through the sink `digest` prints with, then the one flush per batch it makes.</summary>
    private static void Print(WriterSink printed, TextWriter stdout, IReadOnlyList<Notice> notices)
    {
        foreach (var notice in notices) printed.DeliverAsync(notice, CancellationToken.None).GetAwaiter().GetResult();
        stdout.Flush();
    }

    private static DigestCore NewCore() => new(new DigestCoreOptions(), WarmDirectory);

    /// <summary>Every generated account is named (the directory is in memory: "warm").</summary>
    private static readonly FileAccountDirectory WarmDirectory = new(
        EventReplicator.AccountIds.Select((id, i) => new AccountInfo(id, $"account-{i:D3}") { Environment = i % 3 == 0 ? "prod" : "dev" }));

    // ---- 2. the parser alone -------------------------------------------------------------------

    /// <summary>
    /// <see cref="EventParser.TryParse"/> against <c>JsonDocument.Parse</c> over the same corpus lines, both in memory: the
    /// parser's own cost, with no reading and no copying (the stage rows add those).
    /// </summary>
    private IEnumerable<BenchResult> ParseOnly(CancellationToken cancellationToken)
    {
        var minimum = TimeSpan.FromSeconds(options.Events >= 100_000 ? 2 : 0.2);
        var lines = corpus.Lines;
        int Dom() { foreach (var line in lines) ParseQuietly(line); return lines.Count; }
        int Ours()
        {
            foreach (var line in lines)
                if (EventParser.TryParse(line, out var parsed, out _)) parsed!.Dispose();
            return lines.Count;
        }
        // The floor of any parser that validates every byte as JSON with the framework's reader: each token read, none kept.
        int Tokens() { foreach (var line in lines) ReadEveryToken(line); return lines.Count; }
        // The parser's own reader checking each line in one skip, nothing kept: the least this parser can pay.
        int Skip() { foreach (var line in lines) SkipWholeLine(line); return lines.Count; }
        TimedLoop(Dom, TimeSpan.FromSeconds(0.2));
        TimedLoop(Ours, TimeSpan.FromSeconds(0.2));
        TimedLoop(Tokens, TimeSpan.FromSeconds(0.2));
        TimedLoop(Skip, TimeSpan.FromSeconds(0.2));
        cancellationToken.ThrowIfCancellationRequested();
        var dom = MeasureLoop(Dom, minimum);
        var ours = MeasureLoop(Ours, minimum);
        var tokens = MeasureLoop(Tokens, minimum);
        var skip = MeasureLoop(Skip, minimum);
        double bytesPerLine = corpus.Bytes / (double)lines.Count;
        return
        [
            new("parse-baseline", $"JsonDocument.Parse of the {lines.Count:N0} corpus lines, in memory", dom.Events)
            {
                Seconds = dom.Seconds, Bytes = (long)(bytesPerLine * dom.Events), Ratio = 1.0, Note = dom.Allocations,
            },
            new("parse", "EventParser.TryParse of the same lines (one JsonCursor pass, OrgEvent out)", ours.Events)
            {
                Seconds = ours.Seconds, Bytes = (long)(bytesPerLine * ours.Events),
                Ratio = ours.Events / ours.Seconds / (dom.Events / dom.Seconds),
                Target = "≥ 2 × baseline", TargetMet = ours.Events / ours.Seconds >= 2 * dom.Events / dom.Seconds,
                Note = ours.Allocations,
            },
            new("parse-tokens", "Utf8JsonReader over every token of the same lines, nothing kept: the framework reader's floor", tokens.Events)
            {
                Seconds = tokens.Seconds, Bytes = (long)(bytesPerLine * tokens.Events),
                Ratio = tokens.Events / tokens.Seconds / (dom.Events / dom.Seconds),
                Note = tokens.Allocations,
            },
            new("parse-skip", "JsonCursor (the parser's reader) checks each line in one skip, nothing kept: this parser's floor", skip.Events)
            {
                Seconds = skip.Seconds, Bytes = (long)(bytesPerLine * skip.Events),
                Ratio = skip.Events / skip.Seconds / (dom.Events / dom.Seconds),
                Note = skip.Allocations,
            },
        ];
    }

    /// <summary><see cref="TimedLoop"/> with the bytes allocated per event.</summary>
    private static (long Events, double Seconds, string Allocations) MeasureLoop(Func<int> pass, TimeSpan minimum)
    {
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var (events, seconds) = TimedLoop(pass, minimum);
        double perEvent = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)events;
        return (events, seconds, $"{perEvent:N0} bytes allocated/event");
    }

    // ---- 3. mute rules -------------------------------------------------------------------------

    private IEnumerable<BenchResult> MuteRules(CancellationToken cancellationToken)
    {
        var parsed = new List<ParsedEvent>();
        foreach (var line in corpus.Lines)
            if (EventParser.TryParse(line, out var p, out _)) parsed.Add(p!);
        try
        {
            var minimum = TimeSpan.FromSeconds(options.Events >= 100_000 ? 2 : 0.2);

            // Baseline over the same events: parse every corpus line, as often as fits in the time.
            TimedLoop(() => { foreach (var line in corpus.Lines) ParseQuietly(line); return corpus.Lines.Count; }, TimeSpan.FromSeconds(0.2));
            var (baseEvents, baseSeconds) = TimedLoop(() => { foreach (var line in corpus.Lines) ParseQuietly(line); return corpus.Lines.Count; }, minimum);
            double baseRate = baseEvents / baseSeconds;
            var rows = new List<BenchResult>
            {
                new("mute-baseline", $"JsonDocument.Parse of the {corpus.Lines.Count:N0} corpus lines", baseEvents)
                {
                    Seconds = baseSeconds, Bytes = (long)(corpus.Bytes * (baseEvents / (double)corpus.Lines.Count)), Ratio = 1.0,
                },
            };

            foreach (var count in new[] { 1, 50, 500 })
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rules = MuteRuleSet.Parse(MuteRuleGenerator.Generate(count, parsed), $"generated-{count}");
                int muted = parsed.Count(e => rules.FirstMatch(e.Envelope) is not null);
                TimedLoop(() => MatchAll(rules, parsed), TimeSpan.FromSeconds(0.2));
                var (events, seconds) = TimedLoop(() => MatchAll(rules, parsed), minimum);
                rows.Add(new BenchResult($"mute-{count}", $"{count} rule{(count == 1 ? "" : "s")} ({rules.UnindexedRuleCount} unindexed), first match per event", events)
                {
                    Seconds = seconds,
                    Ratio = events / seconds / baseRate,
                    Note = $"{muted} of {parsed.Count} events muted",
                });
            }
            return rows;
        }
        finally
        {
            foreach (var p in parsed) p.Dispose();
        }
    }

    private static int MatchAll(MuteRuleSet rules, List<ParsedEvent> events)
    {
        int hits = 0;
        foreach (var e in events)
            if (rules.FirstMatch(e.Envelope) is not null) hits++;
        Sink += hits; // kept so the JIT cannot drop the calls
        return events.Count;
    }

    private static long Sink;

    private static void ReadEveryToken(byte[] line)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            while (reader.Read()) { }
        }
        catch (JsonException)
        {
        }
        Sink += reader.BytesConsumed; // kept so the JIT cannot drop the loop
    }

    private static void SkipWholeLine(byte[] line)
    {
        var cursor = new JsonCursor(line, EventParser.MaxDepth);
        try
        {
            cursor.Read();
            cursor.Skip();
            cursor.Read();
        }
        catch (JsonException)
        {
        }
        Sink += cursor.BytesConsumed; // kept so the JIT cannot drop the loop
    }

    private static void ParseQuietly(byte[] line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
        }
    }

    /// <summary>Repeats <paramref name="pass"/> until <paramref name="minimum"/> has passed; returns the events it handled and the seconds.</summary>
    private static (long Events, double Seconds) TimedLoop(Func<int> pass, TimeSpan minimum)
    {
        long events = 0;
        var clock = Stopwatch.StartNew();
        do events += pass();
        while (clock.Elapsed < minimum);
        return (events, clock.Elapsed.TotalSeconds);
    }

    // ---- 4. dedupe memory ----------------------------------------------------------------------

    private BenchResult DedupeMemory()
    {
        int ids = (int)Math.Min(options.Events, 1_000_000);
        var start = DateTimeOffset.Parse("2026-11-24T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var accounts = EventReplicator.AccountIds;

        long before = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var dedupe = new Deduplicator(new DedupeOptions { Horizon = TimeSpan.FromDays(3650), MaxEntries = ids });
        Span<char> id = stackalloc char[36];
        for (int i = 0; i < ids; i++)
        {
            Guid.CreateVersion7(start.AddMilliseconds(i)).TryFormat(id, out _);
            dedupe.TryAdd(accounts[i % accounts.Count], id.ToString(), start.AddMilliseconds(i * 50));
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(dedupe);
        if (dedupe.Count != ids) throw new InvalidOperationException($"dedupe remembered {dedupe.Count} of {ids} distinct ids");

        double perId = (after - before) / (double)ids;
        return new BenchResult("dedupe", "memory kept per remembered id (GC heap after full collection)", ids)
        {
            Measures =
            [
                new("bytesPerId", perId),
                new("allocatedBytesPerId", allocated / (double)ids),
                new("retainedMB", (after - before) / 1e6),
            ],
            Target = $"≤ {BytesPerIdTarget:0} bytes/id",
            TargetMet = perId <= BytesPerIdTarget,
            Note = "allocated includes the id strings themselves, which are garbage once hashed",
        };
    }

    // ---- 5. peak memory, small vs large --------------------------------------------------------

    private IEnumerable<BenchResult> PeakMemory(CancellationToken cancellationToken) =>
        SmallAndLarge("memory", "streamed generated events end to end (generation included in the time)", cancellationToken,
            records => $"{RunPipeline(records, cancellationToken).Digests:N0} digests");

    // ---- 6. tune's memory, small vs large ------------------------------------------------------

    /// <summary>`tune`'s default settings (gaps of 30s, 1m, 2m and 5m; max window 15m; lateness 5m), as the command runs them.</summary>
    private static readonly BurstWindowOptions[] TuneSettings =
        [.. new[] { 0.5, 1, 2, 5 }.Select(gap => new BurstWindowOptions { Gap = TimeSpan.FromMinutes(gap) })];

    /// <summary>
    /// `pipeline tune` over N/10 and N streamed events: it reads its input once, a slice at a time, and keeps a few numbers
    /// per digest, so its heap must not grow with the input (until 2026-12-04 it kept every event: 0.84 GB at 1M).
    /// </summary>
    private IEnumerable<BenchResult> TuneMemory(CancellationToken cancellationToken) =>
        SmallAndLarge("tune", $"`tune` of streamed generated events, its {TuneSettings.Length} default settings at once", cancellationToken, records =>
        {
            var results = BurstTuner.MeasureAllAsync(records, WarmDirectory, null, TuneSettings, cancellationToken).GetAwaiter().GetResult();
            return $"{TuneSettings.Length} settings; {results[2].Digests:N0} digests and {results[2].Messages:N0} messages at gap 2m";
        });

    /// <summary>
    /// One run over a tenth of <see cref="BenchOptions.Events"/> generated events and one over all of them, streamed, with
    /// the peak GC heap and working set sampled: the large run's target is a peak heap at most
    /// <see cref="FlatMemoryTarget"/> times the small one's (no state kept per event).
    /// </summary>
    /// <param name="run">Runs the records and says what came out (the row's note).</param>
    private List<BenchResult> SmallAndLarge(string name, string what, CancellationToken cancellationToken, Func<IEnumerable<RawRecord>, string> run)
    {
        var sizes = new[] { Math.Max(options.Events / 10, 100), options.Events };
        var rows = new List<BenchResult>();
        foreach (var events in sizes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            long heapAtStart = GC.GetTotalMemory(false);
            using var sampler = new MemorySampler();
            var replicator = new EventReplicator(corpus.Lines);
            var clock = Stopwatch.StartNew();
            var note = run(RecordReader.ReadStream(replicator.OpenStream(events), "generated", transient: true));
            clock.Stop();
            sampler.Stop();
            log.WriteLine($"  {name} run of {events:N0} events: {clock.Elapsed.TotalSeconds:N1} s, peak heap {sampler.PeakHeap / 1e6:N0} MB");
            rows.Add(new BenchResult($"{name}-{Short(events)}", what, events)
            {
                Seconds = clock.Elapsed.TotalSeconds,
                Measures =
                [
                    new("peakHeapMB", sampler.PeakHeap / 1e6),
                    new("peakWorkingSetMB", sampler.PeakWorkingSet / 1e6),
                    new("heapAtStartMB", heapAtStart / 1e6),
                    new("gen2Collections", sampler.Gen2Collections),
                ],
                Note = note,
            });
        }
        var small = rows[0].Measures[0].Value;
        var large = rows[1].Measures[0].Value;
        rows[1] = rows[1] with
        {
            Target = $"peak heap ≤ {FlatMemoryTarget:0.0} × the {Short(sizes[0])} run's",
            TargetMet = large <= FlatMemoryTarget * small,
        };
        return rows;
    }

    internal static string Short(long n) => n switch
    {
        >= 1_000_000 when n % 1_000_000 == 0 => $"{n / 1_000_000}M",
        >= 1_000 when n % 1_000 == 0 => $"{n / 1_000}k",
        _ => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Time, allocations and collections of one run.</summary>
    private readonly record struct Measured<T>(double Seconds, T Result, long AllocatedBytes, int Gen0, int Gen1, int Gen2, TimeSpan GcPause, double CpuSeconds, double? ThreadCpuSeconds)
    {
        public string Allocations(long events) =>
            $"{AllocatedBytes / (double)events / 1024:N1} KB ({AllocatedBytes / (double)events:N0} bytes) allocated/event, GCs {Gen0}/{Gen1}/{Gen2} (gen0/1/2) pausing {GcPause.TotalSeconds:N2} s";

        /// <summary>The process's CPU time over the run: above <see cref="Seconds"/> when more than one core worked.</summary>
        public string Cpu => $"CPU {CpuSeconds:N2} s ({CoresBusy})";

        private string CoresBusy => $"{CpuSeconds / Math.Max(Seconds, 1e-9):N2} cores busy";

        /// <summary>
        /// <see cref="Cpu"/>, with the share of the thread that ran the measured code (the core's, in e2e): busy nearly
        /// all the run, it is what the run waits for, and only making its work cheaper makes the run faster.
        /// </summary>
        public string CpuOfCallingThread(string thread) => ThreadCpuSeconds is { } own
            ? $"CPU {CpuSeconds:N2} s ({CoresBusy}; {thread} {own:N2} s, busy {100 * own / Math.Max(Seconds, 1e-9):N0}% of the run)"
            : Cpu;
    }

    private static Measured<T> Measure<T>(Func<T> action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        var pause = GC.GetTotalPauseDuration();
        var cpu = Environment.CpuUsage.TotalTime;
        var threadCpu = ThreadCpu.Current();
        var clock = Stopwatch.StartNew();
        var result = action();
        var seconds = clock.Elapsed.TotalSeconds;
        return new Measured<T>(seconds, result, GC.GetTotalAllocatedBytes(precise: true) - allocated,
            GC.CollectionCount(0) - g0, GC.CollectionCount(1) - g1, GC.CollectionCount(2) - g2, GC.GetTotalPauseDuration() - pause,
            (Environment.CpuUsage.TotalTime - cpu).TotalSeconds, (ThreadCpu.Current() - threadCpu)?.TotalSeconds);
    }

    /// <summary>Samples the GC heap and the working set every 20 ms while a run goes on.</summary>
    private sealed class MemorySampler : IDisposable
    {
        private readonly Timer _timer;
        private readonly int _gen2AtStart = GC.CollectionCount(2);
        private readonly Lock _gate = new();

        public MemorySampler() => _timer = new Timer(_ => Sample(), null, 0, 20);

        public long PeakHeap { get; private set; }
        public long PeakWorkingSet { get; private set; }
        public int Gen2Collections { get; private set; }

        public void Stop()
        {
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
            Sample();
            Gen2Collections = GC.CollectionCount(2) - _gen2AtStart;
        }

        private void Sample()
        {
            lock (_gate)
            {
                PeakHeap = Math.Max(PeakHeap, GC.GetTotalMemory(false));
                PeakWorkingSet = Math.Max(PeakWorkingSet, Environment.WorkingSet);
            }
        }

        public void Dispose() => _timer.Dispose();
    }
}
