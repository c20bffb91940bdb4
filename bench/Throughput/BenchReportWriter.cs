using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pipeline.Bench.Throughput;

/// <summary>Prints a <see cref="BenchReport"/> as a table for people or as one JSON object for scripts.</summary>
internal static class BenchReportWriter
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Text(BenchReport report)
    {
        var env = report.Environment;
        var sb = new StringBuilder();
        sb.AppendLine(Invariant, $"pipeline bench, {env.StartedAt:yyyy-MM-dd HH:mm} UTC: {env.Processors} cores, {env.Cpu}, {env.Runtime}, {env.Os}, {env.Configuration} build{(env.ServerGc ? ", server GC" : "")}");
        sb.AppendLine(Invariant, $"corpus: {report.Corpus}, {report.CorpusLines:N0} lines");
        sb.AppendLine(Invariant, $"command: {report.Command}");
        if (env.Configuration != "Release") sb.AppendLine("warning: a Debug build; run with -c Release for figures worth comparing.");

        var throughput = report.Results.Where(r => r.Seconds is not null && r.Measures.Count == 0).ToList();
        if (throughput.Count > 0)
        {
            sb.AppendLine();
            Table(sb, ["benchmark", "events", "seconds", "events/s", "MB/s", "× parse", "target", "what"],
                throughput.Select(r => new[]
                {
                    r.Benchmark, N(r.Count), F(r.Seconds, "N2"), F(r.EventsPerSecond, "N0"), F(r.MegabytesPerSecond, "N1"),
                    F(r.Ratio, "N2"), TargetText(r), r.What + (r.Note is null ? "" : $" [{r.Note}]"),
                }).ToList());
        }

        var memory = report.Results.Where(r => r.Measures.Count > 0).ToList();
        if (memory.Count > 0)
        {
            sb.AppendLine();
            Table(sb, ["benchmark", "count", "figures", "target", "what"],
                memory.Select(r => new[]
                {
                    r.Benchmark, N(r.Count),
                    string.Join(", ", r.Measures.Select(m => $"{m.Key} {m.Value.ToString(m.Value >= 100 ? "N0" : "N1", Invariant)}")) +
                        (r.Seconds is { } s ? $", {s.ToString("N1", Invariant)} s" : ""),
                    TargetText(r), r.What + (r.Note is null ? "" : $" [{r.Note}]"),
                }).ToList());
        }
        return sb.ToString();
    }

    public static string Json(BenchReport report)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            var env = report.Environment;
            w.WriteStartObject();
            w.WriteStartObject("machine");
            w.WriteNumber("processors", env.Processors);
            w.WriteString("cpu", env.Cpu);
            w.WriteString("os", env.Os);
            w.WriteString("runtime", env.Runtime);
            w.WriteString("configuration", env.Configuration);
            w.WriteBoolean("serverGc", env.ServerGc);
            w.WriteString("startedAt", env.StartedAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Invariant));
            w.WriteEndObject();
            w.WriteString("corpus", report.Corpus);
            w.WriteNumber("corpusLines", report.CorpusLines);
            w.WriteString("command", report.Command);
            w.WriteStartArray("results");
            foreach (var r in report.Results)
            {
                w.WriteStartObject();
                w.WriteString("benchmark", r.Benchmark);
                w.WriteString("what", r.What);
                w.WriteNumber("count", r.Count);
                if (r.Seconds is { } s) w.WriteNumber("seconds", Math.Round(s, 4));
                if (r.Bytes is { } b) w.WriteNumber("bytes", b);
                if (r.EventsPerSecond is { } eps) w.WriteNumber("eventsPerSecond", Math.Round(eps));
                if (r.MegabytesPerSecond is { } mbps) w.WriteNumber("megabytesPerSecond", Math.Round(mbps, 2));
                if (r.Ratio is { } ratio) w.WriteNumber("ratioToBaseline", Math.Round(ratio, 3));
                foreach (var (name, value) in r.Measures) w.WriteNumber(name, Math.Round(value, 2));
                if (r.Target is not null) w.WriteString("target", r.Target);
                if (r.TargetMet is { } met) w.WriteBoolean("targetMet", met);
                if (r.Note is not null) w.WriteString("note", r.Note);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string TargetText(BenchResult r) =>
        r.Target is null ? "" : $"{r.Target} {(r.TargetMet == true ? "met" : "MISSED")}";

    private static string N(long n) => n.ToString("N0", Invariant);

    private static string F(double? value, string format) => value?.ToString(format, Invariant) ?? "";

    private static void Table(StringBuilder sb, string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        void Line(string[] cells)
        {
            for (int i = 0; i < cells.Length; i++)
            {
                bool numeric = i > 0 && i < cells.Length - 2 && (header[i] != "figures");
                var cell = numeric ? cells[i].PadLeft(widths[i]) : (i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i]));
                sb.Append(cell);
                if (i < cells.Length - 1) sb.Append("  ");
            }
            sb.AppendLine();
        }
        Line(header);
        Line([.. widths.Select((w, i) => new string('-', i == widths.Length - 1 ? header[i].Length : w))]);
        foreach (var row in rows) Line(row);
    }
}
