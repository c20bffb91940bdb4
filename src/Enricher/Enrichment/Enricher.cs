using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Dedupe;
using Pipeline.Enricher.Model;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Enricher.Enrichment;

/// <summary>
/// records → events → duplicates dropped → mute rules → account names → out.
/// Every record yields exactly one <see cref="EnrichmentOutcome"/>, in input order: that is what makes
/// <c>received = rejected + duplicates + muted + digested</c> hold downstream.
/// </summary>
public sealed class Enricher
{
    private readonly EnricherOptions _options;
    private readonly IAccountDirectory _directory;
    private readonly IMuteRules? _mutes;
    // A directory that holds every name in memory has no request to save by batching: it is asked event by event,
    // without the batch's set of ids and the dictionary of answers.
    private readonly FileAccountDirectory? _inMemory;

    public Enricher(EnricherOptions options, IAccountDirectory directory, IMuteRules? mutes = null, Deduplicator? deduplicator = null)
    {
        options.Validate();
        _options = options;
        _directory = directory;
        _mutes = mutes;
        _inMemory = directory as FileAccountDirectory;
        Deduplicator = deduplicator ?? new Deduplicator(options.Dedupe);
    }

    /// <summary>The dedupe memory (exposed so a host can carry it between invocations).</summary>
    public Deduplicator Deduplicator { get; }

    /// <summary>
    /// Every record's outcome, in input order: each record classified, then names looked up
    /// <see cref="EnricherOptions.NamingBatchSize"/> events at a time (one request each).
    /// </summary>
    public async ValueTask<IReadOnlyList<EnrichmentOutcome>> EnrichAsync(IReadOnlyList<RawRecord> records, CancellationToken cancellationToken)
    {
        var outcomes = new List<EnrichmentOutcome>(records.Count);
        var chunk = new List<EnrichmentOutcome>(Math.Min(_options.NamingBatchSize, records.Count));
        for (int start = 0; start < records.Count; start += _options.NamingBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            chunk.Clear();
            for (int i = start; i < Math.Min(records.Count, start + _options.NamingBatchSize); i++) chunk.Add(Classify(records[i]));
            outcomes.AddRange(await AttachNamesAsync(chunk, cancellationToken).ConfigureAwait(false));
        }
        return outcomes;
    }

    /// <summary>
    /// Parse, dedupe and mute one record. An accepted event is named here already when the directory holds every name in
    /// memory (nothing to batch); otherwise its name comes with <see cref="AttachNamesAsync"/>.
    /// </summary>
    public EnrichmentOutcome Classify(RawRecord record) => Classify(Parse(record));

    /// <summary>
    /// The first step of <see cref="Classify(RawRecord)"/>: the record read, nothing remembered. Pure and thread-safe, so a
    /// host may parse a batch while it waits for the state the next step needs (the Lambda claims the batch's carries,
    /// whose dedupe ids the next step checks against).
    /// </summary>
    public ParsedRecord Parse(RawRecord record)
    {
        if (record.ReadError is not null) return new ParsedRecord(record, null, null, record.ReadError);
        OrgEvent? evt = null;
        ParsedEvent? parsed = null;
        // Only mute rules ask for the envelope; without them the event is read alone, with no object keeping the bytes for it.
        bool ok = _mutes is null
            ? EventParser.TryParseEvent(record.Data, out evt, out var reason)
            : EventParser.TryParse(record.Data, out parsed, out reason);
        return ok ? new ParsedRecord(record, evt ?? parsed!.Event, parsed, null) : new ParsedRecord(record, null, null, reason!);
    }

    /// <summary>
    /// Whether a record's bytes are still read after <see cref="Parse"/>: only by the mute rules, which match the event's
    /// envelope, built from them when the record is classified. Otherwise a reader may reuse them as soon as it is parsed.
    /// </summary>
    public bool ParseKeepsBytes => _mutes is not null;

    /// <summary>The second step: dedupe and mute a parsed record, in arrival order (the dedupe memory is the state it needs).</summary>
    public EnrichmentOutcome Classify(ParsedRecord record)
    {
        if (!record.IsMade) throw new ArgumentException("a ParsedRecord comes from Parse; this one is empty (default)", nameof(record));
        if (record.Event is not { } evt) return new EnrichmentOutcome.Rejected(record.Origin, record.Reason!);
        using (record.EventWithEnvelope)
        {
            var origin = record.Origin;
            // The memory's horizon runs on arrival time where there is one: an event's own time may be wrong.
            if (!Deduplicator.TryAdd(evt.Account, evt.DedupeIdValue, record.ArrivalTime ?? evt.Time))
                return new EnrichmentOutcome.Duplicate(origin, evt.Account, evt.Time);
            if (record.EventWithEnvelope is { } parsed && _mutes?.FirstMatch(parsed.Envelope) is { } rule)
                return new EnrichmentOutcome.Muted(origin, evt.Account, evt.Time, rule);
            return new EnrichmentOutcome.Accepted(origin, evt, _inMemory?.Find(evt.Account));
        }
    }

    /// <summary>
    /// Looks up the batch's accounts in one request; a failing directory leaves the events with their ids alone. A directory
    /// in memory was asked by <see cref="Classify(RawRecord)"/> already: the batch is returned as it is.
    /// </summary>
    public async ValueTask<IReadOnlyList<EnrichmentOutcome>> AttachNamesAsync(IList<EnrichmentOutcome> batch, CancellationToken cancellationToken)
    {
        if (_inMemory is not null) return (IReadOnlyList<EnrichmentOutcome>)batch;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var outcome in batch)
            if (outcome is EnrichmentOutcome.Accepted accepted) ids.Add(accepted.Event.Account);
        if (ids.Count == 0) return (IReadOnlyList<EnrichmentOutcome>)batch;

        var names = await _directory.LookupAsync(ids, cancellationToken).ConfigureAwait(false);
        var named = new EnrichmentOutcome[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            named[i] = batch[i] is EnrichmentOutcome.Accepted a && names.TryGetValue(a.Event.Account, out var info)
                ? a with { AccountInfo = info }
                : batch[i];
        }
        return named;
    }
}
