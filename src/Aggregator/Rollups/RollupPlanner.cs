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
/// <para>Candidates linked through digests (one with shares in two of them, and so on) form a group, kept within about
/// <see cref="RollupOptions.MaxSpan"/> of events as one change is: a share that would stretch its group further starts a
/// candidate of its own (<c>WithinMaxSpan</c>), so busy actors' overlapping changes do not chain into a group that is never
/// done.</para>
/// <para>Candidates that share a digest are decided together, once all of them are done gathering: those of at least
/// <see cref="RollupOptions.MinAccounts"/> accounts become roll-ups (first in the output), and every held digest of the
/// group follows, with the shares a roll-up took marked. A digest a roll-up fully explains is not posted; one with
/// anything left (a person's calls, another actor's) is, showing what is left.</para>
/// </remarks>
public sealed class RollupPlanner
{
    private readonly RollupOptions _options;
    private readonly BurstWindowOptions _window;
    // The candidates of each actor, so a share is compared only with its own actor's changes.
    private readonly Dictionary<string, List<Candidate>> _byActor = new(StringComparer.Ordinal);
    // The groups not yet decided, and when each is done gathering (an entry per change of a group's time; stale ones are
    // skipped). Kept as they form, so a decision never walks what it does not decide: walking every group on every batch
    // made a long replay quadratic (docs/performance.md, "Speed, fifth session").
    private readonly HashSet<Group> _groups = new(ReferenceEqualityComparer.Instance);
    private readonly PriorityQueue<(Group Group, int Version), long> _due = new();
    private int _heldCount;
    private long _offered;

    public RollupPlanner(RollupOptions options, BurstWindowOptions window)
    {
        options.Validate();
        _options = options;
        _window = window;
    }

    /// <summary>Digests waiting for a decision.</summary>
    public int HeldCount => _heldCount;

    /// <summary>
    /// Takes a closed digest. False: it has no automated actor's share (or roll-ups are off); post it now. True: it is
    /// held until <see cref="Decide"/> releases it.
    /// </summary>
    public bool Offer(Digest digest)
    {
        if (!_options.Enabled || !digest.Parts.Any(p => p.ActorKey is not null)) return false;
        var held = new Held(digest, _offered++);
        // The digest links every candidate it joins into one group; a group only grows, until it is decided whole.
        Group? group = null;
        bool earlier = false;
        foreach (var part in digest.Parts)
        {
            if (part.ActorKey is not { } actor) continue;
            var calls = part.EventNames.Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            if (!_byActor.TryGetValue(actor, out var ofActor)) _byActor[actor] = ofActor = [];
            var candidate = ofActor.FirstOrDefault(c =>
                c.Admits(part, _options) && Similarity(c.Calls, calls) >= _options.MinSimilarity && WithinMaxSpan(group, c.Group!, part));
            if (candidate is null)
            {
                candidate = new Candidate(actor, calls, part.FirstEventTime, part.LastEventTime);
                ofActor.Add(candidate);
                candidate.Group = new Group(candidate, DoneAt(candidate));
                _groups.Add(candidate.Group);
            }
            var before = DoneAt(candidate);
            candidate.Add(held, part);
            var after = DoneAt(candidate);
            group = Merge(group, candidate.Group!);
            group.Spans(part);
            // A member that starts earlier can bring a change's end forward (its max span counts from its first event).
            if (after < before) earlier = true;
            else if (after > group.DoneAt) group.DoneAt = after;
        }
        group!.Digests.Add(held);
        if (held.Order < group.FirstOrder) group.FirstOrder = held.Order;
        if (earlier) group.DoneAt = group.Candidates.Max(DoneAt);
        _heldCount++;
        Schedule(group);
        return true;
    }

    /// <summary>Decides every group of candidates done gathering by <paramref name="clock"/>: roll-ups first, then the group's digests.</summary>
    public IReadOnlyList<Notice> Decide(DateTimeOffset clock)
    {
        List<Group>? done = null;
        while (_due.TryPeek(out var entry, out long dueTicks) && dueTicks <= clock.UtcTicks)
        {
            _due.Dequeue();
            var group = entry.Group;
            if (entry.Version != group.Version || !_groups.Contains(group)) continue; // changed or decided since
            (done ??= []).Add(group);
            _groups.Remove(group);
        }
        return done is null ? [] : Release(done);
    }

    /// <summary>
    /// Decides everything now (the input ended): what is held is released, rolled up where enough accounts met, each
    /// decision dated as a live host would have made it.
    /// </summary>
    public IReadOnlyList<Notice> Flush()
    {
        var all = _groups.ToList();
        _groups.Clear();
        _due.Clear();
        return Release(all);
    }

    /// <summary>
    /// Whether joining a candidate of <paramref name="joined"/> keeps the group the digest is forming within the max span
    /// of one change. Without this bound, busy actors whose changes overlap (a digest with shares of two, then another
    /// linking one of them to a third…) chained into one group that was never done gathering, and every digest in it
    /// waited until the input ended (in a live host, for ever). Past the bound, the share starts a change of its own.
    /// </summary>
    private bool WithinMaxSpan(Group? forming, Group joined, Digest part)
    {
        var first = joined.FirstEventTime < part.FirstEventTime ? joined.FirstEventTime : part.FirstEventTime;
        var last = joined.LastEventTime > part.LastEventTime ? joined.LastEventTime : part.LastEventTime;
        if (forming is not null && !ReferenceEquals(forming, joined))
        {
            if (forming.FirstEventTime < first) first = forming.FirstEventTime;
            if (forming.LastEventTime > last) last = forming.LastEventTime;
        }
        return last - first <= _options.MaxSpan;
    }

