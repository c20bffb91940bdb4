using System.Text.Json;
using System.Text;
using Pipeline.Lambda.Ledger;
using Pipeline.Slack.Threads;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>
/// The digest ledger of a local `pipeline run`: an append-only file of claims and posts, flushed to disk on
/// every write, so a run killed at any moment and restarted posts no digest it had recorded as posted. The
/// file is held open exclusively while the run lives: a claim found pending at start-up belonged to a process
/// that is gone, so it is released rather than waited for (there is no lease to wait out locally).
/// It is also the run's <see cref="IAlertThreads"/>, as the DynamoDB ledger is the function's: an alert's Slack message
/// is a line <c>{"id":…,"status":"thread","token":"","channel":…,"ts":…}</c>, so a restarted run still threads the
/// digest of a burst whose alert the previous run posted. (Its status and token keep the line readable by a ledger
/// that predates threads, which treats it as one more unposted state of the id.)
/// </summary>
internal sealed class FileDigestLedger : IDigestLedger, IAlertThreads, IDisposable
{
    private const string Thread = "thread";
    private readonly FileStream _file;
    private readonly Dictionary<string, (string Status, string Token)> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<(string AlertId, string Channel), string> _threads = [];
    private readonly object _gate = new();
    /// <summary>Claims taken by this process and not yet posted or released: held by a live caller, so not free.</summary>
    private readonly HashSet<string> _held = new(StringComparer.Ordinal);

    public FileDigestLedger(string path)
    {
        try
        {
            _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new Enricher.Reading.InputException($"the digest ledger '{path}' is in use: is another `pipeline run` with the same checkpoint running?", e);
        }
        using (var reader = new StreamReader(_file, Encoding.UTF8, leaveOpen: true))
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                if (line.Length == 0) continue;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var id = doc.RootElement.GetProperty("id").GetString()!;
                    var status = doc.RootElement.GetProperty("status").GetString()!;
                    var token = doc.RootElement.GetProperty("token").GetString()!;
                    if (status == Thread)
                    {
                        _threads[(id, doc.RootElement.GetProperty("channel").GetString()!)] = doc.RootElement.GetProperty("ts").GetString()!;
                        continue;
                    }
                    if (status == "posted" || !_items.TryGetValue(id, out var known) || known.Status != "posted")
                        _items[id] = (status, token);
                }
                catch (JsonException)
                {
                    // A line cut short by a kill: the write it stood for did not complete, so it never counted.
                }
            }
        }
        _file.Seek(0, SeekOrigin.End);
    }

    public Task<LedgerClaim> TryClaimAsync(string digestId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_items.TryGetValue(digestId, out var item) && item.Status == "posted")
                return Task.FromResult(new LedgerClaim(digestId, ClaimStatus.AlreadyPosted, item.Token));
            // Exactly one claimer at a time, as the table's conditional write gives: a claim pending from start-up belonged
            // to a process that is gone and is free, but one this process holds is not.
            if (_held.Contains(digestId)) return Task.FromResult(new LedgerClaim(digestId, ClaimStatus.InProgress, item.Token));
            var token = Guid.NewGuid().ToString("N");
            Append(digestId, "claimed", token);
            _held.Add(digestId);
            return Task.FromResult(new LedgerClaim(digestId, ClaimStatus.Claimed, token));
        }
    }

    public Task MarkPostedAsync(LedgerClaim claim, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Given up even when the write fails, or the digest would stay "in progress" until the run restarts.
            try
            {
                Append(claim.DigestId, "posted", claim.Token);
            }
            finally
            {
                _held.Remove(claim.DigestId);
            }
        }
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(LedgerClaim claim, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Given up even when the write fails, or the digest would stay "in progress" until the run restarts.
            try
            {
                Append(claim.DigestId, "released", claim.Token);
            }
            finally
            {
                _held.Remove(claim.DigestId);
            }
        }
        return Task.CompletedTask;
    }

    public Task RememberAsync(string alertId, string channel, string ts, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _threads[(alertId, channel)] = ts;
            Write($"{{\"id\":{JsonSerializerEscape(alertId)},\"status\":\"{Thread}\",\"token\":\"\",\"channel\":{JsonSerializerEscape(channel)},\"ts\":{JsonSerializerEscape(ts)}}}\n");
        }
        return Task.CompletedTask;
    }

    public Task<string?> FindAsync(string alertId, string channel, CancellationToken cancellationToken)
    {
        lock (_gate) return Task.FromResult(_threads.GetValueOrDefault((alertId, channel)));
    }

    private void Append(string id, string status, string token)
    {
        _items[id] = (status, token);
        Write($"{{\"id\":{JsonSerializerEscape(id)},\"status\":\"{status}\",\"token\":\"{token}\"}}\n");
    }

    private void Write(string line)
    {
        _file.Write(Encoding.UTF8.GetBytes(line));
        _file.Flush(flushToDisk: true);
    }

    private static string JsonSerializerEscape(string s)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) w.WriteStringValue(s);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public void Dispose() => _file.Dispose();
}
