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

    public Enricher(EnricherOptions options, IAccountDirectory directory, IMuteRules? mutes = null, Deduplicator? deduplicator = null)
    {
        options.Validate();
        _options = options;
        _directory = directory;
        _mutes = mutes;
        Deduplicator = deduplicator ?? new Deduplicator(options.Dedupe);
    }

    /// <summary>The dedupe memory (exposed so a host can carry it between invocations).</summary>
    public Deduplicator Deduplicator { get; }

    /// <summary>
    /// Every record's outcome, in input order: each record classified, then names looked up
    /// <see cref="EnricherOptions.NamingBatchSize"/> events at a time (one request each). The processing core runs
    /// its batches through this; streams reach it through the core's Rx adapter.
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

    /// <summary>Parse, dedupe and mute one record: everything but the (batched, asynchronous) naming.</summary>
    public EnrichmentOutcome Classify(RawRecord record)
    {
        if (record.ReadError is not null) return new EnrichmentOutcome.Rejected(record.Origin, record.ReadError);
        if (!EventParser.TryParse(record.Data, out var parsed, out var reason))
            return new EnrichmentOutcome.Rejected(record.Origin, reason!);

        using (parsed)
        {
            var evt = parsed!.Event;
            // The memory's horizon runs on arrival time where there is one: an event's own time may be wrong.
            if (!Deduplicator.TryAdd(evt.Account, evt.DedupeId, record.ArrivalTime ?? evt.Time))
                return new EnrichmentOutcome.Duplicate(record.Origin, evt.Account, evt.Time);
            if (_mutes?.FirstMatch(parsed.Envelope) is { } rule)
                return new EnrichmentOutcome.Muted(record.Origin, evt.Account, evt.Time, rule);
            return new EnrichmentOutcome.Accepted(record.Origin, evt, null);
        }
    }

    /// <summary>Looks up the batch's accounts in one request; a failing directory leaves the events with their ids alone.</summary>
    public async ValueTask<IReadOnlyList<EnrichmentOutcome>> AttachNamesAsync(IList<EnrichmentOutcome> batch, CancellationToken cancellationToken)
    {
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
