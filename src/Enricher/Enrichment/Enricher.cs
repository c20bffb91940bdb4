using System.Reactive.Linq;
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
    /// The Rx pipeline over a pushed sequence of records. Names are looked up a batch at a time, and the batch's
    /// outcomes are emitted before the next record is classified: the lookup waits on the producer's thread, so a
    /// slow table holds the reader back instead of letting classified records pile up in memory (Rx has no
    /// back-pressure of its own), and input order is kept.
    /// </summary>
    public IObservable<EnrichmentOutcome> Enrich(IObservable<RawRecord> records) =>
        records
            .Select(Classify)
            .Buffer(_options.NamingBatchSize)
            .Where(batch => batch.Count > 0)
            .SelectMany(batch => AttachNamesAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult());

    /// <summary>Parse, dedupe and mute one record: everything but the (batched, asynchronous) naming.</summary>
    public EnrichmentOutcome Classify(RawRecord record)
    {
        if (record.ReadError is not null) return new EnrichmentOutcome.Rejected(record.Origin, record.ReadError);
        if (!EventParser.TryParse(record.Data, out var parsed, out var reason))
            return new EnrichmentOutcome.Rejected(record.Origin, reason!);

        using (parsed)
        {
            var evt = parsed!.Event;
            if (!Deduplicator.TryAdd(evt.Account, evt.DedupeId, evt.Time))
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
