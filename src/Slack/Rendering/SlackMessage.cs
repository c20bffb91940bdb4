using System.Text.Encodings.Web;
using System.Text.Json;

namespace Pipeline.Slack.Rendering;

/// <summary>One Block Kit block, the few kinds a digest uses. Texts are already escaped mrkdwn (plain text for the header).</summary>
internal abstract record SlackBlock
{
    internal sealed record Header(string Text) : SlackBlock;

    internal sealed record Section(string? Text, IReadOnlyList<string>? Fields = null) : SlackBlock;

    internal sealed record Context(IReadOnlyList<string> Elements) : SlackBlock;

    internal sealed record Divider : SlackBlock;
}

/// <summary>
/// A rendered digest. <see cref="Text"/> is the notification fallback sent with the blocks; <see cref="FullText"/>
/// is the whole digest as mrkdwn text, sent alone when Slack refuses the blocks (<c>invalid_blocks</c>).
/// </summary>
internal sealed record SlackMessage(string Text, IReadOnlyList<SlackBlock> Blocks, string FullText)
{
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    /// <summary>
    /// Writes the JSON payload Slack expects: <c>channel</c> (bot-token delivery only), <c>text</c>, <c>blocks</c>,
    /// and no link unfurling (a digest's console link would otherwise expand into a large preview). With
    /// <paramref name="threadTs"/> (bot-token only) the message is a reply in that message's thread, and
    /// <c>reply_broadcast</c> also shows it in the channel: a digest must not hide in an alert's thread.
    /// </summary>
    public void WritePayload(Utf8JsonWriter writer, string? channel = null, bool plainTextOnly = false, string? threadTs = null)
    {
        writer.WriteStartObject();
        // The channel comes from the accounts file or table as it is, not through SlackText: written with every character
        // beyond ASCII as \u, a printed payload (`--format slack`) shows no invisible or control character. Slack reads both.
        if (channel is not null) writer.WriteString("channel", JsonEncodedText.Encode(channel, JavaScriptEncoder.Default));
        if (threadTs is not null)
        {
            writer.WriteString("thread_ts", threadTs);
            writer.WriteBoolean("reply_broadcast", true);
        }
        writer.WriteString("text", plainTextOnly ? FullText : Text);
        if (!plainTextOnly)
        {
            writer.WriteStartArray("blocks");
            foreach (var block in Blocks) WriteBlock(writer, block);
            writer.WriteEndArray();
        }
        writer.WriteBoolean("unfurl_links", false);
        writer.WriteBoolean("unfurl_media", false);
        writer.WriteEndObject();
    }

    /// <summary>The payload as UTF-8 JSON bytes (what goes over the wire, or is printed with <paramref name="indented"/>).</summary>
    public byte[] ToPayload(string? channel = null, bool plainTextOnly = false, bool indented = false, string? threadTs = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact))
            WritePayload(writer, channel, plainTextOnly, threadTs);
        return buffer.ToArray();
    }

    private static void WriteBlock(Utf8JsonWriter w, SlackBlock block)
    {
        w.WriteStartObject();
        switch (block)
        {
            case SlackBlock.Header h:
                w.WriteString("type", "header");
                WriteText(w, "text", "plain_text", h.Text);
                break;
            case SlackBlock.Section s:
                w.WriteString("type", "section");
                if (s.Text is not null) WriteText(w, "text", "mrkdwn", s.Text);
                if (s.Fields is { Count: > 0 })
                {
                    w.WriteStartArray("fields");
                    foreach (var f in s.Fields) WriteText(w, null, "mrkdwn", f);
                    w.WriteEndArray();
                }
                break;
            case SlackBlock.Context c:
                w.WriteString("type", "context");
                w.WriteStartArray("elements");
                foreach (var e in c.Elements) WriteText(w, null, "mrkdwn", e);
                w.WriteEndArray();
                break;
            case SlackBlock.Divider:
                w.WriteString("type", "divider");
                break;
            default:
                throw new InvalidOperationException("Unknown block " + block.GetType().Name);
        }
        w.WriteEndObject();
    }

    private static void WriteText(Utf8JsonWriter w, string? name, string type, string text)
    {
        if (name is null) w.WriteStartObject(); else w.WriteStartObject(name);
        w.WriteString("type", type);
        w.WriteString("text", text);
        if (type == "plain_text") w.WriteBoolean("emoji", true);
        // Our own links and dates are written out in full (<url|text>, <!date^…>), and caller text is escaped and made
        // inert: Slack must add nothing, so no URL, channel name or mention is linked behind our back.
        else w.WriteBoolean("verbatim", true);
        w.WriteEndObject();
    }
}
