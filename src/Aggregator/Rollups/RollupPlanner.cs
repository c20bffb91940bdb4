using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;

namespace Pipeline.Aggregator.Rollups;

/// <summary>
/// Decides which closed digests are explained by a change made in many accounts (docs/rollups.md). Pure and
/// deterministic: digests in (<see cref="Offer"/>), in the order they closed, and a clock; roll-ups and digests out,
/// each exactly once. Every host runs it: the file host and `run` beside the core, the Lambda's sweeper over the
/// digests every shard left in the carry table, so a replay shows what the function posts.
/// </summary>
/// <remarks>
/// <para>A digest with no automated actor's share passes at once. One with such shares is held: each share joins a
/// <i>candidate</i> of the same actor whose calls are alike (<see cref="RollupOptions.MinSimilarity"/> of the names
/// shared) and whose events lie within the roll-up window of its own (on the events' times), or starts one. A
/// candidate is done gathering once a share starting within the window after its last event would have closed: the
/// window, the gap and the lateness after its last event (at most <see cref="RollupOptions.MaxSpan"/> after its
/// first), plus the settle time.</para>
/// <para>Candidates that share a digest are decided together, once all of them are done gathering: those of at least
/// <see cref="RollupOptions.MinAccounts"/> accounts become roll-ups (first in the output), and every held digest of the
/// group follows, with the shares a roll-up took marked. A digest a roll-up fully explains is not posted; one with
/// anything left (a person's calls, another actor's) is, showing what is left.</para>
/// </remarks>
public sealed class RollupPlanner
{
    private readonly RollupOptions _options;
    private readonly BurstWindowOptions _window;
    private readonly List<Candidate> _candidates = [];
    // The candidates of each actor, so a share is compared only with its own actor's changes.
    private readonly Dictionary<string, List<Candidate>> _byActor = new(StringComparer.Ordinal);
    private readonly List<Held> _held = [];
    private long _offered;

    public RollupPlanner(RollupOptions options, BurstWindowOptions window)
    {
        options.Validate();
        _options = options;
        _window = window;
    }

    /// <summary>Digests waiting for a decision.</summary>
    public int HeldCount => _held.Count;

    /// <summary>
    /// Takes a closed digest. False: it has no automated actor's share (or roll-ups are off); post it now. True: it is
    /// held until <see cref="Decide"/> releases it.
    /// </summary>
    public bool Offer(Digest digest)
    {
        if (!_options.Enabled || !digest.Parts.Any(p => p.ActorKey is not null)) return false;
        var held = new Held(digest, _offered++);
        foreach (var part in digest.Parts)
        {
            if (part.ActorKey is not { } actor) continue;
            var calls = part.EventNames.Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            if (!_byActor.TryGetValue(actor, out var ofActor)) _byActor[actor] = ofActor = [];
            var candidate = ofActor.FirstOrDefault(c => c.Admits(part, _options) && Similarity(c.Calls, calls) >= _options.MinSimilarity);
            if (candidate is null)
            {
                candidate = new Candidate(actor, calls, part.FirstEventTime, part.LastEventTime);
                _candidates.Add(candidate);
                ofActor.Add(candidate);
            }
            candidate.Add(held, part);
        }
        _held.Add(held);
        return true;
    }

    /// <summary>Decides every group of candidates done gathering by <paramref name="clock"/>: roll-ups first, then the group's digests.</summary>
    public IReadOnlyList<Notice> Decide(DateTimeOffset clock) => Release(c => clock >= DoneAt(c));

    /// <summary>
    /// Decides everything now (the input ended): what is held is released, rolled up where enough accounts met, each
    /// decision dated as a live host would have made it.
    /// </summary>
    public IReadOnlyList<Notice> Flush() => Release(_ => true);

