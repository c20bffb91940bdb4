using System.IO.Hashing;
using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// Shares the <see cref="UserIdentity"/> of callers that act again and again (a pipeline's role session, a service, a
/// person's console session): the same <c>userIdentity</c> bytes give the same instance, so reading it allocates
/// nothing, and whatever a later stage derives from an identity once (its display name, its actor key) is derived once.
/// <para>
/// A fixed number of slots, each holding the last identity whose bytes hashed to it, compared byte for byte: many
/// distinct identities only evict each other, the cache never grows. Slots are replaced with single reference writes
/// of immutable entries, so concurrent readers need no lock (at worst an identity is built again).
/// </para>
/// <para>
/// An identity is kept at its second sighting, not its first: each slot also remembers the hash of the last identity
/// that missed there. One seen once (a short session, a finding's principal) then costs no copy of its bytes and
/// evicts no identity that repeats. In a batch where every identity differs (the Lambda benchmark's) the copies were
/// about an eighth of the bytes the function allocated; one that repeats is built once more, once.
/// </para>
/// </summary>
internal sealed class IdentityCache
{
    /// <summary>Identities longer than this are rare and not worth keeping (the bytes are held as the key).</summary>
    private const int MaxBytes = 2048;

    private readonly Entry?[] _slots;
    // Per slot, the hash of the last identity that missed there: seen once, not yet kept.
    private readonly ulong[] _seen;
    private readonly int _mask;

    /// <param name="slots">A power of two.</param>
    public IdentityCache(int slots = 1024)
    {
        if (slots <= 0 || (slots & (slots - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(slots), "must be a power of two");
        _slots = new Entry?[slots];
        _seen = new ulong[slots];
        _mask = slots - 1;
    }

    /// <summary>The cache the parser uses (1,024 slots: at most ~2.5 MB, usually a few hundred KB).</summary>
    public static IdentityCache Shared { get; } = new();

    /// <summary>
    /// The identity whose JSON is <paramref name="utf8"/>, if it was read recently; <paramref name="hash"/> is the bytes'
    /// hash, for <see cref="Add"/> when it was not.
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out UserIdentity identity, out ulong hash)
    {
        hash = XxHash3.HashToUInt64(utf8);
        var cached = _slots[(int)hash & _mask];
        if (cached is not null && utf8.SequenceEqual(cached.Bytes))
        {
            identity = cached.Identity;
            return true;
        }
        identity = null!;
        return false;
    }

    /// <summary>
    /// Offers <paramref name="identity"/>, read from <paramref name="utf8"/> (whose <see cref="TryGet"/> gave <paramref name="hash"/>):
    /// kept, evicting whatever shared its slot, when bytes of the same hash missed there last (a hit still compares the
    /// bytes themselves); else only remembered as seen.
    /// </summary>
    public void Add(ReadOnlySpan<byte> utf8, ulong hash, UserIdentity identity)
    {
        if (utf8.Length > MaxBytes) return;
        int slot = (int)hash & _mask;
        if (_seen[slot] != hash)
        {
            _seen[slot] = hash;
            return;
        }
        _slots[slot] = new Entry(utf8.ToArray(), identity);
    }

    private sealed record Entry(byte[] Bytes, UserIdentity Identity);
}
