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
    public static Digest Combine(Digest header, IReadOnlyList<Digest> parts, BurstWindowOptions options) =>
        Combine(header, parts, options.MaxRiskyPerDigest, options.MaxFailuresPerDigest);

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
        return Combine(digest, rest, int.MaxValue, int.MaxValue) with { RollupId = digest.RollupId, FoldedEventCount = 0 };
    }

    /// <summary>The shares roll-ups took, by actor, with the roll-up that holds each.</summary>
    public static IReadOnlyList<Digest> Folded(Digest digest) => [.. digest.Parts.Where(p => p.RollupId is not null)];

    private static Digest Combine(Digest header, IReadOnlyList<Digest> parts, int maxRisky, int maxFailures)
    {
        if (parts.Count == 0) throw new ArgumentException("a digest needs at least one part", nameof(parts));
        var failures = new Dictionary<(string, string, string?), FailedCall>();
        foreach (var f in parts.SelectMany(p => p.Failures))
        {
            var key = (f.EventName, f.ErrorCode, f.Principal);
            failures[key] = failures.TryGetValue(key, out var seen) ? seen with { Count = seen.Count + f.Count } : f;
        }
        return header with
        {
            ActorKey = null,
            Parts = [],
            FirstEventTime = parts.Min(p => p.FirstEventTime),
            LastEventTime = parts.Max(p => p.LastEventTime),
            EventCount = parts.Sum(p => p.EventCount),
            ErrorCount = parts.Sum(p => p.ErrorCount),
            ReadOnlyCount = parts.Sum(p => p.ReadOnlyCount),
            EventNames = Sum(parts, p => p.EventNames),
            Principals = Sum(parts, p => p.Principals),
            Regions = Sum(parts, p => p.Regions),
            Sources = Sum(parts, p => p.Sources),
            DetailTypes = Sum(parts, p => p.DetailTypes),
            ErrorCodes = Sum(parts, p => p.ErrorCodes),
            SourceIps = Sum(parts, p => p.SourceIps),
            RiskyCount = parts.Sum(p => p.RiskyCount),
            Risky = [.. parts.SelectMany(p => p.Risky)
                .OrderByDescending(r => r.Severity).ThenBy(r => r.EventTime).ThenBy(r => r.EventName, StringComparer.Ordinal)
                .Take(maxRisky)],
            Failures = [.. failures.Values
                .OrderByDescending(f => f.Count).ThenBy(f => f.EventName, StringComparer.Ordinal).ThenBy(f => f.ErrorCode, StringComparer.Ordinal)
                .Take(maxFailures)],
        };
    }

    /// <summary>One count list of several parts added up, ranked as a burst ranks them.</summary>
    internal static IReadOnlyList<KeyValuePair<string, int>> Sum(IReadOnlyList<Digest> parts, Func<Digest, IReadOnlyList<KeyValuePair<string, int>>> counts)
    {
        if (parts.Count == 1) return counts(parts[0]);
        var sum = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var part in parts)
            foreach (var (key, n) in counts(part)) sum[key] = sum.GetValueOrDefault(key) + n;
        return ChangeCounts.Ranked(sum);
    }
}
