using System.Globalization;
using System.Text;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;

namespace Pipeline.Aggregator.Rendering;

/// <summary>
/// The terminal rendering of a digest: what a security engineer scans first (risky, failed) on top,
/// the shape of the burst (actions, principals, regions, sources) below, long lists capped with "and N more".
/// Control characters in event text are made visible so a hostile value cannot rewrite the terminal.
/// </summary>
public static class TextDigestRenderer
{
    private const int TopN = 5;

    /// <summary>Any notice: a digest (what a roll-up left of it), a roll-up, an alert.</summary>
    public static string Render(Notice notice) => notice switch
    {
        Digest d => Render(d),
        Rollup r => RenderRollup(r),
        Alert a => RenderAlert(a),
        SilenceNotice s => RenderSilence(s),
        _ => throw new ArgumentException($"unknown notice {notice.GetType().Name}", nameof(notice)),
    };

    public static string Render(Digest whole)
    {
        var sb = new StringBuilder();
        var d = DigestParts.Remaining(whole);
        var name = d.AccountName is { } n ? $"{Clean(n)} ({d.Account})" : d.Account;
        if (d.AccountInfo?.State is { } state && state != "ACTIVE") name += $" [{Clean(state)}]"; // activity in a closing account is news
        var span = d.LastEventTime - d.FirstEventTime;
        sb.Append("== ").Append(name).Append("  ")
          .Append(Time(d.FirstEventTime)).Append(" → ").Append(TimeOfDay(d.FirstEventTime, d.LastEventTime))
          .Append(" (").Append(Duration.Format(TimeSpan.FromSeconds(Math.Round(span.TotalSeconds)))).Append(")  ")
          .Append(Plural(d.EventCount, "event"));
        if (d.ErrorCount > 0) sb.Append(", ").Append(d.ErrorCount).Append(" failed");
        sb.Append("  [").Append(DigestJson.CloseReasonName(d.ClosedBy)).Append(']').AppendLine();

        if (d.RiskyCount > 0)
        {
            sb.Append("  RISKY (").Append(d.RiskyCount).AppendLine(")");
            foreach (var r in d.Risky)
            {
                sb.Append("    ").Append(SeverityMark(r.Severity)).Append(' ').Append(TimeOfDay(d.FirstEventTime, r.EventTime)).Append(' ')
                  .Append(Clean(r.EventName));
                if (r.Target is not null) sb.Append(" on ").Append(Clean(r.Target));
                if (r.Principal is not null) sb.Append(" by ").Append(Clean(r.Principal));
                if (r.SourceIp is not null) sb.Append(" from ").Append(Clean(r.SourceIp));
                sb.Append(" — ").Append(Clean(r.Reason));
                if (r.ErrorCode is not null) sb.Append(" (failed: ").Append(Clean(r.ErrorCode)).Append(')');
                sb.AppendLine();
            }
            if (d.RiskyCount > d.Risky.Count) sb.Append("    … and ").Append(d.RiskyCount - d.Risky.Count).AppendLine(" more risky");
        }

        if (d.Failures.Count > 0)
        {
            sb.Append("  FAILED (").Append(d.ErrorCount).AppendLine(")");
            foreach (var f in d.Failures)
            {
                sb.Append("    ").Append(f.Count).Append("× ").Append(Clean(f.EventName)).Append(' ').Append(Clean(f.ErrorCode));
                if (f.Principal is not null) sb.Append(" by ").Append(Clean(f.Principal));
                if (f.ErrorMessage is not null) sb.Append(": ").Append(Clean(Shorten(f.ErrorMessage, 100)));
                sb.AppendLine();
            }
        }

        Line(sb, "Actions", d.EventNames);
        Line(sb, "Principals", d.Principals);
        Line(sb, "Regions", d.Regions);
        Line(sb, "Sources", d.Sources);
        if (d.SourceIps.Count > 0) Line(sb, "Source IPs", d.SourceIps);

        if (d.Muted.Count > 0 || d.Duplicates > 0)
        {
            sb.Append("  Also:       ");
            var parts = d.Muted.Select(m => $"{m.Value} muted by {Clean(m.Key)}").ToList();
            if (d.Duplicates > 0) parts.Add($"{Plural(d.Duplicates, "duplicate")} dropped");
            sb.AppendJoin(" · ", parts).AppendLine();
        }
        foreach (var note in ClockNotes.Describe(d)) sb.Append("  Clock:      ").Append(note).AppendLine();
        foreach (var part in DigestParts.Folded(whole))
            sb.Append("  Rolled up:  ").Append(Plural(part.EventCount, "event")).Append(" by ").Append(Clean(part.ActorKey ?? "?"))
              .Append(" in roll-up ").Append(ShortId(part.RollupId!)).AppendLine(whole.Posted ? "" : " (not posted on its own)");
        if (whole.AlertIds.Count > 0)
            sb.Append("  Alerted:    ").Append(Plural(whole.AlertIds.Count, "alert")).AppendLine(" posted at once (above)");
        return sb.ToString();
    }

