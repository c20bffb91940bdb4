using System.Runtime.InteropServices;

namespace Pipeline.Aggregator.Bursts;

/// <summary>
/// Combines parts of one burst (its shares by actor) into one digest: the whole burst's, or what is left of it when a
/// roll-up takes some shares away. Pure: the same parts always give the same digest.
/// </summary>
public static class DigestParts
{
    /// <summary>
    /// <paramref name="header"/>'s identity and account-level fields (id, account, close, muted and duplicate counts,
    /// clock flags, alerts) with the counters of <paramref name="parts"/> added up. Lists are capped as a burst's are.
    /// </summary>
    public static Digest Combine(Digest header, IReadOnlyList<DigestPart> parts, BurstWindowOptions options) =>
        Combine(header, parts, options.MaxRiskyPerDigest, options.MaxFailuresPerDigest, keptParts: []);

    /// <summary>
    /// What a digest shows once roll-ups took their shares (parts marked with a <see cref="Digest.RollupId"/>): the
    /// rest combined. The digest itself when nothing was taken. Only for showing: its counts are no longer the burst's.
    /// </summary>
    public static Digest Remaining(Digest digest)
    {
        if (digest.FoldedEventCount == 0) return digest;
        var rest = digest.Parts.Where(p => p.RollupId is null).ToList();
        if (rest.Count == 0) return digest;
        // The parts were capped when they were made: their lists together are what the burst kept of them.
        return Combine(digest, rest, int.MaxValue, int.MaxValue, keptParts: []) with { RollupId = digest.RollupId, FoldedEventCount = 0 };
    }

    /// <summary>The shares roll-ups took, by actor, with the roll-up that holds each.</summary>
    public static IReadOnlyList<DigestPart> Folded(Digest digest) => [.. digest.Parts.Where(p => p.RollupId is not null)];

    /// <summary><paramref name="header"/> with the counts of one part, and no parts: the digest of a burst with no automated actor.</summary>
    internal static Digest WithCountsOf(Digest header, DigestPart counts) => header with
    {
        FirstEventTime = counts.FirstEventTime,
        LastEventTime = counts.LastEventTime,
        EventCount = counts.EventCount,
        ErrorCount = counts.ErrorCount,
        ReadOnlyCount = counts.ReadOnlyCount,
        EventNames = counts.EventNames,
        Principals = counts.Principals,
        Regions = counts.Regions,
        Sources = counts.Sources,
        DetailTypes = counts.DetailTypes,
        ErrorCodes = counts.ErrorCodes,
        SourceIps = counts.SourceIps,
        Risky = counts.Risky,
        RiskyCount = counts.RiskyCount,
        Failures = counts.Failures,
    };

    /// <summary>The combination, with <paramref name="keptParts"/> as its <see cref="Digest.Parts"/> (a burst's whole digest keeps its parts).</summary>
    /// <remarks>The lists are walked by index: they are interfaces, and a foreach would allocate an enumerator for each.</remarks>
    internal static Digest Combine(Digest header, IReadOnlyList<DigestPart> parts, int maxRisky, int maxFailures, IReadOnlyList<DigestPart> keptParts)
    {
        if (parts.Count == 0) throw new ArgumentException("a digest needs at least one part", nameof(parts));
        var first = parts[0].FirstEventTime;
        var last = parts[0].LastEventTime;
        int events = 0, errors = 0, readOnly = 0, riskyCount = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            // Strictly earlier or later only: of equal instants the first part's is kept, as Min and Max keep it.
            if (part.FirstEventTime < first) first = part.FirstEventTime;
            if (part.LastEventTime > last) last = part.LastEventTime;
            events += part.EventCount;
            errors += part.ErrorCount;
            readOnly += part.ReadOnlyCount;
            riskyCount += part.RiskyCount;
        }
        return header with
        {
            Parts = keptParts,
            FirstEventTime = first,
            LastEventTime = last,
            EventCount = events,
            ErrorCount = errors,
            ReadOnlyCount = readOnly,
            EventNames = Sum(parts, static p => p.EventNames),
            Principals = Sum(parts, static p => p.Principals),
            Regions = Sum(parts, static p => p.Regions),
            Sources = Sum(parts, static p => p.Sources),
            DetailTypes = Sum(parts, static p => p.DetailTypes),
            ErrorCodes = Sum(parts, static p => p.ErrorCodes),
            SourceIps = Sum(parts, static p => p.SourceIps),
            RiskyCount = riskyCount,
            Risky = CombinedRisky(parts, maxRisky),
            Failures = CombinedFailures(parts, maxFailures),
        };
    }

    /// <summary>One count list of several parts added up, ranked as a burst ranks them.</summary>
    internal static IReadOnlyList<KeyValuePair<string, int>> Sum(IReadOnlyList<DigestPart> parts, Func<DigestPart, IReadOnlyList<KeyValuePair<string, int>>> counts)
    {
        if (parts.Count == 1) return counts(parts[0]);
        var sum = _sumScratch ??= new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            for (int p = 0; p < parts.Count; p++)
            {
                var list = counts(parts[p]);
                for (int i = 0; i < list.Count; i++) CollectionsMarshal.GetValueRefOrAddDefault(sum, list[i].Key, out _) += list[i].Value;
            }
            return ChangeCounts.Ranked(sum);
        }
        finally
        {
            sum.Clear();
        }
    }

    // Sum's dictionary, kept between calls (a digest adds up seven lists): the result is a new array, the dictionary
    // only the room to add up in. One per thread, as the renderers may combine on several.
    [ThreadStatic]
    private static Dictionary<string, int>? _sumScratch;

    /// <summary>The parts' risky events, most severe first, at most <paramref name="max"/>.</summary>
    private static IReadOnlyList<RiskyEvent> CombinedRisky(IReadOnlyList<DigestPart> parts, int max)
    {
        int total = 0;
        for (int p = 0; p < parts.Count; p++) total += parts[p].Risky.Count;
        if (total == 0) return [];
        var risky = new RiskyEvent[total];
        int i = 0;
        for (int p = 0; p < parts.Count; p++)
            for (int j = 0; j < parts[p].Risky.Count; j++) risky[i++] = parts[p].Risky[j];
        return DigestOrder.Risky(risky, max);
    }

    /// <summary>
    /// The parts' failures, the same call (event name, error code, principal) counted once with its counts added and
    /// the first part's message; most frequent first, at most <paramref name="max"/>.
    /// </summary>
    private static IReadOnlyList<FailedCall> CombinedFailures(IReadOnlyList<DigestPart> parts, int max)
    {
        int total = 0;
        for (int p = 0; p < parts.Count; p++) total += parts[p].Failures.Count;
        if (total == 0) return [];
        var merged = new List<FailedCall>(total);
        var positions = new Dictionary<(string, string, string?), int>(total);
        for (int p = 0; p < parts.Count; p++)
            for (int i = 0; i < parts[p].Failures.Count; i++)
            {
                var f = parts[p].Failures[i];
                var key = (f.EventName, f.ErrorCode, f.Principal);
                if (positions.TryGetValue(key, out int at)) merged[at] = merged[at] with { Count = merged[at].Count + f.Count };
                else
                {
                    positions[key] = merged.Count;
                    merged.Add(f);
                }
            }
        return DigestOrder.Failures([.. merged], max);
    }
}
