using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Aggregator.Bursts;

namespace Pipeline.Slack.Rendering;

/// <summary>
/// Digest → one Slack message (Block Kit plus a text fallback). Pure and deterministic: the same digest always
/// gives the same bytes. Reading order follows what a security engineer asks first: whose account and when,
/// what was risky (most severe first), what failed, then who/what/where in numbers.
/// Every list is capped and every text cut so that any digest, however large, fits Slack's limits.
/// </summary>
internal static partial class SlackDigestRenderer
{
    // Lengths of caller-controlled values before escaping. Escaping can grow a value fivefold (& → &amp;),
    // and these are chosen so that even a line of fully hostile values stays under the section limit.
    private const int EventNameMax = 50;
    private const int PrincipalMax = 80;
    private const int ReasonMax = 160;
    private const int TargetMax = 80;
    private const int IpMax = 40;
    private const int ErrorCodeMax = 50;
    private const int ErrorMessageMax = 200;
    private const int RegionMax = 20;
    private const int ListKeyMax = 60;
    private const int FullTextMax = 12_000;

    private static SlackMessage RenderCounts(Digest digest, SlackRenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(digest);
        var o = (options ?? SlackRenderOptions.Default).Validate();

        var blocks = new List<SlackBlock>();
        var full = new List<string>();

        string header = Header(digest);
        blocks.Add(new SlackBlock.Header(header));
        full.Add(SlackText.BoldHeader(header));

        var summary = SummaryElements(digest);
        blocks.Add(new SlackBlock.Context(summary));
        full.Add(SlackDate.ToFallback(string.Join(" · ", summary)));

        var risky = RiskySection(digest, o);
        if (risky.Lines.Count > 0)
        {
            blocks.Add(new SlackBlock.Divider());
            blocks.AddRange(Pack(risky.Lines));
            full.AddRange(risky.Lines.Select(SlackDate.ToFallback));
        }

        var failures = FailureSection(digest, o);
        if (failures.Lines.Count > 0)
        {
            blocks.Add(new SlackBlock.Divider());
            blocks.AddRange(Pack(failures.Lines));
            full.AddRange(failures.Lines);
        }

        var fields = TopListFields(digest, o);
        if (fields.Count > 0)
        {
            blocks.Add(new SlackBlock.Divider());
            blocks.Add(new SlackBlock.Section(null, fields));
            full.AddRange(fields.Select(f => f.Replace("\n", "  ", StringComparison.Ordinal)));
        }

        var footer = FooterElements(digest, o);
        blocks.Add(new SlackBlock.Context(footer));
        full.AddRange(footer.Select(SlackDate.ToFallback));

        return new SlackMessage(NotificationText(digest), CapBlocks(blocks), JoinWithin(full, FullTextMax));
    }

    /// <summary>The payload JSON for one digest, as <c>pipeline digest --format slack</c> prints it.</summary>
    public static void WritePayload(Digest digest, Stream output, string? channel = null, bool indented = true, SlackRenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var bytes = Render(digest, options).ToPayload(channel, plainTextOnly: false, indented);
        output.Write(bytes);
    }

    /// <summary>Writes the payload of one digest with an existing writer (e.g. one element of a JSON array).</summary>
    public static void WritePayload(Digest digest, Utf8JsonWriter writer, string? channel = null, SlackRenderOptions? options = null) =>
        Render(digest, options).WritePayload(writer, channel);

    // ---- header and summary -------------------------------------------------------------------------

    private static string Header(Digest d)
    {
        string icon = SeverityIcon(d.Risky.Count > 0 ? d.Risky.Max(r => r.Severity) : null);
        string id = SlackText.Plain(d.Account, 20);
        string rest = $" · {SlackText.Count(d.EventCount)} {Plural(d.EventCount, "event")} · {Span(d.FirstEventTime, d.LastEventTime)}";
        string text = $"{icon} {id}{rest}";
        if (d.AccountName is { Length: > 0 } name)
        {
            // The account name gets whatever room the icon, id, count and span leave.
            int room = SlackLimits.MaxHeaderText - icon.Length - 1 - $" ({id})".Length - rest.Length;
            text = $"{icon} {SlackText.Plain(name, Math.Max(room, 8))} ({id}){rest}";
        }
        return SlackText.Truncate(text, SlackLimits.MaxHeaderText);
    }

