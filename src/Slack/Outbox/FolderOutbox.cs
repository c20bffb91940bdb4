using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Pipeline.Slack.Outbox;

/// <summary>
/// The local outbox: one JSON file per digest, named so that file-name order is failure order
/// (<c>20261125T140211.1234567Z-000001-&lt;digest id&gt;.json</c>). Files are written to a temporary name and
/// renamed, so a crash never leaves half an entry. The secret is not in them: only the payloads and the channel.
/// </summary>
public sealed class FolderOutbox : IDigestOutbox
{
    private readonly string _directory;
    private int _sequence;

    public FolderOutbox(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
    }

    public string Directory => _directory;

    public async Task<string> SaveAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        System.IO.Directory.CreateDirectory(_directory);
        int seq = Interlocked.Increment(ref _sequence);
        string name = $"{entry.FailedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fffffff'Z'", CultureInfo.InvariantCulture)}-{seq:D6}-{SafeName(entry.DigestId)}.json";
        string path = Path.Combine(_directory, name);
        string temp = path + ".tmp";

        await using (var file = File.Create(temp))
        {
            await using var writer = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
            OutboxEntryJson.Write(writer, entry);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: false);
        return path;
    }

    public async IAsyncEnumerable<OutboxItem> ReadAllAsync(Action<string, string>? unreadable, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(_directory)) yield break;
        var files = System.IO.Directory.GetFiles(_directory, "*.json");
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var path in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            OutboxEntry? entry = null;
            string? problem = null;
            try
            {
                var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
                entry = OutboxEntryJson.Parse(bytes);
            }
            catch (Exception e) when (e is IOException || OutboxEntryJson.IsReadError(e))
            {
                problem = e.GetType().Name + ": " + e.Message;
            }
            if (entry is null)
            {
                unreadable?.Invoke(path, problem ?? "unreadable");
                continue;
            }
            yield return new OutboxItem(path, entry);
        }
    }

    public Task DeleteAsync(string location, CancellationToken cancellationToken)
    {
        File.Delete(location);
        return Task.CompletedTask;
    }

    /// <summary>Digest ids are ours, but a file name must not carry path separators or odd characters from anywhere.</summary>
    private static string SafeName(string id)
    {
        var chars = id.Take(80).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        return chars.Length == 0 ? "digest" : new string(chars);
    }
}
