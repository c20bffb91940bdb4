using System.Text.Json;
using Pipeline.Lambda.Carry;

namespace Pipeline.Cli.Hosting.Kinesis;

/// <summary>
/// The carry store of a local `pipeline run`: every account's item in one JSON file (carry bytes as base64), rewritten
/// whole after every call that changes something, through a temporary file and an atomic rename, so a process killed
/// at any moment leaves the carries as they were before or after a call, never half of one. The rules are the DynamoDB
/// store's (<see cref="CarryTable"/>), so a run behaves as the function does, leases and retried calls included.
/// It also keeps the sweeper's totals (<see cref="CarryWrite.SweptCounts"/>), in the same write as the carries they came
/// from: a process killed after a sweep wrote an account back but before the counts were saved elsewhere lost them.
/// </summary>
internal sealed class FileCarryStore(string path) : ICarryStore
{
    private const int FormatVersion = 1;

    private readonly SemaphoreSlim _gate = new(1, 1);

    // Loaded on first use; dropped when a save fails, so memory never runs ahead of the file: the next call reloads.
    private CarryTable? _table;
    private RunTotals _swept = RunTotals.Zero;

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public async Task<IReadOnlyList<ClaimedCarry>> ClaimAsync(IReadOnlyCollection<string> accounts, string owner, string token, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        CarryClaimResult result;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var table = await LoadAsync(cancellationToken).ConfigureAwait(false);
            result = table.Claim(accounts, owner, token, now, leaseUntil);
            if (result.Claimed.Count > 0) await SaveAsync(table).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        // Judged after saving, as in DynamoDB: the accounts claimed stay claimed when others conflict.
        return result.Conclude();
    }

    public async Task ReleaseAsync(IReadOnlyList<CarryWrite> writes, string owner, string token, CancellationToken cancellationToken)
    {
        CarryReleaseResult result;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var table = await LoadAsync(cancellationToken).ConfigureAwait(false);
            result = table.Release(writes, owner, token);
            // Counted only where the write applied: a write refused because a window took the account over leaves the
            // carry to that window, which counts its events when it closes them. (Only a sweep's writes carry counts.)
            foreach (var write in writes)
                if (write.SweptCounts is { } counts && !result.Conflicts.Any(c => c.Account == write.Account)) _swept = _swept.Add(counts);
            if (result.Applied > 0) await SaveAsync(table).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        result.ThrowIfConflicts();
    }

    /// <summary>What every sweep of this file's carries counted, over every run that used it.</summary>
    public Task<RunTotals> SweptAsync(CancellationToken cancellationToken) => ReadAsync(_ => _swept, cancellationToken);

    public Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        ReadAsync(table => table.Due(now, limit), cancellationToken);

    public Task PutHeldAsync(IReadOnlyList<HeldDigest> digests, CancellationToken cancellationToken) =>
        ChangeAsync(table => { table.PutHeld(digests); return digests.Count > 0; }, cancellationToken);

    public Task<IReadOnlyList<StoredHeld>> ListHeldAsync(CancellationToken cancellationToken) =>
        ReadAsync(table => table.ListHeld(), cancellationToken);

    public Task DeleteHeldAsync(IReadOnlyCollection<string> digestIds, CancellationToken cancellationToken) =>
        ChangeAsync(table => table.DeleteHeld(digestIds) > 0, cancellationToken);