    private static List<string> SummaryElements(Digest d)
    {
        var elements = new List<string>
        {
            $":clock3: {SlackDate.DateTime(d.FirstEventTime)} → {EndTime(d)} ({Duration(d.LastEventTime - d.FirstEventTime)})",
            $"*{SlackText.Count(d.RiskyCount)}* risky · *{SlackText.Count(d.ErrorCount)}* failed · *{SlackText.Count(d.ReadOnlyCount)}* read-only",
        };
        var info = d.AccountInfo;
        if (info is not null)
        {
            var parts = new List<string>();
            if (!string.IsNullOrWhiteSpace(info.Environment)) parts.Add("env " + SlackText.Code(info.Environment, 40));
            if (!string.IsNullOrWhiteSpace(info.Owner)) parts.Add("owner " + SlackText.Code(info.Owner, 60));
            if (info.State is { Length: > 0 } state && !state.Equals("ACTIVE", StringComparison.OrdinalIgnoreCase))
                parts.Add(":warning: account " + SlackText.Code(state, 30));
            if (parts.Count > 0) elements.Add(string.Join(" · ", parts));
        }
        return elements;
    }

    /// <summary>
    /// The burst's end: its time of day when it ended within the hour, as nearly every burst does (the reader has
    /// the date from its start, and the duration tells a crossed midnight); else date and time.
    /// </summary>
    private static string EndTime(Digest d) =>
        d.LastEventTime - d.FirstEventTime < TimeSpan.FromHours(1) ? SlackDate.Time(d.LastEventTime) : SlackDate.DateTime(d.LastEventTime);

    private static string NotificationText(Digest d)
    {
        var sb = new StringBuilder();
        sb.Append(d.AccountName is { Length: > 0 } ? $"{SlackText.Text(d.AccountName, 60)} ({SlackText.Text(d.Account, 20)})" : SlackText.Text(d.Account, 20));
        sb.Append(": ").Append(SlackText.Count(d.EventCount)).Append(' ').Append(Plural(d.EventCount, "event"));
        sb.Append(", ").Append(Span(d.FirstEventTime, d.LastEventTime));
        if (d.RiskyCount > 0)
        {
            sb.Append(" — ").Append(SlackText.Count(d.RiskyCount)).Append(" risky");
            if (d.Risky.Count > 0)
            {
                var top = d.Risky[0];
                sb.Append(", top: ").Append(top.Severity).Append(' ').Append(SlackText.Text(top.EventName, EventNameMax));
                if (top.Principal is not null) sb.Append(" by ").Append(SlackText.Text(top.Principal, PrincipalMax));
            }
        }
        if (d.ErrorCount > 0) sb.Append(" — ").Append(SlackText.Count(d.ErrorCount)).Append(" failed");
        return sb.ToString();
    }

    // ---- risky events and failures ------------------------------------------------------------------

    private sealed record LinesSection(List<string> Lines);

    private static LinesSection RiskySection(Digest d, SlackRenderOptions o)
    {
        var lines = new List<string>();
        int total = Math.Max(d.RiskyCount, d.Risky.Count);
        if (total == 0) return new(lines);
        int shown = Math.Min(d.Risky.Count, o.MaxRiskyShown);
        string title = $"*:rotating_light: Risky activity* — {SlackText.Count(total)}";
        if (shown < total) title += $" (the {shown} most severe shown)";
        lines.Add(title);
        foreach (var r in d.Risky.Take(shown))
        {
            var line = new StringBuilder();
            line.Append(SeverityIcon(r.Severity)).Append(" *").Append(SeverityLabel(r.Severity)).Append("* ")
                .Append(SlackText.Code(r.EventName, EventNameMax))
                .Append(" by ").Append(SlackText.Code(r.Principal, PrincipalMax))
                .Append(" · ").Append(SlackText.Text(r.Region, RegionMax))
                .Append(" · ").Append(SlackDate.Time(r.EventTime));
            line.Append("\n      ↳ ").Append(SlackText.Text(r.Reason, ReasonMax));
            if (r.Target is not null) line.Append(" · on ").Append(SlackText.Code(r.Target, TargetMax));
            if (r.SourceIp is not null) line.Append(" · from ").Append(SlackText.Code(r.SourceIp, IpMax));
            if (r.ErrorCode is not null) line.Append(" · :no_entry: attempt failed ").Append(SlackText.Code(r.ErrorCode, ErrorCodeMax));
            lines.Add(line.ToString());
        }
        if (total > shown)
            lines.Add($"_…and {SlackText.Count(total - shown)} more risky {Plural(total - shown, "event")}: open the event history below._");
        return new(lines);
    }