    /// <summary>One organisation-wide change: who, how many accounts (named), when, what failed where, what was risky.</summary>
    public static string RenderRollup(Rollup r)
    {
        var sb = new StringBuilder();
        var span = r.LastEventTime - r.FirstEventTime;
        sb.Append("== ROLL-UP ").Append(ShortId(r.RollupId)).Append("  ").Append(Clean(r.ActorShown)).Append(" in ").Append(Plural(r.Accounts.Count, "account"))
          .Append(": ").Append(Clean(AccountList(r.Accounts, 3))).AppendLine();
        sb.Append("  ").Append(Time(r.FirstEventTime)).Append(" → ").Append(TimeOfDay(r.FirstEventTime, r.LastEventTime))
          .Append(" (").Append(Duration.Format(TimeSpan.FromSeconds(Math.Round(span.TotalSeconds)))).Append(")  ").Append(Plural(r.EventCount, "event"));
        if (r.ErrorCount > 0) sb.Append(", ").Append(r.ErrorCount).Append(" failed");
        sb.AppendLine();
        if (r.RiskyCount > 0)
        {
            sb.Append("  RISKY (").Append(r.RiskyCount).AppendLine(")");
            foreach (var risk in r.Risky)
            {
                sb.Append("    ").Append(SeverityMark(risk.Severity)).Append(' ').Append(Clean(risk.EventName));
                if (risk.Target is not null) sb.Append(" on ").Append(Clean(risk.Target));
                sb.Append(" in ").Append(Plural(risk.Accounts.Count, "account")).Append(" — ").Append(Clean(risk.Reason)).AppendLine();
            }
        }
        if (r.Failures.Count > 0)
        {
            sb.Append("  FAILED (").Append(r.ErrorCount).AppendLine(")");
            foreach (var f in r.Failures)
            {
                sb.Append("    ").Append(Plural(f.Accounts.Count, "account")).Append(" refused ").Append(Clean(f.EventName)).Append(": ").Append(Clean(f.ErrorCode))
                  .Append(" (").Append(Clean(string.Join(", ", f.Accounts.Take(TopN).Select(r.NameOf)))).Append(f.Accounts.Count > TopN ? $" and {f.Accounts.Count - TopN} more" : "").Append(')');
                sb.AppendLine();
            }
        }
        Line(sb, "Actions", r.EventNames);
        Line(sb, "Principals", r.Principals);
        Line(sb, "Regions", r.Regions);
        return sb.ToString();
    }

    /// <summary>One risky event posted the moment it arrived.</summary>
    public static string RenderAlert(Alert a)
    {
        var e = a.Event;
        var name = a.AccountName is { } n ? $"{Clean(n)} ({a.Account})" : a.Account;
        var sb = new StringBuilder();
        sb.Append(SeverityMark(e.Severity)).Append(" ALERT  ").Append(name).Append("  ").Append(Time(e.EventTime)).Append("  ").Append(Clean(e.EventName));
        if (e.Target is not null) sb.Append(" on ").Append(Clean(e.Target));
        if (e.Principal is not null) sb.Append(" by ").Append(Clean(e.Principal));
        if (e.SourceIp is not null) sb.Append(" from ").Append(Clean(e.SourceIp));
        sb.Append(" in ").Append(Clean(e.Region)).Append(" — ").Append(Clean(e.Reason));
        if (e.ErrorCode is not null) sb.Append(" (failed: ").Append(Clean(e.ErrorCode)).Append(')');
        return sb.AppendLine().ToString();
    }

    /// <summary>An account-region gone silent, or back after a silence: one line, the region (event text) cleaned.</summary>
    public static string RenderSilence(SilenceNotice s)
    {
        var name = s.AccountName is { } n ? $"{Clean(n)} ({s.Account})" : s.Account;
        var sb = new StringBuilder();
        var quiet = Duration.Format(TimeSpan.FromSeconds(Math.Round(s.SilentFor.TotalSeconds)));
        if (s.State == SilenceState.Silent)
        {
            sb.Append("??? SILENT  ").Append(name).Append("  ").Append(Clean(s.Region))
              .Append("  no events since ").Append(Time(s.LastEventTime))
              .Append(" (").Append(quiet).Append(" while the organisation's went on to ").Append(Time(s.ObservedAt)).Append("); ")
              .Append(Plural(s.EventCount, "event")).Append(" before")
              .Append(" — its forwarding rule or StackSet instance may be gone");
        }
        else
        {
            sb.Append("... BACK    ").Append(name).Append("  ").Append(Clean(s.Region))
              .Append("  events again from ").Append(Time(s.ObservedAt))
              .Append(", after ").Append(quiet).Append(" of silence since ").Append(Time(s.LastEventTime));
        }
        return sb.AppendLine().ToString();
    }