    public async Task<bool> TryLeasePlannerAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        bool leased = false;
        await ChangeAsync(table => leased = table.LeasePlanner(owner, now, leaseUntil), cancellationToken).ConfigureAwait(false);
        return leased;
    }

    public Task ReleasePlannerAsync(string owner, CancellationToken cancellationToken) =>
        ChangeAsync(table => { table.ReleasePlanner(owner); return true; }, cancellationToken);

    /// <summary>Reads what <paramref name="read"/> takes from the table (loaded first, with the sweeps' counts), under the gate.</summary>
    private async Task<T> ReadAsync<T>(Func<CarryTable, T> read, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return read(await LoadAsync(cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Applies <paramref name="change"/> under the gate and saves when it says something changed.</summary>
    private async Task ChangeAsync(Func<CarryTable, bool> change, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var table = await LoadAsync(cancellationToken).ConfigureAwait(false);
            if (change(table)) await SaveAsync(table).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<CarryTable> LoadAsync(CancellationToken cancellationToken)
    {
        if (_table is not null) return _table;
        _swept = RunTotals.Zero;
        if (!File.Exists(Path)) return _table = new CarryTable();
        var bytes = await File.ReadAllBytesAsync(Path, cancellationToken).ConfigureAwait(false);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            var version = root.GetProperty("version").GetInt32();
            if (version != FormatVersion) throw new FormatException($"unknown version {version}");
            // "held" came with roll-ups (issue 13); a file written before has none.
            var held = root.TryGetProperty("held", out var heldArray) ? heldArray.EnumerateArray().Select(ReadHeld).ToList() : [];
            // "swept" came with the sweeper's counts moving here; before, they were a checkpoint (~sweeper), still added up.
            _swept = ShardCheckpoint.ReadTotals(root, "swept");
            return _table = new CarryTable(root.GetProperty("carries").EnumerateArray().Select(Read).Select(EndDeadSweepLease).ToList(), held);
        }
        // What JsonDocument and JsonElement throw for text that is not the format: bad JSON, a missing property
        // (KeyNotFoundException), a wrong kind (InvalidOperationException), bad base64 or version (FormatException),
        // an account twice (ArgumentException).
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new Enricher.Reading.InputException(
                $"carry file '{Path}' is damaged ({e.Message}); move it away to start over (the open bursts kept in it are lost).", e);
        }
    }

    /// <summary>
    /// One run at a time uses this file (the digest ledger beside it is held exclusively), so a carry that a sweep holds
    /// when the file is first loaded was claimed by a run that is gone, killed between its claim and its write-back. Its
    /// lease ends now, not minutes later: otherwise this run's windows would fail on the account until they gave up, and
    /// its end-of-input sweep would leave the burst open. Posting it again is safe: the ledger knows what that sweep
    /// posted. Windows' claims stay, since the shard's next call resumes them as the same owner (the ledger's pending
    /// claims are released the same way, in <see cref="FileDigestLedger"/>).
    /// </summary>
    private static CarryItem EndDeadSweepLease(CarryItem item) =>
        item.Owner?.StartsWith(CarrySweeper.OwnerPrefix, StringComparison.Ordinal) == true ? item with { Owner = null, OwnedUntilMs = 0 } : item;

    private static CarryItem Read(JsonElement e) => new(
        Account: e.GetProperty("account").GetString() ?? throw new FormatException("an item without an account"),
        State: e.TryGetProperty("state", out var state) ? state.GetBytesFromBase64() : null,
        Prev: e.TryGetProperty("prev", out var prev) ? prev.GetBytesFromBase64() : null,
        Writer: e.TryGetProperty("writer", out var writer) ? writer.GetString() : null,
        Owner: e.TryGetProperty("owner", out var owner) ? owner.GetString() : null,
        OwnedUntilMs: e.TryGetProperty("ownedUntil", out var until) ? until.GetInt64() : 0,
        DueAtMs: e.TryGetProperty("dueAt", out var due) ? due.GetInt64() : null,
        ExpiresAtSeconds: e.GetProperty("expiresAt").GetInt64());

    private static HeldItem ReadHeld(JsonElement e) => new(
        DigestId: e.GetProperty("digestId").GetString() ?? throw new FormatException("a held digest without an id"),
        Bytes: e.GetProperty("digest").GetBytesFromBase64(),
        WindowMs: e.GetProperty("windowMs").GetInt64(),
        ExpiresAtSeconds: e.GetProperty("expiresAt").GetInt64());

    // Not cancellable: the table in memory has changed already, and a half-done save would only force a reload.
    private async Task SaveAsync(CarryTable table)
    {
        try
        {
            var temp = Path + ".tmp";
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await using (var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true }))
                {
                    w.WriteStartObject();
                    w.WriteNumber("version", FormatVersion);
                    ShardCheckpoint.WriteTotals(w, "swept", _swept);
                    w.WriteStartArray("carries");
                    foreach (var item in table.Items.OrderBy(i => i.Account, StringComparer.Ordinal)) Write(w, item);
                    w.WriteEndArray();
                    w.WriteStartArray("held");
                    foreach (var held in table.HeldItems)
                    {
                        w.WriteStartObject();
                        w.WriteString("digestId", held.DigestId);
                        w.WriteNumber("windowMs", held.WindowMs);
                        w.WriteNumber("expiresAt", held.ExpiresAtSeconds);
                        w.WriteBase64String("digest", held.Bytes);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, Path, overwrite: true);
        }
        catch
        {
            _table = null;
            throw;
        }
    }

    private static void Write(Utf8JsonWriter w, CarryItem item)
    {
        w.WriteStartObject();
        w.WriteString("account", item.Account);
        if (item.Owner is not null)
        {
            w.WriteString("owner", item.Owner);
            w.WriteNumber("ownedUntil", item.OwnedUntilMs);
        }
        if (item.Writer is not null) w.WriteString("writer", item.Writer);
        if (item.DueAtMs is { } due) w.WriteNumber("dueAt", due);
        w.WriteNumber("expiresAt", item.ExpiresAtSeconds);
        if (item.State is not null) w.WriteBase64String("state", item.State);
        if (item.Prev is not null) w.WriteBase64String("prev", item.Prev);
        w.WriteEndObject();
    }
}
