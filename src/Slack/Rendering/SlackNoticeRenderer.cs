using System.Text;
using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Aggregator.Rendering;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Silence;

namespace Pipeline.Slack.Rendering;

/// <summary>
/// The other notices as Slack messages: an organisation-wide roll-up, an immediate alert, and a digest a roll-up took
/// part of (it shows what is left, and says where the rest went). Same rules as a digest's rendering: every
/// caller-controlled value escaped and cut, every list capped.
/// </summary>
internal static partial class SlackDigestRenderer
{
    private const int AccountsNamed = 3;

    /// <summary>Any notice: a digest (what roll-ups left of it), a roll-up, an alert.</summary>
    public static SlackMessage Render(Notice notice, SlackRenderOptions? options = null) => notice switch
    {
        Digest d => RenderDigest(d, options),
        Rollup r => RenderRollup(r, options),
        Alert a => RenderAlert(a),
        SilenceNotice s => RenderSilence(s),
        _ => throw new ArgumentException($"unknown notice {notice.GetType().Name}", nameof(notice)),
    };

    /// <summary>A digest as posted: what roll-ups left of it, with a line saying which roll-up has the rest, and its alerts.</summary>
    private static SlackMessage RenderDigest(Digest whole, SlackRenderOptions? options)
    {
        var message = RenderCounts(DigestParts.Remaining(whole), options);
        var notes = new List<string>();
        foreach (var part in DigestParts.Folded(whole))
            notes.Add($":arrows_counterclockwise: {SlackText.Count(part.EventCount)} {Plural(part.EventCount, "event")} by {SlackText.Code(part.ActorKey, PrincipalMax)} are in roll-up {SlackText.Code(TextDigestRenderer.ShortId(part.RollupId!), 10)}");
        if (whole.AlertIds.Count > 0)
            notes.Add($":rotating_light: {SlackText.Count(whole.AlertIds.Count)} {Plural(whole.AlertIds.Count, "event")} of this burst {(whole.AlertIds.Count == 1 ? "was" : "were")} alerted at once");
        if (notes.Count == 0) return message;
        var blocks = message.Blocks.ToList();
        blocks.Insert(Math.Max(0, blocks.Count - 1), new SlackBlock.Context(notes)); // before the footer
        return message with { Blocks = CapBlocks(blocks), FullText = JoinWithin([message.FullText, .. notes], FullTextMax) };
    }

