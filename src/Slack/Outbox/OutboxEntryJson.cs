using System.Buffers;
using System.Text.Json;

namespace Pipeline.Slack.Outbox;

/// <summary>
/// The one stored shape of an outbox entry, shared by every outbox (a file in <see cref="FolderOutbox"/>, a message
/// body in <see cref="SqsDigestOutbox"/>):
/// <c>{"version":1,"digestId":…,"channel":…,"failedAt":…,"reason":…,"payload":{…},"plainPayload":{…}}</c>.
/// The payloads are embedded as JSON (not strings), exactly as they were to be sent. No secret is ever in it.
/// </summary>
internal static class OutboxEntryJson
{
    public const int Version = 1;

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
    /// Reads an entry; throws <see cref="JsonException"/>, <see cref="KeyNotFoundException"/>,
    /// <see cref="InvalidOperationException"/> or <see cref="FormatException"/> when it is not one (see <see cref="IsReadError"/>).
    /// </summary>
    public static OutboxEntry Parse(ReadOnlyMemory<byte> utf8)
    {
        using var doc = JsonDocument.Parse(utf8);
        var root = doc.RootElement;
        int version = root.GetProperty("version").GetInt32();
        if (version != Version) throw new FormatException($"outbox entry version {version} is not {Version}");
        return new OutboxEntry(
            root.GetProperty("digestId").GetString() ?? throw new FormatException("outbox entry has no digestId"),
            root.GetProperty("channel").GetString() ?? throw new FormatException("outbox entry has no channel"),
            root.GetProperty("failedAt").GetDateTimeOffset(),
            root.GetProperty("reason").GetString() ?? "",
            System.Text.Encoding.UTF8.GetBytes(root.GetProperty("payload").GetRawText()),
            System.Text.Encoding.UTF8.GetBytes(root.GetProperty("plainPayload").GetRawText()));
    }

    /// <summary>The exceptions <see cref="Parse"/> throws for something that is not an entry.</summary>
    public static bool IsReadError(Exception e) =>
        e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException;
}