    private IReadOnlyList<Notice> Release(Func<Candidate, bool> done)
    {
        // Most calls (one per batch) find nothing done: no need to walk the groups then.
        if (_held.Count == 0 || !_candidates.Any(done)) return [];
        List<Notice>? output = null;
        // Groups: candidates linked through a digest that has shares in both. Decided whole, or not at all.
        foreach (var group in Groups())
        {
            if (!group.Candidates.All(done)) continue;
            // When a live host decides the group: once its last candidate is done gathering. Not the clock of this
            // call, which in a replay depends on how many records a batch held, nor on which host asked.
            // A flush (the input ended) decides now, but dates the decision as a live host would have made it.
            var decidedAt = group.Candidates.Max(DoneAt);
            var rolled = new Dictionary<Candidate, Rollup>();
            foreach (var candidate in group.Candidates)
            {
                if (candidate.Members.Select(m => m.Held.Digest.Account).Distinct(StringComparer.Ordinal).Count() < _options.MinAccounts) continue;
                var rollup = Build(candidate, decidedAt);
                rolled[candidate] = rollup;
                (output ??= []).Add(rollup);
            }
            foreach (var held in group.Digests.OrderBy(h => h.Order))
            {
                // Released when decided, and never before the burst itself closed (an account whose events arrive late).
                var released = held.Digest.ClosedAt > decidedAt ? held.Digest.ClosedAt : decidedAt;
                (output ??= []).Add(Mark(held, rolled) with { HeldUntil = released });
                _held.Remove(held);
            }
            foreach (var candidate in group.Candidates)
            {
                _candidates.Remove(candidate);
                var ofActor = _byActor[candidate.ActorKey];
                ofActor.Remove(candidate);
                if (ofActor.Count == 0) _byActor.Remove(candidate.ActorKey);
            }
        }
        return output ?? (IReadOnlyList<Notice>)[];
    }

    /// <summary>The digest with the shares roll-ups took marked (their roll-up's id) and the count they hold.</summary>
    private static Digest Mark(Held held, Dictionary<Candidate, Rollup> rolled)
    {
        var digest = held.Digest;
        var byPart = new Dictionary<Digest, string>(ReferenceEqualityComparer.Instance);
        foreach (var candidate in held.Candidates)
            if (rolled.TryGetValue(candidate, out var rollup))
                foreach (var (member, part) in candidate.Members)
                    if (member == held) byPart[part] = rollup.RollupId;
        if (byPart.Count == 0) return digest;
        var parts = digest.Parts.Select(p => byPart.TryGetValue(p, out var id) ? p with { RollupId = id } : p).ToList();
        return digest with
        {
            Parts = parts,
            RollupId = parts.First(p => p.RollupId is not null).RollupId,
            FoldedEventCount = parts.Where(p => p.RollupId is not null).Sum(p => p.EventCount),
        };
    }

    private Rollup Build(Candidate candidate, DateTimeOffset decidedAt)
    {
        var members = candidate.Members;
        var parts = members.Select(m => m.Part).ToList();
        var accounts = members
            .GroupBy(m => m.Held.Digest.Account, StringComparer.Ordinal)
            .Select(g => new RollupAccount(g.Key, g.Select(m => m.Held.Digest.AccountInfo).LastOrDefault(i => i is not null),
                g.First().Held.Digest.DigestId, g.Sum(m => m.Part.EventCount)))
            .OrderBy(a => a.AccountName is null).ThenBy(a => a.AccountName, StringComparer.Ordinal).ThenBy(a => a.Account, StringComparer.Ordinal)
            .ToList();
        var failures = members
            .SelectMany(m => m.Part.Failures.Select(f => (m.Held.Digest.Account, f)))
            .GroupBy(x => (x.f.EventName, x.f.ErrorCode))
            .Select(g => new RollupFailure(g.Key.EventName, g.Key.ErrorCode, g.Select(x => x.f.ErrorMessage).FirstOrDefault(m => m is not null),
                [.. g.Select(x => x.Account).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], g.Sum(x => x.f.Count)))
            .OrderByDescending(f => f.Accounts.Count).ThenBy(f => f.EventName, StringComparer.Ordinal).ThenBy(f => f.ErrorCode, StringComparer.Ordinal)
            .Take(_window.MaxFailuresPerDigest)
            .ToList();
        var risky = members
            .SelectMany(m => m.Part.Risky.Select(r => (m.Held.Digest.Account, r)))
            .GroupBy(x => (x.r.EventName, x.r.Reason, x.r.Severity))
            .Select(g => new RollupRisk(g.Key.EventName, g.Key.Reason, g.Key.Severity,
                [.. g.Select(x => x.Account).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], g.Count(),
                g.Select(x => x.r.Target).FirstOrDefault(t => t is not null)))
            .OrderByDescending(r => r.Severity).ThenByDescending(r => r.Accounts.Count).ThenBy(r => r.EventName, StringComparer.Ordinal)
            .Take(_window.MaxRiskyPerDigest)
            .ToList();
        return new Rollup
        {
            RollupId = RollupIdFor(candidate.ActorKey, members.Select(m => m.Held.Digest.DigestId)),
            ActorKey = candidate.ActorKey,
            Accounts = accounts,
            FirstEventTime = parts.Min(p => p.FirstEventTime),
            LastEventTime = parts.Max(p => p.LastEventTime),
            EventCount = parts.Sum(p => p.EventCount),
            ErrorCount = parts.Sum(p => p.ErrorCount),
            EventNames = Sum(parts, p => p.EventNames),
            Principals = Sum(parts, p => p.Principals),
            Regions = Sum(parts, p => p.Regions),
            Failures = failures,
            Risky = risky,
            RiskyCount = parts.Sum(p => p.RiskyCount),
            ClosedAt = decidedAt,
        };
    }

