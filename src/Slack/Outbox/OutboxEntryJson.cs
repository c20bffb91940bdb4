using System.Buffers;
using System.Text.Json;
using Pipeline.Aggregator.Rendering;

namespace Pipeline.Slack.Outbox;

/// <summary>
/// The one stored shape of an outbox entry, shared by every outbox (a file in <see cref="FolderOutbox"/>, a message
/// body in <see cref="SqsDigestOutbox"/>):
/// <c>{"version":1,"digestId":…,"channel":…,"failedAt":…,"reason":…,"payload":{…},"plainPayload":{…}}</c>.
/// The payloads are embedded as JSON (not strings), exactly as they were to be sent. No secret is ever in it.
/// <para>
/// An entry is read back only if it has exactly that shape (<see cref="Parse"/>): anyone who can write to the outbox
/// can put a file there, and what it holds is posted to Slack as is. Each payload must be a message as our renderer
/// writes it (an object with a non-empty <c>text</c>, optional <c>blocks</c>, and only the fields we send: no
/// <c>parse</c> or <c>link_names</c> that would turn text into live mentions), addressed to the entry's own channel.
/// </para>
/// </summary>
internal static class OutboxEntryJson
{
    public const int Version = 1;

    /// <summary>
    /// Largest entry, in bytes: SQS's limit on a message, the same wherever an entry is kept. The largest digest we
    /// render is about 16 KB (docs/slack.md), so a bigger entry is not one of ours.
    /// </summary>
    public const int MaxEntryBytes = SqsOutboxOptions.MaxMessageBytes;

    /// <summary>Longest digest id and channel accepted (ours are 32-character hashes and Slack channel names of at most 80).</summary>
    public const int MaxNameLength = 200;

    /// <summary>The payload fields <see cref="Rendering.SlackMessage"/> writes; any other is refused.</summary>
    private static readonly HashSet<string> PayloadFields = new(StringComparer.Ordinal)
    {
        "channel", "thread_ts", "reply_broadcast", "text", "blocks", "unfurl_links", "unfurl_media",
    };

    public static void Write(Utf8JsonWriter writer, OutboxEntry entry)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(entry);
        writer.WriteStartObject();
        writer.WriteNumber("version", Version);
        writer.WriteString("digestId", entry.DigestId);
        writer.WriteString("channel", entry.Channel);
        writer.WriteString("failedAt", entry.FailedAt);
        writer.WriteString("reason", entry.Reason);
        writer.WritePropertyName("payload");
        writer.WriteRawValue(entry.Payload.Span, skipInputValidation: false);
        writer.WritePropertyName("plainPayload");
        writer.WriteRawValue(entry.PlainPayload.Span, skipInputValidation: false);
        writer.WriteEndObject();
    }

    /// <summary>The entry as compact UTF-8 JSON.</summary>
    public static byte[] ToUtf8(OutboxEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(entry.Payload.Length + entry.PlainPayload.Length + 512);
        using (var writer = new Utf8JsonWriter(buffer)) Write(writer, entry);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads and validates an entry; throws <see cref="FormatException"/> saying what is wrong when it is not one
    /// (see <see cref="IsReadError"/>).
    /// </summary>
    public static OutboxEntry Parse(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            return ParseChecked(utf8);
        }
        catch (InvalidOperationException e)
        {
            // Valid JSON whose string (a value or a property name) escapes a lone surrogate ("\ud800"): JsonDocument
            // accepts it, but it is not text, and reading it as a string throws.
            throw new FormatException($"it holds a string that is not valid Unicode text ({e.Message})", e);
        }
    }

    private static OutboxEntry ParseChecked(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.Length > MaxEntryBytes)
            throw new FormatException($"it is {utf8.Length:N0} bytes, over the limit of {MaxEntryBytes:N0} for an outbox entry");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new FormatException($"it is not complete JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"it is a JSON {Kind(root)}, not an outbox entry object");
            if (!root.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version) || version != Version)
                throw new FormatException($"its \"version\" is not {Version}");
            string digestId = Name(root, "digestId");
            string channel = Name(root, "channel");
            if (!root.TryGetProperty("failedAt", out var at) || at.ValueKind != JsonValueKind.String || !at.TryGetDateTimeOffset(out var failedAt))
                throw new FormatException("its \"failedAt\" is not a date and time");
            if (!root.TryGetProperty("reason", out var reason) || reason.ValueKind != JsonValueKind.String)
                throw new FormatException("its \"reason\" is not a string");
            return new OutboxEntry(digestId, channel, failedAt, reason.GetString()!,
                Payload(root, "payload", channel), Payload(root, "plainPayload", channel));
        }
    }

    /// <summary>
    /// The exceptions <see cref="Parse"/> throws for something that is not an entry: a <see cref="FormatException"/>,
    /// and, should one slip past its conversion, the <see cref="InvalidOperationException"/> System.Text.Json throws
    /// for a string that is not valid text.
    /// </summary>
    public static bool IsReadError(Exception e) => e is FormatException or InvalidOperationException;

    /// <summary>A digest id or channel: a non-empty string of printable characters (it names files and log lines).</summary>
    private static string Name(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String)
            throw new FormatException($"its \"{field}\" is missing or not a string");
        string s = value.GetString()!;
        if (s.Length is 0 or > MaxNameLength) throw new FormatException($"its \"{field}\" is empty or longer than {MaxNameLength} characters");
        if (TextDigestRenderer.Clean(s) != s) // the terminal's cleaning would have to show some character by its number
            throw new FormatException($"its \"{field}\" holds control or invisible characters");
        return s;
    }

    /// <summary>A Slack message as we write it, for this entry's channel; its exact bytes, to be sent as they are.</summary>
    private static byte[] Payload(JsonElement root, string field, string channel)
    {
        if (!root.TryGetProperty(field, out var p)) throw new FormatException($"it has no \"{field}\"");
        if (p.ValueKind != JsonValueKind.Object) throw new FormatException($"its \"{field}\" is a JSON {Kind(p)}, not a Slack message object");
        foreach (var property in p.EnumerateObject())
        {
            if (!PayloadFields.Contains(property.Name))
                throw new FormatException($"its \"{field}\" has a field a digest never has: \"{Printable(property.Name)}\"");
            var kind = property.Value.ValueKind;
            bool ok = property.Name switch
            {
                "text" => kind == JsonValueKind.String && property.Value.GetString()!.Length > 0,
                "blocks" => kind == JsonValueKind.Array && property.Value.EnumerateArray().All(b => b.ValueKind == JsonValueKind.Object),
                "channel" => kind == JsonValueKind.String && property.Value.GetString() == channel,
                "thread_ts" => kind == JsonValueKind.String,
                _ => kind is JsonValueKind.True or JsonValueKind.False,
            };
            if (!ok)
                throw new FormatException(property.Name == "channel"
                    ? $"its \"{field}\" is addressed to another channel than the entry's"
                    : $"its \"{field}\".\"{property.Name}\" is not what a Slack message has there");
        }
        if (!p.TryGetProperty("text", out _)) throw new FormatException($"its \"{field}\" has no \"text\"");
        return System.Text.Encoding.UTF8.GetBytes(p.GetRawText());
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    /// <summary>A field name from the entry, short and with nothing a terminal would act on, for the message.</summary>
    private static string Printable(string s) => TextDigestRenderer.Clean(s.Length > 40 ? s[..40] + "…" : s);
}
