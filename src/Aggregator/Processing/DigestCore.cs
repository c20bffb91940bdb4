using Pipeline.Aggregator.Alerts;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Rollups;
using Pipeline.Aggregator.Risk;
using Pipeline.Aggregator.Silence;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Enrichment;
using Pipeline.Enricher.Model;

namespace Pipeline.Aggregator.Processing;

/// <summary>Settings of the processing core: the Enricher's and the burst window's.</summary>
public sealed record DigestCoreOptions
{
    public EnricherOptions Enricher { get; init; } = new();
    public BurstWindowOptions Window { get; init; } = new();
    /// <summary>When the same change in many accounts becomes one roll-up (run by the host beside the core: <see cref="RollupPlanner"/>).</summary>
    public RollupOptions Rollup { get; init; } = new();
    /// <summary>
    /// When an account-region that stopped sending is reported (<see cref="SilenceTracker"/>). The core runs the check
    /// itself for hosts that see the whole organisation in one process (`digest`, `demo`); the window handler turns it
    /// off in its per-shard cores and leaves it to the sweeper, which sees every shard's accounts in the carry table.
    /// </summary>
    public SilenceOptions Silence { get; init; } = new();

    public void Validate()
    {
        Enricher.Validate();
        Window.Validate();
        Rollup.Validate();
        Silence.Validate();
    }
}

/// <summary>
/// What one call of <see cref="DigestCore.ProcessAsync"/> produced: each record's outcome, in input order, the digests
/// that closed, in closing order, and the alerts raised (post these first: they are what cannot wait).
/// </summary>
public sealed record CoreBatch(IReadOnlyList<EnrichmentOutcome> Outcomes, IReadOnlyList<Digest> Digests)
{
    public static readonly CoreBatch Empty = new([], []);

    public IReadOnlyList<Alert> Alerts { get; init; } = [];

    /// <summary>Account-regions that fell silent or came back in this batch (not events: no count changes). Post them with the alerts.</summary>
    public IReadOnlyList<SilenceNotice> Silences { get; init; } = [];
}

/// <summary>A record after parse, dedupe and mute (<see cref="DigestCore.Classify"/>), with the arrival time the burst clock needs.</summary>
public readonly record struct ClassifiedRecord(EnrichmentOutcome Outcome, DateTimeOffset? ArrivalTime);

/// <summary>What <see cref="DigestCore.TakeAll(int)"/> hands on, and what it had to close or forget to fit the store's items.</summary>
public sealed record CarryHandOff(IReadOnlyList<AccountCarry> Carries, IReadOnlyList<Digest> ClosedEarly, long DedupeIdsDropped);

/// <summary>The core's whole state: open bursts (and counts waiting for a burst), the dedupe memory, the tally.</summary>
public sealed record CoreState(BurstAggregatorState Bursts, IReadOnlyList<Deduplicator.Entry> Dedupe, RunSummary Tally);

/// <summary>
/// The one processing core: records in; each record's outcome (rejected, duplicate, muted, accepted), the digests
/// that closed and the counts out. Every host runs records through this type and nothing else: `digest`, `demo`,
/// `tune`, `run`, the Lambda's window handler and the benchmark, so a replay shows what the function does.
/// </summary>
/// <remarks>
/// records → parse → dedupe → mute (<see cref="Enricher.Enrichment.Enricher"/>) → account names (a batch at a time)
/// → bursts (<see cref="BurstAggregator"/>) → digests, each outcome and digest counted once in the tally, so
/// <c>received = rejected + duplicates + muted + digested + open</c> holds after every call. Deterministic: it has no
/// clock but the events' own times; a host that must close bursts while the stream is idle calls <see cref="Advance"/>.
/// Not thread-safe: one host drives it, in order. <see cref="Snapshot"/> and <see cref="Restore"/> carry the whole
/// state between invocations (Lambda windows, `run`'s checkpoints).
/// </remarks>
public sealed class DigestCore
{
    private readonly Enricher.Enrichment.Enricher _enricher;
    private readonly BurstAggregator _aggregator;
    private ClassifiedRecord[] _classified = [];
    private RunTally _tally = new();
    private readonly SilenceTracker? _silence;
    private Sightings? _sightingsOut;
    private List<SilenceNotice>? _silencePending;

    public DigestCore(DigestCoreOptions options, IAccountDirectory directory, IMuteRules? mutes = null, RiskCatalog? catalog = null)
    {
        options.Validate();
        Options = options;
        _enricher = new Enricher.Enrichment.Enricher(options.Enricher, directory, mutes);
        _aggregator = new BurstAggregator(options.Window, catalog);
        if (options.Silence.Enabled)
        {
            _silence = new SilenceTracker(options.Silence);
            _aggregator.Applied = OnApplied;
        }
    }