    /// <summary>"prod-pay-01, stage-web-07 and 52 more": names where known, else ids; uncleaned (callers escape for their medium).</summary>
    public static string AccountList(IReadOnlyList<RollupAccount> accounts, int named)
    {
        var shown = accounts.Take(named).Select(a => a.AccountName ?? a.Account).ToList();
        if (accounts.Count <= named) return shown.Count switch
        {
            1 => shown[0],
            _ => string.Join(", ", shown.Take(shown.Count - 1)) + " and " + shown[^1],
        };
        return string.Join(", ", shown) + " and " + (accounts.Count - named).ToString(CultureInfo.InvariantCulture) + " more";
    }

    /// <summary>The first 8 hex digits of an id: enough to find a roll-up in the output.</summary>
    public static string ShortId(string id) => id.Length > 8 ? id[..8] : id;

    public static string RenderSummary(RunSummary s)
    {
        var sb = new StringBuilder();
        sb.Append("received ").Append(s.Received)
          .Append(" = rejected ").Append(s.Rejected)
          .Append(" + duplicates ").Append(s.Duplicates)
          .Append(" + muted ").Append(s.Muted)
          .Append(" + digested ").Append(s.Digested)
          .Append("  (").Append(Plural(s.Digests, "digest")).Append(')');
        if (!s.Balanced) sb.Append("  !! COUNTS DO NOT ADD UP: please report this as a bug");
        sb.AppendLine();
        if (s.Messages is { } messages)
        {
            sb.Append("messages: ").Append(messages);
            if (s.Rollups is { } rollups) sb.Append(" (").Append(Plural(rollups, "roll-up")).Append(", ").Append(Plural(s.Alerts, "alert")).Append(')');
            sb.AppendLine();
        }
        if (s.Silences is > 0 and var silences)
            sb.Append("silence: ").Append(Plural(silences, "account-region notice")).AppendLine(" (gone silent or back; not events)");
        if (s.Delivered is { } delivered)
            sb.Append("slack: ").Append(delivered).Append(" delivered, ").Append(s.Outboxed ?? 0).AppendLine(" in the outbox");
        if (s.MutedByRule.Count > 0)
            sb.Append("muted by rule: ").AppendJoin(", ", s.MutedByRule.Select(kv => $"{Clean(kv.Key)} {kv.Value}")).AppendLine(); // a rule's name is a file's text
        if (s.RejectedByReason.Count > 0)
            sb.Append("rejected: ").AppendJoin(", ", s.RejectedByReason.Select(kv => $"{kv.Value}× {Clean(kv.Key)}")).AppendLine(); // reasons quote record text
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, string label, IReadOnlyList<KeyValuePair<string, int>> counts)
    {
        if (counts.Count == 0) return;
        sb.Append("  ").Append((label + ":").PadRight(12));
        sb.AppendJoin(" · ", counts.Take(TopN).Select(kv => $"{Clean(kv.Key)} {kv.Value}"));
        if (counts.Count > TopN) sb.Append(" · and ").Append(counts.Count - TopN).Append(" more");
        sb.AppendLine();
    }

    private static string SeverityMark(RiskSeverity s) => s switch
    {
        _ when (int)s >= 3 => "!!! CRITICAL",
        _ when (int)s == 2 => "!!  HIGH    ",
        _ => "!   MEDIUM  ",
    };

    private static string Plural(long n, string noun) => n == 1 ? $"1 {noun}" : $"{n.ToString(CultureInfo.InvariantCulture)} {noun}s";

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Time of day, with the date only when it differs from the burst's start.</summary>
    private static string TimeOfDay(DateTimeOffset start, DateTimeOffset t) =>
        t.UtcDateTime.Date == start.UtcDateTime.Date
            ? t.UtcDateTime.ToString("HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : Time(t);

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    /// <summary>Event text is attacker-controlled: escape control characters (ANSI escapes, newlines) so it prints as data.</summary>
    public static string Clean(string s)
    {
        bool clean = true;
        foreach (var c in s) if (IsHidden(c)) { clean = false; break; }
        if (clean) return s;
        var sb = new StringBuilder(s.Length + 8);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                // A tag character (U+E0000–E007F) is invisible formatting: shown by its number, like the others.
                int scalar = char.ConvertToUtf32(c, s[i + 1]);
                if (CharUnicodeInfo.GetUnicodeCategory(scalar) == UnicodeCategory.Format) sb.Append($"\\U{scalar:x8}");
                else sb.Append(c).Append(s[i + 1]);
                i++;
            }
            else if (IsHidden(c)) sb.Append($"\\u{(int)c:x4}");
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// What must not reach a terminal as itself: control characters (escape sequences, newlines faking lines), line and
    /// paragraph separators, invisible formatting (bidi overrides can make a line read backwards) and lone surrogates.
    /// A surrogate counts as hidden here so that pairs are looked at whole.
    /// </summary>
    private static bool IsHidden(char c) =>
        char.IsControl(c) || char.IsSurrogate(c) || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
