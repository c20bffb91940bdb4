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
    /// <see cref="EnricherOptions.NamingBatchSize"/> events at a time (one request each). The processing core runs
    /// its batches through this; streams reach it through the core's Rx adapter.
    /// </summary>
    public async ValueTask<IReadOnlyList<EnrichmentOutcome>> EnrichAsync(IReadOnlyList<RawRecord> records, CancellationToken cancellationToken)
    {
        var outcomes = new EnrichmentOutcome[records.Count];
        // An accepted event waits here for its name: its outcome is made once, named, rather than made and copied.
        var accepted = new OrgEvent?[Math.Min(_options.NamingBatchSize, records.Count)];
        for (int start = 0; start < records.Count; start += _options.NamingBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(records.Count - start, _options.NamingBatchSize);
            bool any = false;
            for (int i = 0; i < count; i++)
            {
                var record = records[start + i];
                var outcome = Screen(record, out accepted[i]);
                if (outcome is not null) outcomes[start + i] = outcome;
                else any = true;
            }
            if (!any) continue;
            var names = _inMemory is null ? await LookupAsync(accepted.AsMemory(0, count), cancellationToken).ConfigureAwait(false) : null;
            for (int i = 0; i < count; i++)
            {
                if (accepted[i] is not { } evt) continue;
                outcomes[start + i] = new EnrichmentOutcome.Accepted(records[start + i].Origin, evt, NameOf(evt.Account, names));
                accepted[i] = null;
            }
        }
        return outcomes;
    }

    /// <summary>Parse, dedupe and mute one record: everything but the (batched, asynchronous) naming.</summary>
    public EnrichmentOutcome Classify(RawRecord record) =>
        Screen(record, out var accepted) ?? new EnrichmentOutcome.Accepted(record.Origin, accepted!, null);

    /// <summary>The outcome of a record that is not accepted; null for an accepted one, whose event is <paramref name="accepted"/>.</summary>
    private EnrichmentOutcome? Screen(RawRecord record, out OrgEvent? accepted)
    {
        accepted = null;
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
            accepted = evt;
            return null;
        }
    }

    /// <summary>The accounts of a batch's accepted events, looked up in one request.</summary>
    private async ValueTask<IReadOnlyDictionary<string, AccountInfo>> LookupAsync(ReadOnlyMemory<OrgEvent?> accepted, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var evt in accepted.Span)
            if (evt is not null) ids.Add(evt.Account);
        return await _directory.LookupAsync(ids, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An account's name: from the directory in memory, else from the batch's lookup.</summary>
    private AccountInfo? NameOf(string account, IReadOnlyDictionary<string, AccountInfo>? looked) =>
        _inMemory is not null ? _inMemory.Find(account) : looked!.GetValueOrDefault(account);

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