    /// <summary>
    /// Also adds every accepted event to <paramref name="into"/> (null: stop), at the time it counts at: the window
    /// handler's sightings for the sweeper's silence check, made by the same rule as the core's own check.
    /// </summary>
    public void RecordSightingsInto(Sightings? into)
    {
        _sightingsOut = into;
        _aggregator.Applied = _silence is null && into is null ? null : OnApplied;
    }

    /// <summary>
    /// Silence notices not yet handed out: returns of silent account-regions seen since, then the account-regions that
    /// fell silent behind the organisation's watermark. <see cref="ProcessAsync(IReadOnlyList{ClassifiedRecord}, CancellationToken)"/>
    /// hands them out with its batch; a host that calls <see cref="SettleHeld"/> or <see cref="Flush"/> takes them after.
    /// </summary>
    public IReadOnlyList<SilenceNotice> TakeSilences()
    {
        if (_silence is null) return [];
        var pending = _silencePending;
        _silencePending = null;
        var silent = _silence.Check();
        if (pending is null) return silent;
        pending.AddRange(silent);
        return pending;
    }

    private void OnApplied(EnrichmentOutcome.Accepted a, DateTimeOffset at)
    {
        _sightingsOut?.Add(a.Event.Account, a.Event.Region, at);
        if (_silence is null) return;
        if (_silence.Observe(a.Event.Account, a.AccountInfo, a.Event.Region, at) is { } back) (_silencePending ??= []).Add(back);
        // After every event, not every batch: a silence that ends within one batch of a replay is still seen. Cheap:
        // the tracker scans only once the watermark passes the earliest time anything could fall silent.
        if (_silence.Check() is { Count: > 0 } silent) (_silencePending ??= []).AddRange(silent);
    }

    /// <summary>The silence check's state (null when it is off): account-regions tracked, silent now, the organisation's watermark.</summary>
    public SilenceTracker? Silence => _silence;

    public DigestCoreOptions Options { get; }

    public int OpenBursts => _aggregator.OpenBursts;

    /// <summary>Events counted in open bursts (received, not yet in any digest).</summary>
    public long OpenEventCount => _aggregator.OpenEventCount;

    /// <summary>Ids the dedupe memory forgot before their horizon because it reached its cap (worth a warning).</summary>
    public long DedupeEvictedEarly => _enricher.Deduplicator.EvictedEarly;

    /// <summary>The counts so far; events of open bursts are counted as open.</summary>
    public RunSummary Summary() => _tally.Summary(_aggregator.OpenEventCount);

    /// <summary>
    /// Runs a batch of records through the core. Account names are looked up <see cref="EnricherOptions.NamingBatchSize"/>
    /// events at a time (one request each); a failing directory leaves events with their ids alone, never fails the batch.
    /// </summary>
    public ValueTask<CoreBatch> ProcessAsync(IReadOnlyList<RawRecord> records, CancellationToken cancellationToken) =>
        ProcessAsync(Parse(records), cancellationToken);

    /// <summary>
    /// Reads a batch's records, and nothing else: the part of the work that needs no state. It touches nothing of the
    /// core's, so a host may run it while it fetches what the rest needs (the window handler parses a batch, a record at
    /// a time with <see cref="Parse(RawRecord)"/> into an array it rents, while the carries of its accounts are claimed:
    /// their dedupe ids are checked only by <see cref="ProcessAsync(IReadOnlyList{ParsedRecord}, CancellationToken)"/>).
    /// </summary>
    public ParsedRecord[] Parse(IReadOnlyList<RawRecord> records)
    {
        var parsed = new ParsedRecord[records.Count];
        for (int i = 0; i < records.Count; i++) parsed[i] = Parse(records[i]);
        return parsed;
    }

    /// <summary>One record read, as <see cref="Parse(IReadOnlyList{RawRecord})"/> reads each.</summary>
    public ParsedRecord Parse(RawRecord record) => _enricher.Parse(record);

    /// <summary>Whether a parsed record still reads its bytes afterwards (mute rules): see <see cref="Enricher.Enrichment.Enricher.ParseKeepsBytes"/>.</summary>
    public bool ParseKeepsBytes => _enricher.ParseKeepsBytes;

    /// <summary><see cref="ProcessAsync(IReadOnlyList{RawRecord}, CancellationToken)"/> of records already <see cref="Parse"/>d: dedupe, mute, names, bursts.</summary>
    public async ValueTask<CoreBatch> ProcessAsync(IReadOnlyList<ParsedRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0) return CoreBatch.Empty;
        // One array for every batch (one host drives the core, in order), emptied after each: a replay makes none per batch.
        if (_classified.Length < records.Count) _classified = new ClassifiedRecord[records.Count];
        _enricher.Deduplicator.Reserve(records.Count);
        try
        {
            for (int i = 0; i < records.Count; i++) _classified[i] = Classify(records[i]);
            return await ProcessAsync(new ArraySegment<ClassifiedRecord>(_classified, 0, records.Count), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Array.Clear(_classified, 0, records.Count);
        }
    }