    private static LinesSection FailureSection(Digest d, SlackRenderOptions o)
    {
        var lines = new List<string>();
        if (d.Failures.Count == 0 || o.MaxFailuresShown == 0) return new(lines);
        lines.Add($"*:x: Failed calls* — {SlackText.Count(d.ErrorCount)} in all");
        int shown = Math.Min(d.Failures.Count, o.MaxFailuresShown);
        foreach (var f in d.Failures.Take(shown))
        {
            var line = new StringBuilder();
            line.Append(SlackText.Code(f.ErrorCode, ErrorCodeMax)).Append(" ×").Append(SlackText.Count(f.Count))
                .Append(" · ").Append(SlackText.Code(f.EventName, EventNameMax))
                .Append(" by ").Append(SlackText.Code(f.Principal, PrincipalMax));
            if (!string.IsNullOrWhiteSpace(f.ErrorMessage))
                line.Append("\n      ↳ ").Append(SlackText.Code(f.ErrorMessage, ErrorMessageMax));
            lines.Add(line.ToString());
        }
        if (d.Failures.Count > shown)
            lines.Add($"_…and {SlackText.Count(d.Failures.Count - shown)} more kinds of failure._");
        return new(lines);
    }

    /// <summary>Puts lines into as few sections as fit the 3,000-character limit, never splitting a line.</summary>
    private static List<SlackBlock> Pack(List<string> lines)
    {
        var sections = new List<SlackBlock>();
        var current = new StringBuilder();
        foreach (var raw in lines)
        {
            var line = SafeCut(raw, SlackLimits.MaxSectionText);
            if (current.Length > 0 && current.Length + 1 + line.Length > SlackLimits.MaxSectionText)
            {
                sections.Add(new SlackBlock.Section(current.ToString()));
                current.Clear();
            }
            if (current.Length > 0) current.Append('\n');
            current.Append(line);
        }
        if (current.Length > 0) sections.Add(new SlackBlock.Section(current.ToString()));
        return sections;
    }

    // ---- top lists ----------------------------------------------------------------------------------

    private static List<string> TopListFields(Digest d, SlackRenderOptions o)
    {
        var fields = new List<string>();
        void Add(string title, IReadOnlyList<KeyValuePair<string, int>> list, bool always = true)
        {
            if (list.Count == 0 || !always) return;
            fields.Add(TopList(title, list, o.TopN, SlackLimits.MaxFieldText));
        }
        Add("Actions", d.EventNames);
        Add("Principals", d.Principals);
        Add("Regions", d.Regions);
        Add("Sources", d.Sources);
        Add("Error codes", d.ErrorCodes);
        Add("Source IPs", d.SourceIps);
        // Event types only tell something when not everything is a plain API call.
        Add("Event types", d.DetailTypes, always: d.DetailTypes.Count > 1);
        return fields.Take(SlackLimits.MaxFields).ToList();
    }