    /// <summary>One change in many accounts: who, how many accounts (named), when, what failed where, what was risky.</summary>
    private static SlackMessage RenderRollup(Rollup r, SlackRenderOptions? options)
    {
        var o = (options ?? SlackRenderOptions.Default).Validate();
        string icon = SeverityIcon(r.Risky.Count > 0 ? r.Risky.Max(k => k.Severity) : null);
        string header = SlackText.Truncate(
            $"{icon} {SlackText.Plain(r.ActorShown, 80)} in {SlackText.Count(r.Accounts.Count)} accounts · {SlackText.Count(r.EventCount)} {Plural(r.EventCount, "event")}",
            SlackLimits.MaxHeaderText);
        var blocks = new List<SlackBlock> { new SlackBlock.Header(header) };
        var full = new List<string> { SlackText.BoldHeader(header) };

        var summary = new List<string>
        {
            $":office: {SlackText.Text(TextDigestRenderer.AccountList(r.Accounts, AccountsNamed), 200)}",
            $":clock3: {SlackDate.DateTime(r.FirstEventTime)} → {(r.LastEventTime - r.FirstEventTime < TimeSpan.FromHours(1) ? SlackDate.Time(r.LastEventTime) : SlackDate.DateTime(r.LastEventTime))} ({Duration(r.LastEventTime - r.FirstEventTime)})",
            $"*{SlackText.Count(r.RiskyCount)}* risky · *{SlackText.Count(r.ErrorCount)}* failed",
        };
        blocks.Add(new SlackBlock.Context(summary));
        full.AddRange(summary.Select(SlackDate.ToFallback));

        var lines = new List<string>();
        if (r.Risky.Count > 0)
        {
            lines.Add($"*:rotating_light: Risky calls* — {SlackText.Count(r.RiskyCount)}");
            foreach (var k in r.Risky.Take(o.MaxRiskyShown))
            {
                var line = new StringBuilder();
                line.Append(SeverityIcon(k.Severity)).Append(" *").Append(SeverityLabel(k.Severity)).Append("* ")
                    .Append(SlackText.Code(k.EventName, EventNameMax)).Append(" in ").Append(SlackText.Count(k.Accounts.Count))
                    .Append(' ').Append(Plural(k.Accounts.Count, "account"));
                if (k.Target is not null) line.Append(" · on ").Append(SlackText.Code(k.Target, TargetMax));
                line.Append("\n      ↳ ").Append(SlackText.Text(k.Reason, ReasonMax));
                lines.Add(line.ToString());
            }
        }
        if (r.Failures.Count > 0)
        {
            lines.Add($"*:x: Failed* — {SlackText.Count(r.ErrorCount)} in all");
            foreach (var f in r.Failures.Take(Math.Max(1, o.MaxFailuresShown)))
            {
                var line = new StringBuilder();
                line.Append(SlackText.Count(f.Accounts.Count)).Append(' ').Append(Plural(f.Accounts.Count, "account"))
                    .Append(" refused ").Append(SlackText.Code(f.EventName, EventNameMax)).Append(": ").Append(SlackText.Code(f.ErrorCode, ErrorCodeMax))
                    .Append(" (").Append(string.Join(", ", f.Accounts.Take(AccountsNamed).Select(a => SlackText.Code(r.NameOf(a), 60))))
                    .Append(f.Accounts.Count > AccountsNamed ? $" and {f.Accounts.Count - AccountsNamed} more" : "").Append(')');
                lines.Add(line.ToString());
            }
        }
        if (lines.Count > 0)
        {
            blocks.Add(new SlackBlock.Divider());
            blocks.AddRange(Pack(lines));
            full.AddRange(lines);
        }

        var fields = new List<string>();
        if (r.EventNames.Count > 0) fields.Add(TopList("Actions", r.EventNames, o.TopN, SlackLimits.MaxFieldText));
        if (r.Principals.Count > 0) fields.Add(TopList("Principals", r.Principals, o.TopN, SlackLimits.MaxFieldText));
        if (r.Regions.Count > 0) fields.Add(TopList("Regions", r.Regions, o.TopN, SlackLimits.MaxFieldText));
        if (fields.Count > 0)
        {
            blocks.Add(new SlackBlock.Divider());
            blocks.Add(new SlackBlock.Section(null, fields));
            full.AddRange(fields.Select(f => f.Replace("\n", "  ", StringComparison.Ordinal)));
        }
        var footer = new List<string> { $"organisation-wide change by {SlackText.Code(r.ActorKey, 100)} · roll-up {SlackText.Code(r.RollupId, 64)} · the accounts' other activity is in their own digests" };
        blocks.Add(new SlackBlock.Context(footer));
        full.AddRange(footer);

        var text = $"{SlackText.Text(r.ActorShown, 80)} changed {SlackText.Count(r.Accounts.Count)} accounts ({SlackText.Text(TextDigestRenderer.AccountList(r.Accounts, AccountsNamed), 200)})";
        if (r.RiskyCount > 0) text += $" — {SlackText.Count(r.RiskyCount)} risky";
        if (r.ErrorCount > 0) text += $" — {SlackText.Count(r.ErrorCount)} failed";
        return new SlackMessage(text, CapBlocks(blocks), JoinWithin(full, FullTextMax));
    }