    /// <summary>A group's time to be decided: once every candidate in it is done gathering.</summary>
    private void Schedule(Group group)
    {
        group.Version++;
        _due.Enqueue((group, group.Version), group.DoneAt.UtcTicks);
    }

    /// <summary>One group of the two, holding both (the smaller one's members move: each moves O(log n) times at most).</summary>
    private Group Merge(Group? a, Group b)
    {
        if (a is null || ReferenceEquals(a, b)) return b;
        var (into, from) = a.Candidates.Count + a.Digests.Count >= b.Candidates.Count + b.Digests.Count ? (a, b) : (b, a);
        foreach (var candidate in from.Candidates) candidate.Group = into;
        into.Candidates.AddRange(from.Candidates);
        into.Digests.AddRange(from.Digests);
        if (from.FirstOrder < into.FirstOrder) into.FirstOrder = from.FirstOrder;
        if (from.DoneAt > into.DoneAt) into.DoneAt = from.DoneAt;
        into.Spans(from.FirstEventTime, from.LastEventTime);
        _groups.Remove(from); // its entries in the queue are skipped from now on
        return into;
    }

    /// <summary>Roll-ups and digests of groups decided, in the order their first digest was offered.</summary>
    private List<Notice> Release(List<Group> decided)
    {
        var output = new List<Notice>();
        var releasedCandidates = new HashSet<Candidate>(ReferenceEqualityComparer.Instance);
        foreach (var group in decided.OrderBy(g => g.FirstOrder))
        {
            // Walked from its first digest, so its candidates (and roll-ups) come in one order whatever formed the group.
            var candidates = WalkOrder(group.Digests.MinBy(h => h.Order)!);
            // When a live host decides the group: once its last candidate is done gathering. Not the clock of this
            // call, which in a replay depends on how many records a batch held, nor on which host asked.
            // A flush (the input ended) decides now, but dates the decision as a live host would have made it.
            var decidedAt = candidates.Max(DoneAt);
            var rolled = new Dictionary<Candidate, Rollup>();
            foreach (var candidate in candidates)
            {
                if (candidate.Members.Select(m => m.Held.Digest.Account).Distinct(StringComparer.Ordinal).Count() < _options.MinAccounts) continue;
                var rollup = Build(candidate, decidedAt);
                rolled[candidate] = rollup;
                output.Add(rollup);
            }
            foreach (var held in group.Digests.OrderBy(h => h.Order))
            {
                // Released when decided, and never before the burst itself closed (an account whose events arrive late).
                var released = held.Digest.ClosedAt > decidedAt ? held.Digest.ClosedAt : decidedAt;
                output.Add(Mark(held, rolled) with { HeldUntil = released });
            }
            _heldCount -= group.Digests.Count;
            releasedCandidates.UnionWith(group.Candidates);
        }
        foreach (var actor in releasedCandidates.Select(c => c.ActorKey).Distinct(StringComparer.Ordinal))
        {
            var ofActor = _byActor[actor];
            ofActor.RemoveAll(releasedCandidates.Contains);
            if (ofActor.Count == 0) _byActor.Remove(actor);
        }
        return output;
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

    /// <summary>
    /// The candidates of the group of <paramref name="start"/>, in the order a walk from it finds them (through digests
    /// that have shares in two candidates).
    /// </summary>
    private static List<Candidate> WalkOrder(Held start)
    {
        var candidates = new List<Candidate>();
        var met = new HashSet<Candidate>(ReferenceEqualityComparer.Instance);
        var seen = new HashSet<Held>(ReferenceEqualityComparer.Instance) { start };
        var queue = new Queue<Held>([start]);
        while (queue.TryDequeue(out var held))
            foreach (var candidate in held.Candidates)
            {
                if (!met.Add(candidate)) continue;
                candidates.Add(candidate);
                foreach (var (member, _) in candidate.Members)
                    if (seen.Add(member)) queue.Enqueue(member);
            }
        return candidates;
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

    /// <summary>
    /// Candidates linked through digests that have shares in two of them, and their held digests: decided whole, once every
    /// candidate is done gathering (<see cref="DoneAt"/>, the latest of theirs).
    /// </summary>
    private sealed class Group(Candidate first, DateTimeOffset doneAt)
    {
        public List<Candidate> Candidates { get; } = [first];
        public List<Held> Digests { get; } = [];
        public long FirstOrder { get; set; } = long.MaxValue;
        public DateTimeOffset DoneAt { get; set; } = doneAt;
        /// <summary>
        /// The events' times the group's candidates cover: kept within the max span when a share joins a candidate
        /// (<see cref="WithinMaxSpan"/>), exceeded at most by the span of one digest whose new share is linked in anyway.
        /// </summary>
        public DateTimeOffset FirstEventTime { get; private set; } = first.FirstEventTime;
        public DateTimeOffset LastEventTime { get; private set; } = first.LastEventTime;

        public void Spans(Digest part) => Spans(part.FirstEventTime, part.LastEventTime);

        public void Spans(DateTimeOffset from, DateTimeOffset to)
        {
            if (from < FirstEventTime) FirstEventTime = from;
            if (to > LastEventTime) LastEventTime = to;
        }
        /// <summary>Bumped on every change of <see cref="DoneAt"/> or of the group itself: older queue entries are stale.</summary>
        public int Version { get; set; }
    }

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
        /// <summary>The group the candidate is in now.</summary>
        public Group? Group { get; set; }

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