    /// <summary>"*Title* (distinct)" then the top entries with counts, then "…and N more (M events)" for the rest.</summary>
    private static string TopList(string title, IReadOnlyList<KeyValuePair<string, int>> list, int topN, int maxLength)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(title).Append('*');
        if (list.Count > 1) sb.Append(" (").Append(SlackText.Count(list.Count)).Append(')');
        const int reserve = 60; // room for the "and N more" line
        int shown = 0;
        foreach (var (key, count) in list.Take(topN))
        {
            string line = "\n" + SlackText.Code(key, ListKeyMax) + " " + SlackText.Count(count);
            if (sb.Length + line.Length > maxLength - reserve) break;
            sb.Append(line);
            shown++;
        }
        if (list.Count > shown)
        {
            long rest = 0;
            for (int i = shown; i < list.Count; i++) rest += list[i].Value;
            sb.Append("\n_…and ").Append(SlackText.Count(list.Count - shown)).Append(" more (")
              .Append(SlackText.Count(rest)).Append(')').Append('_');
        }
        return sb.ToString();
    }

    // ---- footer -------------------------------------------------------------------------------------

    private static List<string> FooterElements(Digest d, SlackRenderOptions o)
    {
        var elements = new List<string>();
        if (d.Muted.Count > 0)
        {
            long total = d.Muted.Sum(m => (long)m.Value);
            var top = d.Muted.Take(3).Select(m => SlackText.Code(m.Key, 40) + " " + SlackText.Count(m.Value));
            string more = d.Muted.Count > 3 ? $", and {d.Muted.Count - 3} more rules" : "";
            elements.Add($":mute: {SlackText.Count(total)} muted: {string.Join(", ", top)}{more}");
        }
        if (d.Duplicates > 0)
            elements.Add($":recycle: {SlackText.Count(d.Duplicates)} duplicate {Plural(d.Duplicates, "delivery", "deliveries")} dropped");
        foreach (var note in Aggregator.Rendering.ClockNotes.Describe(d, SlackDate.DateTime)) elements.Add(":stopwatch: " + note);

        var regions = LinkRegions(d, o.MaxConsoleLinks);
        if (regions.Count > 0)
        {
            var links = regions.Select(r => $"<{CloudTrailConsoleLink.EventHistory(r, d.FirstEventTime, d.LastEventTime)}|{r}>");
            elements.Add(":mag: CloudTrail event history: " + string.Join(" · ", links));
        }
        elements.Add($"closed by {CloseReason(d.ClosedBy)} · digest {SlackText.Code(d.DigestId, 64)}");
        return elements;
    }

    /// <summary>Regions worth a console link: those with risky events first (most severe first), then by event count.</summary>
    private static List<string> LinkRegions(Digest d, int max)
    {
        var regions = new List<string>();
        foreach (var region in d.Risky.Select(r => r.Region).Concat(d.Regions.Select(r => r.Key)))
        {
            if (regions.Count >= max) break;
            if (CloudTrailConsoleLink.IsRegion(region) && !regions.Contains(region, StringComparer.Ordinal)) regions.Add(region);
        }
        return regions;
    }

    // ---- small formatting helpers -------------------------------------------------------------------

    private static string SeverityIcon(RiskSeverity? severity) => severity switch
    {
        RiskSeverity.Critical => ":red_circle:",
        RiskSeverity.High => ":large_orange_circle:",
        RiskSeverity.Medium => ":large_yellow_circle:",
        _ => ":large_blue_circle:",
    };

    private static string SeverityLabel(RiskSeverity severity) => severity switch
    {
        RiskSeverity.Critical => "CRITICAL",
        RiskSeverity.High => "High",
        RiskSeverity.Medium => "Medium",
        _ => severity.ToString(),
    };

    private static string CloseReason(BurstCloseReason reason) => reason switch
    {
        BurstCloseReason.QuietGap => "quiet gap",
        BurstCloseReason.MaxWindow => "maximum window",
        BurstCloseReason.EndOfInput => "end of input",
        BurstCloseReason.WindowEnd => "window end",
        _ => reason.ToString(),
    };

    private static string Span(DateTimeOffset first, DateTimeOffset last)
    {
        var a = first.UtcDateTime;
        var b = last.UtcDateTime;
        var inv = CultureInfo.InvariantCulture;
        if (a.Date == b.Date)
            return a.ToString("yyyy-MM-dd HH:mm", inv) + (a.ToString("HH:mm", inv) == b.ToString("HH:mm", inv) ? "" : "–" + b.ToString("HH:mm", inv)) + " UTC";
        return a.ToString("yyyy-MM-dd HH:mm", inv) + " – " + b.ToString("yyyy-MM-dd HH:mm", inv) + " UTC";
    }

    private static string Duration(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = -t;
        if (t.TotalSeconds < 60) return $"{(int)t.TotalSeconds} s";
        if (t.TotalMinutes < 60) return $"{(int)t.TotalMinutes} min";
        if (t.TotalHours < 48) return $"{(int)t.TotalHours} h {t.Minutes} min";
        return $"{(int)t.TotalDays} days";
    }

    private static string Plural(long n, string one, string? many = null) => n == 1 ? one : many ?? one + "s";

    /// <summary>Cuts already-escaped mrkdwn without leaving half an entity (&amp;am…) at the end.</summary>
    private static string SafeCut(string text, int max)
    {
        if (text.Length <= max) return text;
        var cut = SlackText.Truncate(text, max);
        int amp = cut.LastIndexOf('&');
        if (amp >= 0 && cut.IndexOf(';', amp) < 0) cut = string.Concat(cut.AsSpan(0, amp), "…");
        // A code span cut open would hand the rest of the caller's value to mrkdwn: close it (values hold no backtick).
        if (cut.Count(c => c == '`') % 2 == 1) cut = string.Concat(cut.AsSpan(0, cut.Length - 2), "`…"); // as long as the cut: within the limit
        return cut;
    }

    private static string JoinWithin(List<string> lines, int max)
    {
        var sb = new StringBuilder();
        foreach (var line in lines)
        {
            if (sb.Length + line.Length + 1 > max - 20)
            {
                sb.Append("\n_…(truncated)_");
                break;
            }
            if (sb.Length > 0) sb.Append('\n');
            sb.Append(line);
        }
        return sb.ToString();
    }

    /// <summary>Last guard: the caps above keep a digest far below 50 blocks; if that ever changes, keep the head and the footer.</summary>
    private static List<SlackBlock> CapBlocks(List<SlackBlock> blocks)
    {
        if (blocks.Count <= SlackLimits.MaxBlocks) return blocks;
        var capped = blocks.Take(SlackLimits.MaxBlocks - 2).ToList();
        capped.Add(new SlackBlock.Context(["_…some sections omitted (Slack's 50-block limit)._"]));
        capped.Add(blocks[^1]);
        return capped;
    }
}