    /// <summary>
    /// Dedupes and mutes one record already <see cref="Parse"/>d, in arrival order; see <see cref="Classify(RawRecord)"/>.
    /// The outcome holds no bytes of the record and nothing of this core's: other cores may process it too (`tune` classifies
    /// its input once, and replays it under each window setting).
    /// </summary>
    internal ClassifiedRecord Classify(ParsedRecord record) => new(_enricher.Classify(record), record.ArrivalTime);

    /// <summary>
    /// The first half of <see cref="ProcessAsync(IReadOnlyList{RawRecord}, CancellationToken)"/> for one record: parse, dedupe
    /// and mute it, in arrival order. The outcome no longer needs the record's bytes, so a reader may reuse them for the next
    /// record (what the Rx adapter does with a file). Hand the results on, in order, to <see cref="ProcessAsync(IReadOnlyList{ClassifiedRecord}, CancellationToken)"/>.
    /// </summary>
    public ClassifiedRecord Classify(RawRecord record) => new(_enricher.Classify(record), record.ArrivalTime);

    /// <summary>The second half: names a batch of classified records' accounts, then windows them into bursts.</summary>
    public async ValueTask<CoreBatch> ProcessAsync(IReadOnlyList<ClassifiedRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0) return CoreBatch.Empty;
        var outcomes = await NameAsync(records, cancellationToken).ConfigureAwait(false);
        List<Digest>? digests = null;
        for (int i = 0; i < outcomes.Count; i++)
        {
            _tally.Count(outcomes[i]);
            Count(_aggregator.Feed(outcomes[i], records[i].ArrivalTime), ref digests);
        }
        // Silence notices are not events: they only watch the accepted ones go by (OnApplied).
        return new CoreBatch(outcomes, digests ?? (IReadOnlyList<Digest>)[]) { Alerts = TakeAlerts(), Silences = TakeSilences() };
    }

    /// <summary>
    /// The accounts of a batch of classified records named, in one directory request per
    /// <see cref="EnricherOptions.NamingBatchSize"/> events (as the directory's batch reads allow); the first step of
    /// <see cref="ProcessAsync(IReadOnlyList{ClassifiedRecord}, CancellationToken)"/>. A failing directory leaves the events
    /// with their ids alone. With a directory in memory, <see cref="Classify(RawRecord)"/> named them already.
    /// </summary>
    internal async ValueTask<IReadOnlyList<EnrichmentOutcome>> NameAsync(IReadOnlyList<ClassifiedRecord> records, CancellationToken cancellationToken)
    {
        int size = Options.Enricher.NamingBatchSize;
        var outcomes = new List<EnrichmentOutcome>(records.Count);
        var chunk = new List<EnrichmentOutcome>(Math.Min(size, records.Count));
        for (int start = 0; start < records.Count; start += size)
        {
            cancellationToken.ThrowIfCancellationRequested();
            chunk.Clear();
            for (int i = start; i < Math.Min(records.Count, start + size); i++) chunk.Add(records[i].Outcome);
            outcomes.AddRange(await _enricher.AttachNamesAsync(chunk, cancellationToken).ConfigureAwait(false));
        }
        return outcomes;
    }

    /// <summary>
    /// Alerts raised outside <see cref="ProcessAsync"/> (records a replay held for its clock, settled later); a host that
    /// calls <see cref="SettleHeld"/> or <see cref="Flush"/> posts these too.
    /// </summary>
    public IReadOnlyList<Alert> TakeAlerts()
    {
        var alerts = _aggregator.TakeAlerts();
        _tally.CountAlerts(alerts.Count);
        return alerts;
    }

    /// <summary>Moves the processing clock on by <paramref name="elapsed"/> without an event (an idle live stream); returns what that closes.</summary>
    public IReadOnlyList<Digest> Advance(TimeSpan elapsed) => Counted(_aggregator.Advance(elapsed));

    /// <summary>Confirms the clock jumps a replay holds (records without arrival times) before a host stops or hands state on; returns what closes.</summary>
    public IReadOnlyList<Digest> SettleHeld() => Counted(_aggregator.SettleHeld());

    /// <summary>Moves the processing clock to <paramref name="now"/> (a window's end, the sweeper's wall clock); returns what that closes.</summary>
    public IReadOnlyList<Digest> AdvanceTo(DateTimeOffset now) => Counted(_aggregator.AdvanceTo(now));

    /// <summary>Accounts the core holds anything of: an open burst, counts waiting for one, dedupe ids.</summary>
    public IReadOnlyList<string> Accounts =>
        [.. _aggregator.Accounts.Union(_enricher.Deduplicator.Entries.Select(e => e.Account), StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The processing clock: the newest arrival time seen, or where <see cref="AdvanceTo"/> moved it.</summary>
    public DateTimeOffset Clock => _aggregator.Clock;

    /// <summary>
    /// Takes over an account's carry (its open burst, waiting counts and dedupe memory, from an earlier window or run).
    /// Returns what closes at once: a carried burst of an account that already has one here (a carry found late).
    /// </summary>
    public IReadOnlyList<Digest> Put(AccountCarry carry)
    {
        _enricher.Deduplicator.Restore(carry.Dedupe);
        if (carry.Open is { } open) _tally.CountCarriedIn(open.TotalEventCount);
        return Counted(_aggregator.Put(carry.Open, carry.Pending));
    }

    /// <summary>
    /// Hands every account's open burst, waiting counts and dedupe memory on (to the next window or run) and leaves
    /// the core with no burst open. Accounts with nothing to carry are left out.
    /// </summary>
    public IReadOnlyList<AccountCarry> TakeAll() => TakeAll(int.MaxValue).Carries;

    /// <summary>
    /// <see cref="TakeAll()"/> for a store whose items hold at most <paramref name="maxCarryBytes"/> encoded: a carry
    /// over it loses its oldest dedupe ids first (half at a time), and when even its burst alone is too large the burst
    /// closes now (<c>window-end</c>, counted as a digest) instead of failing the write.
    /// </summary>
    public CarryHandOff TakeAll(int maxCarryBytes)
    {
        var dedupe = _enricher.Deduplicator.Entries.GroupBy(e => e.Account, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<Deduplicator.Entry>)[.. g], StringComparer.Ordinal);
        var carries = new List<AccountCarry>();
        List<Digest>? closedEarly = null;
        long dropped = 0;
        foreach (var account in _aggregator.Accounts.Union(dedupe.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList())
        {
            var (open, pending) = _aggregator.Take(account);
            var carry = new AccountCarry(account, open, pending, dedupe.GetValueOrDefault(account) ?? []);
            if (maxCarryBytes < int.MaxValue)
            {
                while (carry.Dedupe.Count > 0 && AccountCarryCodec.Encode(carry).Length > maxCarryBytes)
                {
                    int drop = Math.Max(1, carry.Dedupe.Count / 2);
                    dropped += drop;
                    carry = carry with { Dedupe = [.. carry.Dedupe.OrderBy(e => e.TimeTicks).Skip(drop)] };
                }
                if (carry.Open is { } tooLarge && AccountCarryCodec.Encode(carry).Length > maxCarryBytes)
                {
                    var digest = tooLarge.ToDigest(BurstCloseReason.WindowEnd, Options.Window, _aggregator.Clock);
                    _tally.Count(digest);
                    (closedEarly ??= []).Add(digest);
                    carry = carry with { Open = null };
                }
            }
            if (carry.Open is { } carried) _tally.CountCarriedOut(carried.TotalEventCount);
            carries.Add(carry);
        }
        return new CarryHandOff(carries, closedEarly ?? (IReadOnlyList<Digest>)[], dropped);
    }
    /// <summary>Closes every open burst: end of input, or the end of a processing window.</summary>
    public IReadOnlyList<Digest> Flush(BurstCloseReason reason = BurstCloseReason.EndOfInput) => Counted(_aggregator.Flush(reason));

    /// <summary>Closes the oldest open burst early (a host whose state must stay under a size limit); null when none is open.</summary>
    public Digest? CloseOldest(BurstCloseReason reason = BurstCloseReason.WindowEnd)
    {
        var digest = _aggregator.CloseOldest(reason);
        if (digest is not null) _tally.Count(digest);
        return digest;
    }

    /// <summary>The whole state, to continue exactly here in another process. Encode it before processing more records.</summary>
    public CoreState Snapshot() => new(_aggregator.Snapshot(), _enricher.Deduplicator.CopyEntries(), Summary());

    /// <summary>Continues from a <see cref="Snapshot"/>; only on a fresh core.</summary>
    public void Restore(CoreState state)
    {
        if (_tally.Received > 0 || _tally.CarriedIn > 0 || _aggregator.OpenBursts > 0) throw new InvalidOperationException("Restore needs a fresh core.");
        _aggregator.Restore(state.Bursts);
        _enricher.Deduplicator.Restore(state.Dedupe);
        _tally = RunTally.Restore(state.Tally);
    }

    private IReadOnlyList<Digest> Counted(IReadOnlyList<Digest> digests)
    {
        foreach (var digest in digests) _tally.Count(digest);
        return digests;
    }

    private void Count(IReadOnlyList<Digest> closed, ref List<Digest>? into)
    {
        if (closed.Count == 0) return;
        into ??= [];
        foreach (var digest in closed)
        {
            _tally.Count(digest);
            into.Add(digest);
        }
    }
}
