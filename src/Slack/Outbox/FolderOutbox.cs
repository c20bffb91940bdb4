using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Pipeline.Slack.Outbox;

/// <summary>
/// The local outbox: one JSON file per digest, named so that file-name order is failure order
/// (<c>20261125T140211.1234567Z-000001-&lt;digest id&gt;.json</c>). Files are written to a temporary name and
/// renamed, so a crash never leaves half an entry. The secret is not in them: only the payloads and the channel.
/// <para>
/// Several readers may share the folder (two <c>pipeline outbox send</c> started together): a reader <b>claims</b> an
/// entry before it reads it, by renaming it to <c>&lt;name&gt;.claim-&lt;pid&gt;-&lt;unix ms&gt;-&lt;host&gt;</c>. A rename
/// is atomic, so exactly one reader gets each entry; the others no longer see it. The claim is the location handed
/// out: deleting it removes the entry (after Slack accepted it); an entry not deleted by the time its reader asks for
/// the next one, or stops, is renamed back at once, for the next run.
/// </para>
/// <para>
/// A claim left by a reader that died (killed, power cut) is released by the next reader when its owner process is
/// gone (same host) or when it is older than <see cref="StaleClaimAge"/>, longer than any one resend can take. An
/// entry that is not a valid outbox entry (<see cref="OutboxEntryJson"/>) is never sent: it is moved to the
/// <c>rejected/</c> subfolder, under its own name, and reported.
/// </para>
/// </summary>
public sealed class FolderOutbox : IDigestOutbox
{
    /// <summary>Where invalid entries are moved, inside the outbox folder.</summary>
    public const string RejectedFolder = "rejected";

    /// <summary>
    /// Default <see cref="StaleClaimAge"/>: 30 min, well over the longest one resend can hold a claim (5 attempts of
    /// at most 10 s each, waits of at most 2 min between them: about 11 min).
    /// </summary>
    public static readonly TimeSpan DefaultStaleClaimAge = TimeSpan.FromMinutes(30);

    private const string ClaimMarker = ".claim-";

    private const string TempSuffix = ".tmp";

    private static readonly string Host = HostTag(Environment.MachineName);

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private int _sequence;

    /// <param name="time">The clock of claim times (tests move it to make a claim stale).</param>
    /// <param name="log">Where released stale claims and lost claims are reported.</param>
    public FolderOutbox(string directory, TimeProvider? time = null, TimeSpan? staleClaimAge = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        _time = time ?? TimeProvider.System;
        StaleClaimAge = staleClaimAge ?? DefaultStaleClaimAge;
        if (StaleClaimAge <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(staleClaimAge), "a claim must be allowed some time");
        _log = log ?? (_ => { });
    }

    public string Directory => _directory;

    /// <summary>A claim older than this is released by the next reader even when its owner process still runs.</summary>
    public TimeSpan StaleClaimAge { get; }