    /// <summary>One risky event, the moment it arrived: what, who, where, why it matters.</summary>
    /// <summary>An account-region gone silent (a blinded account?) or back: who, where, since when, for how long.</summary>
    private static SlackMessage RenderSilence(SilenceNotice s)
    {
        string who = s.AccountName is { Length: > 0 } name ? $"{SlackText.Plain(name, 60)} ({SlackText.Plain(s.Account, 20)})" : SlackText.Plain(s.Account, 20);
        bool silent = s.State == SilenceState.Silent;
        string header = SlackText.Truncate(
            silent ? $":mute: Silent: {SlackText.Plain(s.Region, RegionMax)} in {who}" : $":loud_sound: Back: {SlackText.Plain(s.Region, RegionMax)} in {who}",
            SlackLimits.MaxHeaderText);
        var line = silent
            ? $"No events from {SlackText.Text(s.Region, RegionMax)} since {SlackDate.DateTime(s.LastEventTime)} ({Duration(s.SilentFor)} while the organisation's went on to {SlackDate.DateTime(s.ObservedAt)}) · {SlackText.Count(s.EventCount)} {Plural(s.EventCount, "event")} before\n↳ its EventBridge forwarding rule or StackSet instance may have been disabled or removed"
            : $"Events from {SlackText.Text(s.Region, RegionMax)} again from {SlackDate.DateTime(s.ObservedAt)}, after {Duration(s.SilentFor)} of silence since {SlackDate.DateTime(s.LastEventTime)}";
        var footer = new List<string> { $"silence check · {SlackText.Code(s.NoticeId, 64)}" };
        var blocks = new List<SlackBlock> { new SlackBlock.Header(header), new SlackBlock.Section(line), new SlackBlock.Context(footer) };
        var text = $"{(silent ? "Silent" : "Back")}: {SlackText.Text(s.Region, RegionMax)} in {SlackText.Text(s.AccountName ?? s.Account, 60)}";
        return new SlackMessage(text, blocks, JoinWithin([SlackText.BoldHeader(header), SlackDate.ToFallback(line), .. footer], FullTextMax));
    }

    private static SlackMessage RenderAlert(Alert a)
    {
        var e = a.Event;
        string id = SlackText.Plain(a.Account, 20);
        string lead = $"{SeverityIcon(e.Severity)} {SeverityLabel(e.Severity)}: {SlackText.Plain(e.EventName, EventNameMax)} in ";
        // The account's name gets the room the rest leaves (at most 60), so that a long name never cuts off the id.
        string who = a.AccountName is { Length: > 0 } name
            ? $"{SlackText.Plain(name, Math.Clamp(SlackLimits.MaxHeaderText - lead.Length - $" ({id})".Length, 8, 60))} ({id})"
            : id;
        string header = SlackText.Truncate(lead + who, SlackLimits.MaxHeaderText);
        var line = new StringBuilder();
        line.Append(SlackText.Code(e.EventName, EventNameMax)).Append(" by ").Append(SlackText.Code(e.Principal, PrincipalMax))
            .Append(" · ").Append(SlackText.Text(e.Region, RegionMax))
            .Append(" · ").Append(SlackDate.DateTime(e.EventTime));
        line.Append("\n↳ ").Append(SlackText.Text(e.Reason, ReasonMax));
        if (e.Target is not null) line.Append(" · on ").Append(SlackText.Code(e.Target, TargetMax));
        if (e.SourceIp is not null) line.Append(" · from ").Append(SlackText.Code(e.SourceIp, IpMax));
        if (e.ErrorCode is not null) line.Append(" · :no_entry: attempt failed ").Append(SlackText.Code(e.ErrorCode, ErrorCodeMax));
        var footer = new List<string> { $"alerted at once · the burst's digest follows when it closes · digest {SlackText.Code(a.DigestId, 64)}" };
        var blocks = new List<SlackBlock> { new SlackBlock.Header(header), new SlackBlock.Section(line.ToString()), new SlackBlock.Context(footer) };
        var text = $"{SeverityLabel(e.Severity)}: {SlackText.Text(e.EventName, EventNameMax)} by {SlackText.Text(e.Principal, PrincipalMax)} in {SlackText.Text(a.AccountName ?? a.Account, 60)}";
        return new SlackMessage(text, blocks, JoinWithin([SlackText.BoldHeader(header), SlackDate.ToFallback(line.ToString()), .. footer], FullTextMax));
    }
}