    /// <summary>Same actor and same member digests → same id, whichever host or retry decides it.</summary>
    internal static string RollupIdFor(string actorKey, IEnumerable<string> digestIds) =>
        NoticeIds.Of("rollup|" + actorKey + "|" + string.Join(",", digestIds.Order(StringComparer.Ordinal)));

    private static IReadOnlyList<KeyValuePair<string, int>> Sum(List<Digest> parts, Func<Digest, IReadOnlyList<KeyValuePair<string, int>>> counts) =>
        DigestParts.Sum(parts, counts);

    /// <summary>
    /// Shared names over the names of the smaller call set (the overlap coefficient): an account where the change
    /// stopped early (a refused call, then a rollback) still shares most of its calls with the others, while an
    /// unrelated change by the same role shares few or none.
    /// </summary>
    private static double Similarity(HashSet<string> a, HashSet<string> b)
    {
        if (a.Count == 0 || b.Count == 0) return a.Count == b.Count ? 1 : 0;
        int shared = a.Count(b.Contains);
        return (double)shared / Math.Min(a.Count, b.Count);
    }

    /// <summary>Connected groups of candidates and held digests, in the order their first digest was offered.</summary>
    private List<(List<Candidate> Candidates, List<Held> Digests)> Groups()
    {
        var groups = new List<(List<Candidate>, List<Held>)>();
        var seen = new HashSet<Held>(ReferenceEqualityComparer.Instance);
        foreach (var start in _held)
        {
            if (!seen.Add(start)) continue;
            var candidates = new List<Candidate>();
            var digests = new List<Held> { start };
            var queue = new Queue<Held>([start]);
            while (queue.TryDequeue(out var held))
                foreach (var candidate in held.Candidates)
                {
                    if (candidates.Contains(candidate)) continue;
                    candidates.Add(candidate);
                    foreach (var (member, _) in candidate.Members)
                        if (seen.Add(member)) { digests.Add(member); queue.Enqueue(member); }
                }
            groups.Add((candidates, digests));
        }
        return groups;
    }

    /// <summary>
    /// When no more shares can join <paramref name="c"/>: a share that starts within the window after its last event
    /// closes its burst a gap and a lateness after that at the earliest; plus the settle time for late hosts.
    /// </summary>
    private DateTimeOffset DoneAt(Candidate c)
    {
        var lastStart = Min(c.LastEventTime + _options.Window, c.FirstEventTime + _options.MaxSpan);
        return lastStart + _window.Gap + _window.Lateness + _options.Settle;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private sealed class Held(Digest digest, long order)
    {
        public Digest Digest { get; } = digest;
        public long Order { get; } = order;
        public List<Candidate> Candidates { get; } = [];
    }

    /// <summary>
    /// One change being gathered: an actor's alike shares, in time with each other on the events' own times (never
    /// on when a host closed or read them, so that a replay and every live host gather the same accounts).
    /// </summary>
    private sealed class Candidate(string actorKey, HashSet<string> calls, DateTimeOffset first, DateTimeOffset last)
    {
        public string ActorKey { get; } = actorKey;
        /// <summary>The first member's calls: what later members are compared with.</summary>
        public HashSet<string> Calls { get; } = calls;
        public DateTimeOffset FirstEventTime { get; private set; } = first;
        public DateTimeOffset LastEventTime { get; private set; } = last;
        public List<(Held Held, Digest Part)> Members { get; } = [];

        /// <summary>A share joins when its events lie within the window of the change's, and within its max span.</summary>
        public bool Admits(Digest part, RollupOptions options) =>
            part.FirstEventTime <= LastEventTime + options.Window &&
            part.LastEventTime >= FirstEventTime - options.Window &&
            part.FirstEventTime <= FirstEventTime + options.MaxSpan &&
            part.LastEventTime >= LastEventTime - options.MaxSpan;

        public void Add(Held held, Digest part)
        {
            Members.Add((held, part));
            if (part.FirstEventTime < FirstEventTime) FirstEventTime = part.FirstEventTime;
            if (part.LastEventTime > LastEventTime) LastEventTime = part.LastEventTime;
            held.Candidates.Add(this);
        }
    }
}