    public async Task<string> SaveAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var bytes = OutboxEntryJson.ToUtf8(entry);
        // Refused here rather than set aside at resend: the caller must know this digest is not kept.
        if (bytes.Length > OutboxEntryJson.MaxEntryBytes)
            throw new OutboxEntryTooLargeException(
                $"digest {entry.DigestId} cannot be kept in the outbox: its entry is {bytes.Length:N0} bytes, over the limit of {OutboxEntryJson.MaxEntryBytes:N0}.");
        System.IO.Directory.CreateDirectory(_directory);
        int seq = Interlocked.Increment(ref _sequence);
        string name = $"{entry.FailedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fffffff'Z'", CultureInfo.InvariantCulture)}-{seq:D6}-{SafeName(entry.DigestId)}.json";
        string path = Path.Combine(_directory, name);
        string temp = path + TempSuffix;

        try
        {
            await using (var file = File.Create(temp))
            {
                await file.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: false);
        }
        catch
        {
            // Cancelled or failed before the rename: no half-written file is left behind (a crash's is cleaned by a later read).
            TryDelete(temp);
            throw;
        }
        return path;
    }

    /// <summary>
    /// Entries in failure order, each claimed by this reader while it is handed out (see the class). Entries another
    /// reader holds are skipped; invalid ones are moved to <c>rejected/</c> and reported through
    /// <paramref name="unreadable"/>; ones that cannot be read (permissions) are reported and left in place.
    /// </summary>
    public async IAsyncEnumerable<OutboxItem> ReadAllAsync(Action<string, string>? unreadable, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!System.IO.Directory.Exists(_directory)) yield break;
        ReleaseStaleClaims();
        DeleteStaleTemporaryFiles();
        var files = System.IO.Directory.GetFiles(_directory, "*.json");
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var path in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryClaim(path) is not { } claim) continue; // another reader has it, or has already sent it
            try
            {
                var (entry, problem, invalid) = await ReadClaimedAsync(claim, cancellationToken).ConfigureAwait(false);
                if (entry is null)
                {
                    if (invalid) problem += "; moved to " + SetAside(claim, path);
                    unreadable?.Invoke(path, problem!);
                    continue;
                }
                yield return new OutboxItem(claim, entry);
            }
            finally
            {
                // Still there: not deleted (its resend failed, or the reader stopped). Give it back for the next run.
                if (File.Exists(claim)) Release(claim, path);
            }
        }
    }

    /// <summary>Deletes a claimed entry (its location); says so when the claim was taken from this reader as stale.</summary>
    public Task DeleteAsync(string location, CancellationToken cancellationToken)
    {
        if (!File.Exists(location))
            _log($"outbox entry {Path.GetFileName(location)} was no longer claimed by this process when it was sent (released as stale?): another send may post it again");
        File.Delete(location);
        return Task.CompletedTask;
    }

    /// <summary>Entries waiting (claimed by a reader or not), not counting rejected ones.</summary>
    public int CountWaiting() =>
        System.IO.Directory.Exists(_directory)
            ? System.IO.Directory.EnumerateFiles(_directory).Count(f => f.EndsWith(".json", StringComparison.Ordinal) || ParseClaim(f) is not null)
            : 0;

    /// <summary>Entries moved to <c>rejected/</c>, by this run or an earlier one.</summary>
    public int CountRejected()
    {
        var rejected = Path.Combine(_directory, RejectedFolder);
        return System.IO.Directory.Exists(rejected) ? System.IO.Directory.EnumerateFiles(rejected).Count() : 0;
    }

    /// <summary>The name a claim of <paramref name="entryPath"/> has: who holds it, since when, on which host.</summary>
    internal static string ClaimPath(string entryPath, int pid, DateTimeOffset at, string host) =>
        $"{entryPath}{ClaimMarker}{pid.ToString(CultureInfo.InvariantCulture)}-{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}-{host}";

    /// <summary>This machine, as claims name it.</summary>
    internal static string ThisHost => Host;

    private string? TryClaim(string path)
    {
        string claim = ClaimPath(path, Environment.ProcessId, _time.GetUtcNow(), Host);
        try
        {
            // Without overwrite, and to a name no one else uses, this is rename(2) of the entry: of two readers
            // renaming it at once exactly one succeeds; the other finds the entry gone.
            File.Move(path, claim, overwrite: false);
            return claim;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private void Release(string claim, string path)
    {
        try
        {
            File.Move(claim, path, overwrite: false);
        }
        catch (FileNotFoundException)
        {
            // Released by someone else already (a stale-claim release): nothing to give back.
        }
        catch (IOException e)
        {
            _log($"outbox entry {Path.GetFileName(claim)} could not be given back under its own name ({e.Message}); the next send releases it once its claim is stale");
        }
    }

    /// <summary>Claims whose owner is gone (same host) or that are older than <see cref="StaleClaimAge"/> go back to their entries.</summary>
    private void ReleaseStaleClaims()
    {
        var now = _time.GetUtcNow();
        foreach (var file in System.IO.Directory.EnumerateFiles(_directory, "*" + ClaimMarker + "*"))
        {
            if (ParseClaim(file) is not { } claim) continue;
            bool ownerGone = claim.Host == Host && !IsRunning(claim.Pid);
            bool old = now - claim.At >= StaleClaimAge;
            if (!ownerGone && !old) continue;
            Release(file, claim.EntryPath);
            _log($"outbox entry {Path.GetFileName(claim.EntryPath)} was claimed by process {claim.Pid} on {claim.Host} at {claim.At:u}, which "
                 + (ownerGone ? "is no longer running" : $"is more than {StaleClaimAge.TotalMinutes:0} min ago") + ": released for this send");
        }
    }

    /// <summary>
    /// Temporary files (<c>*.json.tmp</c>) older than <see cref="StaleClaimAge"/>: left by a writer that crashed before its
    /// rename, never an entry. A younger one may be a save in progress and is left alone. Never read as entries
    /// (only <c>*.json</c> are).
    /// </summary>
    private void DeleteStaleTemporaryFiles()
    {
        var now = _time.GetUtcNow();
        foreach (var file in System.IO.Directory.EnumerateFiles(_directory, "*.json" + TempSuffix))
        {
            DateTimeOffset written;
            try
            {
                written = File.GetLastWriteTimeUtc(file);
            }
            catch (IOException)
            {
                continue;
            }
            if (now - written < StaleClaimAge) continue;
            if (TryDelete(file)) _log($"outbox: deleted {Path.GetFileName(file)}, a temporary file left by a save that never finished (written {written:u})");
        }
    }

    private static bool TryDelete(string file)
    {
        try
        {
            File.Delete(file);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private sealed record Claim(string EntryPath, int Pid, DateTimeOffset At, string Host);

    private static Claim? ParseClaim(string file)
    {
        int marker = file.LastIndexOf(ClaimMarker, StringComparison.Ordinal);
        if (marker < 0) return null;
        var parts = file[(marker + ClaimMarker.Length)..].Split('-', 3);
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long ms)
            || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            return null;
        string entry = file[..marker];
        return entry.EndsWith(".json", StringComparison.Ordinal) ? new Claim(entry, pid, DateTimeOffset.FromUnixTimeMilliseconds(ms), parts[2]) : null;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return true;
        }
        catch (ArgumentException)
        {
            return false; // no process with that id
        }
    }

    private static async Task<(OutboxEntry? Entry, string? Problem, bool Invalid)> ReadClaimedAsync(string claim, CancellationToken cancellationToken)
    {
        try
        {
            // Checked before reading: a huge file is not loaded to learn that it is not an entry.
            long length = new FileInfo(claim).Length;
            if (length > OutboxEntryJson.MaxEntryBytes)
                return (null, $"it is {length:N0} bytes, over the limit of {OutboxEntryJson.MaxEntryBytes:N0} for an outbox entry", true);
            var bytes = await File.ReadAllBytesAsync(claim, cancellationToken).ConfigureAwait(false);
            return (OutboxEntryJson.Parse(bytes), null, false);
        }
        catch (Exception e) when (OutboxEntryJson.IsReadError(e))
        {
            return (null, e.Message, true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot be read ({e.GetType().Name}: {e.Message}); left in place", false);
        }
    }

    /// <summary>Moves an invalid entry to <c>rejected/</c> under its own name (numbered if taken); returns where.</summary>
    private string SetAside(string claim, string path)
    {
        string folder = Path.Combine(_directory, RejectedFolder);
        System.IO.Directory.CreateDirectory(folder);
        string name = Path.GetFileName(path);
        for (int n = 1; ; n++)
        {
            string target = Path.Combine(folder, n == 1 ? name : $"{Path.GetFileNameWithoutExtension(name)}.{n}.json");
            try
            {
                File.Move(claim, target, overwrite: false);
                return Path.Combine(RejectedFolder, Path.GetFileName(target));
            }
            catch (IOException) when (File.Exists(target))
            {
            }
        }
    }

    /// <summary>Digest ids are ours, but a file name must not carry path separators or odd characters from anywhere.</summary>
    private static string SafeName(string id)
    {
        var chars = id.Take(80).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        return chars.Length == 0 ? "digest" : new string(chars);
    }

    /// <summary>The host name as it can stand in a file name.</summary>
    private static string HostTag(string machine)
    {
        var chars = machine.Take(63).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_').ToArray();
        return chars.Length == 0 ? "host" : new string(chars);
    }
}
