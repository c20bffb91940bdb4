using System.Buffers;
using System.Runtime.InteropServices;
using Pipeline.Aggregator.Bursts;
using Pipeline.Aggregator.Notices;
using Pipeline.Enricher.Model;

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
        if (!_options.Enabled || !HasActor(digest)) return false;
        var held = new Held(digest, _offered++);
        // The digest links every candidate it joins into one group; a group only grows, until it is decided whole.
        Group? group = null;
        bool earlier = false;
        for (int i = 0; i < digest.Parts.Count; i++)
        {
            var part = digest.Parts[i];
            if (part.ActorKey is not { } actor) continue;
            if (!_byActor.TryGetValue(actor, out var ofActor)) _byActor[actor] = ofActor = [];
            var candidate = Joinable(ofActor, part, group);
            if (candidate is null)
            {
                candidate = new Candidate(actor, CallsOf(part), part.FirstEventTime, part.LastEventTime);
                AddClearingOutgrown(ofActor, candidate);
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
        AddClearingOutgrown(group!.Digests, held);
        if (held.Order < group.FirstOrder) group.FirstOrder = held.Order;
        if (earlier) group.DoneAt = group.Candidates.Max(DoneAt);
        _heldCount++;
        Schedule(group);
        return true;
    }

    private static bool HasActor(Digest digest)
    {
        for (int i = 0; i < digest.Parts.Count; i++)
            if (digest.Parts[i].ActorKey is not null) return true;
        return false;
    }

    /// <summary>The first of the actor's candidates the share can join: in time, alike in calls, within the max span.</summary>
    private Candidate? Joinable(List<Candidate> ofActor, DigestPart part, Group? forming)
    {
        foreach (var c in ofActor)
            if (c.Admits(part, _options) && Similarity(c.Calls, part.EventNames) >= _options.MinSimilarity && WithinMaxSpan(forming, c.Group!, part))
                return c;
        return null;
    }

    private static HashSet<string> CallsOf(DigestPart part)
    {
        var calls = new HashSet<string>(part.EventNames.Count, StringComparer.Ordinal);
        for (int i = 0; i < part.EventNames.Count; i++) calls.Add(part.EventNames[i].Key);
        return calls;
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
    private bool WithinMaxSpan(Group? forming, Group joined, DigestPart part)
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
        MakeRoom(into.Candidates, from.Candidates.Count);
        into.Candidates.AddRange(from.Candidates);
        MakeRoom(into.Digests, from.Digests.Count);
        into.Digests.AddRange(from.Digests);
        if (from.FirstOrder < into.FirstOrder) into.FirstOrder = from.FirstOrder;
        if (from.DoneAt > into.DoneAt) into.DoneAt = from.DoneAt;
        into.Spans(from.FirstEventTime, from.LastEventTime);
        _groups.Remove(from); // its entries in the queue are skipped from now on
        // The queue still holds it until those entries come due: emptied, it keeps no digest alive meanwhile (see Forget).
        from.Candidates.Clear();
        from.Digests.Clear();
        return into;
    }

    /// <summary>Roll-ups and digests of groups decided, in the order their first digest was offered.</summary>
    /// <remarks>
    /// Written as loops over the members, not LINQ: a replay decides a roll-up every ~80 events, and the grouping and
    /// ordering operators cost most of the stage's time and allocations (docs/performance.md, "Speed, sixth session").
    /// </remarks>
    private List<Notice> Release(List<Group> decided)
    {
        var output = new List<Notice>();
        decided.Sort(static (a, b) => a.FirstOrder.CompareTo(b.FirstOrder));
        var actors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in decided)
        {
            // Walked from its first digest, so its candidates (and roll-ups) come in one order whatever formed the group.
            var candidates = WalkOrder(group.Digests.MinBy(h => h.Order)!);
            // When a live host decides the group: once its last candidate is done gathering. Not the clock of this
            // call, which in a replay depends on how many records a batch held, nor on which host asked.
            // A flush (the input ended) decides now, but dates the decision as a live host would have made it.
            var decidedAt = candidates.Max(DoneAt);
            Dictionary<Candidate, Rollup>? rolled = null;
            foreach (var candidate in candidates)
            {
                if (Build(candidate, decidedAt) is not { } rollup) continue;
                (rolled ??= new(ReferenceEqualityComparer.Instance))[candidate] = rollup;
                output.Add(rollup);
            }
            group.Digests.Sort(static (a, b) => a.Order.CompareTo(b.Order));
            foreach (var held in group.Digests)
            {
                // Released when decided, and never before the burst itself closed (an account whose events arrive late).
                var released = held.Digest.ClosedAt > decidedAt ? held.Digest.ClosedAt : decidedAt;
                output.Add(Mark(held, rolled, released));
            }
            _heldCount -= group.Digests.Count;
            foreach (var candidate in group.Candidates)
            {
                candidate.Released = true;
                actors.Add(candidate.ActorKey);
            }
        }
        foreach (var actor in actors)
        {
            var ofActor = _byActor[actor];
            ofActor.RemoveAll(static c => c.Released);
            if (ofActor.Count == 0) _byActor.Remove(actor);
        }
        foreach (var group in decided) Forget(group);
        return output;
    }

    /// <summary>
    /// Unlinks a decided group's candidates and held digests from each other. Nothing reads them again, but a group lived
    /// up to the max span and is in an old generation by now, as are some of its members: left linked, they keep the young
    /// digests they name (with their parts and counts) alive through young collections until a full one, and each of those
    /// collections copies them. The group may also wait in the queue of due times (stale entries are skipped, not removed).
    /// </summary>
    private static void Forget(Group group)
    {
        foreach (var candidate in group.Candidates)
        {
            candidate.Members.Clear();
            candidate.Group = null;
        }
        foreach (var held in group.Digests) held.Joined.Clear();
        group.Candidates.Clear();
        group.Digests.Clear();
    }

    /// <summary>
    /// The digest as released at <paramref name="released"/>, with the shares roll-ups took marked (their roll-up's id)
    /// and the count they hold: one copy of it (the marks and the release time were two).
    /// </summary>
    private static Digest Mark(Held held, Dictionary<Candidate, Rollup>? rolled, DateTimeOffset released)
    {
        var digest = held.Digest;
        if (rolled is null) return digest with { HeldUntil = released };
        DigestPart[]? parts = null;
        string? firstId = null;
        int folded = 0;
        for (int i = 0; i < digest.Parts.Count; i++)
        {
            var part = digest.Parts[i];
            if (RollupOf(held, part, rolled) is not { } id) continue;
            parts ??= [.. digest.Parts];
            parts[i] = part with { RollupId = id };
            firstId ??= id;
            folded += part.EventCount;
        }
        return parts is null
            ? digest with { HeldUntil = released }
            : digest with { Parts = parts, RollupId = firstId, FoldedEventCount = folded, HeldUntil = released };
    }

    /// <summary>The id of the roll-up that took <paramref name="part"/> of <paramref name="held"/>, if one did.</summary>
    private static string? RollupOf(Held held, DigestPart part, Dictionary<Candidate, Rollup> rolled)
    {
        foreach (var (candidate, joined) in held.Joined)
            if (ReferenceEquals(joined, part) && rolled.TryGetValue(candidate, out var rollup)) return rollup.RollupId;
        return null;
    }

    /// <summary>The candidate's roll-up, or null when its shares come from fewer than <see cref="RollupOptions.MinAccounts"/> accounts.</summary>
    private Rollup? Build(Candidate candidate, DateTimeOffset decidedAt)
    {
        var members = candidate.Members;
        // Each account once, in the order the members met it: its first digest, its last known name, its events here.
        var tallies = new List<AccountTally>(members.Count);
        var position = new Dictionary<string, int>(members.Count, StringComparer.Ordinal);
        foreach (var (held, part) in members)
        {
            var digest = held.Digest;
            if (position.TryGetValue(digest.Account, out int at))
            {
                ref var tally = ref CollectionsMarshal.AsSpan(tallies)[at];
                tally.Info = digest.AccountInfo ?? tally.Info;
                tally.EventCount += part.EventCount;
            }
            else
            {
                position[digest.Account] = tallies.Count;
                tallies.Add(new AccountTally(digest.Account, digest.AccountInfo, digest.DigestId, part.EventCount));
            }
        }
        if (tallies.Count < _options.MinAccounts) return null;
        var accounts = new RollupAccount[tallies.Count];
        for (int i = 0; i < accounts.Length; i++)
            accounts[i] = new RollupAccount(tallies[i].Account, tallies[i].Info, tallies[i].DigestId, tallies[i].EventCount);
        // Named accounts first, by name, then the others by id (each account is there once: the order is total).
        Array.Sort(accounts, static (a, b) =>
        {
            int c = (a.AccountName is null).CompareTo(b.AccountName is null);
            if (c == 0) c = string.CompareOrdinal(a.AccountName, b.AccountName);
            return c != 0 ? c : string.CompareOrdinal(a.Account, b.Account);
        });

        var parts = new DigestPart[members.Count];
        var first = members[0].Part.FirstEventTime;
        var last = members[0].Part.LastEventTime;
        int events = 0, errors = 0, riskyCount = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i] = members[i].Part;
            if (part.FirstEventTime < first) first = part.FirstEventTime;
            if (part.LastEventTime > last) last = part.LastEventTime;
            events += part.EventCount;
            errors += part.ErrorCount;
            riskyCount += part.RiskyCount;
        }
        return new Rollup
        {
            RollupId = RollupIdFor(candidate.ActorKey, members),
            ActorKey = candidate.ActorKey,
            Accounts = accounts,
            FirstEventTime = first,
            LastEventTime = last,
            EventCount = events,
            ErrorCount = errors,
            EventNames = DigestParts.Sum(parts, static p => p.EventNames),
            Principals = DigestParts.Sum(parts, static p => p.Principals),
            Regions = DigestParts.Sum(parts, static p => p.Regions),
            Failures = Failures(members, _window.MaxFailuresPerDigest),
            Risky = Risky(members, _window.MaxRiskyPerDigest),
            RiskyCount = riskyCount,
            ClosedAt = decidedAt,
        };
    }

    /// <summary>
    /// Each failing call (event name, error code) once, with the accounts that refused it, their counts added and the
    /// first message given; most accounts first, then by name and code; at most <paramref name="max"/>.
    /// </summary>
    private static List<RollupFailure> Failures(List<(Held Held, DigestPart Part)> members, int max)
    {
        var tallies = new List<(string EventName, string ErrorCode, string? Message, List<string> Accounts, int Count)>();
        var position = new Dictionary<(string, string), int>();
        foreach (var (held, part) in members)
            for (int i = 0; i < part.Failures.Count; i++)
            {
                var f = part.Failures[i];
                if (!position.TryGetValue((f.EventName, f.ErrorCode), out int at))
                {
                    position[(f.EventName, f.ErrorCode)] = at = tallies.Count;
                    tallies.Add((f.EventName, f.ErrorCode, null, [], 0));
                }
                ref var tally = ref CollectionsMarshal.AsSpan(tallies)[at];
                tally.Message ??= f.ErrorMessage;
                tally.Accounts.Add(held.Digest.Account);
                tally.Count += f.Count;
            }
        var failures = new List<RollupFailure>(tallies.Count);
        foreach (var t in tallies) failures.Add(new RollupFailure(t.EventName, t.ErrorCode, t.Message, DistinctOrdered(t.Accounts), t.Count));
        // (event name, error code) is each call's key: the order is total.
        failures.Sort(static (a, b) =>
        {
            int c = b.Accounts.Count.CompareTo(a.Accounts.Count);
            if (c == 0) c = string.CompareOrdinal(a.EventName, b.EventName);
            return c != 0 ? c : string.CompareOrdinal(a.ErrorCode, b.ErrorCode);
        });
        if (failures.Count > max) failures.RemoveRange(max, failures.Count - max);
        return failures;
    }

    /// <summary>
    /// Each risky call (event name, reason, severity) once, with the accounts that saw it, how many times and the first
    /// target given; most severe first, then most accounts, then by name, then as first met; at most <paramref name="max"/>.
    /// </summary>
    private static List<RollupRisk> Risky(List<(Held Held, DigestPart Part)> members, int max)
    {
        var tallies = new List<(string EventName, string Reason, RiskSeverity Severity, string? Target, List<string> Accounts, int Count)>();
        var position = new Dictionary<(string, string, RiskSeverity), int>();
        foreach (var (held, part) in members)
            for (int i = 0; i < part.Risky.Count; i++)
            {
                var r = part.Risky[i];
                if (!position.TryGetValue((r.EventName, r.Reason, r.Severity), out int at))
                {
                    position[(r.EventName, r.Reason, r.Severity)] = at = tallies.Count;
                    tallies.Add((r.EventName, r.Reason, r.Severity, null, [], 0));
                }
                ref var tally = ref CollectionsMarshal.AsSpan(tallies)[at];
                tally.Target ??= r.Target;
                tally.Accounts.Add(held.Digest.Account);
                tally.Count++;
            }
        var risky = new (RollupRisk Risk, int Met)[tallies.Count];
        for (int i = 0; i < risky.Length; i++)
        {
            var t = tallies[i];
            risky[i] = (new RollupRisk(t.EventName, t.Reason, t.Severity, DistinctOrdered(t.Accounts), t.Count, t.Target), i);
        }
        // Two calls of one name can differ in reason only: those keep the order they were met in.
        Array.Sort(risky, static (a, b) =>
        {
            int c = b.Risk.Severity.CompareTo(a.Risk.Severity);
            if (c == 0) c = b.Risk.Accounts.Count.CompareTo(a.Risk.Accounts.Count);
            if (c == 0) c = string.CompareOrdinal(a.Risk.EventName, b.Risk.EventName);
            return c != 0 ? c : a.Met.CompareTo(b.Met);
        });
        var kept = new List<RollupRisk>(Math.Min(max, risky.Length));
        for (int i = 0; i < risky.Length && i < max; i++) kept.Add(risky[i].Risk);
        return kept;
    }

    /// <summary>The accounts once each, in ordinal order.</summary>
    private static string[] DistinctOrdered(List<string> accounts)
    {
        accounts.Sort(StringComparer.Ordinal);
        int n = 0;
        var span = CollectionsMarshal.AsSpan(accounts);
        for (int i = 0; i < span.Length; i++)
            if (n == 0 || !string.Equals(span[n - 1], span[i], StringComparison.Ordinal)) span[n++] = span[i];
        return span[..n].ToArray();
    }

    /// <summary>One account of a roll-up being built.</summary>
    private record struct AccountTally(string Account, AccountInfo? Info, string DigestId, int EventCount);

    /// <summary>Same actor and same member digests → same id, whichever host or retry decides it.</summary>
    private static string RollupIdFor(string actorKey, List<(Held Held, DigestPart Part)> members)
    {
        var ids = ArrayPool<string>.Shared.Rent(members.Count);
        try
        {
            for (int i = 0; i < members.Count; i++) ids[i] = members[i].Held.Digest.DigestId;
            return RollupIdFor(actorKey, ids.AsSpan(0, members.Count));
        }
        finally
        {
            ArrayPool<string>.Shared.Return(ids, clearArray: true);
        }
    }

    /// <summary>
    /// The id of <c>rollup|ACTOR|ID,ID,…</c>, the digest ids in ordinal order (<paramref name="digestIds"/> is sorted in
    /// place). The text is written into a rented buffer: a roll-up of hundreds of accounts made it twice over as strings.
    /// </summary>
    internal static string RollupIdFor(string actorKey, Span<string> digestIds)
    {
        digestIds.Sort(StringComparer.Ordinal);
        const string Prefix = "rollup|";
        int length = Prefix.Length + actorKey.Length + 1 + Math.Max(0, digestIds.Length - 1);
        foreach (var id in digestIds) length += id.Length;
        var text = ArrayPool<char>.Shared.Rent(length);
        try
        {
            int n = 0;
            Append(Prefix);
            Append(actorKey);
            Append("|");
            for (int i = 0; i < digestIds.Length; i++)
            {
                if (i > 0) Append(",");
                Append(digestIds[i]);
            }
            return NoticeIds.Of(text.AsSpan(0, n));

            void Append(string part)
            {
                part.CopyTo(text.AsSpan(n));
                n += part.Length;
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
        }
    }

    /// <summary>
    /// Shared names over the names of the smaller call set (the overlap coefficient): an account where the change
    /// stopped early (a refused call, then a rollback) still shares most of its calls with the others, while an
    /// unrelated change by the same role shares few or none.
    /// </summary>
    /// <remarks>The share's names are compared as they are (a count list has each name once): no set is made per share.</remarks>
    private static double Similarity(HashSet<string> calls, IReadOnlyList<KeyValuePair<string, int>> names)
    {
        if (calls.Count == 0 || names.Count == 0) return calls.Count == names.Count ? 1 : 0;
        int shared = 0;
        for (int i = 0; i < names.Count; i++)
            if (calls.Contains(names[i].Key)) shared++;
        return (double)shared / Math.Min(calls.Count, names.Count);
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
            foreach (var (candidate, _) in held.Joined)
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

    /// <summary>Adds to a list of the planner's, clearing the array it outgrows (<see cref="MakeRoom"/>).</summary>
    private static void AddClearingOutgrown<T>(List<T> list, T item)
    {
        MakeRoom(list, 1);
        list.Add(item);
    }

    /// <summary>
    /// Grows a list of the planner's for <paramref name="more"/> items, and clears the array it outgrows. A candidate's
    /// members and a group's lists grow for up to the max span, long after the list itself reached an old generation. An
    /// outgrown array left there with its references keeps the young digests it names alive through every young
    /// collection until a full one: the collector reads an old object's references without knowing the object is dead.
    /// The same goes for a decided group and its candidates (<see cref="Forget"/>).
    /// </summary>
    private static void MakeRoom<T>(List<T> list, int more)
    {
        if (list.Count + more <= list.Capacity) return;
        var outgrown = CollectionsMarshal.AsSpan(list);
        list.Capacity = Math.Max(list.Count + more, Math.Max(4, list.Capacity * 2));
        outgrown.Clear();
    }

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

        public void Spans(DigestPart part) => Spans(part.FirstEventTime, part.LastEventTime);

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
        /// <summary>The candidates the digest's shares joined, with the share that joined each.</summary>
        public List<(Candidate Candidate, DigestPart Part)> Joined { get; } = [];
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
        public List<(Held Held, DigestPart Part)> Members { get; } = [];
        /// <summary>The group the candidate is in now.</summary>
        public Group? Group { get; set; }
        /// <summary>Decided: removed from its actor's candidates once the release is done.</summary>
        public bool Released { get; set; }

        /// <summary>A share joins when its events lie within the window of the change's, and within its max span.</summary>
        public bool Admits(DigestPart part, RollupOptions options) =>
            part.FirstEventTime <= LastEventTime + options.Window &&
            part.LastEventTime >= FirstEventTime - options.Window &&
            part.FirstEventTime <= FirstEventTime + options.MaxSpan &&
            part.LastEventTime >= LastEventTime - options.MaxSpan;

        public void Add(Held held, DigestPart part)
        {
            AddClearingOutgrown(Members, (held, part));
            if (part.FirstEventTime < FirstEventTime) FirstEventTime = part.FirstEventTime;
            if (part.LastEventTime > LastEventTime) LastEventTime = part.LastEventTime;
            held.Joined.Add((this, part));
        }
    }
}
