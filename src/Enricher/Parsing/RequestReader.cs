using System.Text;
using System.Text.Json;

namespace Pipeline.Enricher.Parsing;

/// <summary>
/// What a CloudTrail record's <c>requestParameters</c> tell a digest: the resource the call names, the address ranges it
/// opens, and whether a policy in it grants to everyone. Its top level is read in the record's pass (<see cref="Locate"/>:
/// where each target key is); the deep searches walk it once more, and only when its bytes could hold what they look for.
/// </summary>
internal static class RequestReader
{
    /// <summary>
    /// Request parameters that name the thing a call acts on, most specific first. The first one present (with a
    /// string, or an array whose first item is one) becomes the event's target, shown next to risky events.
    /// </summary>
    private static readonly byte[][] TargetKeys = AtMost(TargetKeyPositions.Length,
    [
        .. new[]
        {
            "bucketName", "roleName", "userName", "groupName", "policyArn", "policyName", "groupId", "trailName",
            "keyId", "functionName", "instanceId", "dBInstanceIdentifier", "secretId", "topicArn", "queueUrl",
            "clusterName", "repositoryName", "detectorId", "stackName", "snapshotId", "imageId", "vpcId",
            "accountId", "name", "Name",
            // Last, so they never displace a target the keys above find: what the pipeline's own resources are named by.
            "rule", "stackSetName", "streamName", "tableName", "eventBusName",
        }.Select(Encoding.UTF8.GetBytes),
    ]);

    private static byte[][] AtMost(int room, byte[][] keys) =>
        keys.Length <= room ? keys : throw new InvalidOperationException($"{keys.Length} target keys, room for {room} in {nameof(TargetKeyPositions)}");

    /// <summary>Ingress ranges are looked for this deep in the request, and at most this many are kept (more only in one object).</summary>
    private const int RangeDepth = 8, MaxRanges = 16;

    /// <summary>Policies are looked for this deep (a policy passed as a JSON string counts one level more).</summary>
    private const int PolicyDepth = 10;

    /// <summary>What one request says.</summary>
    public readonly record struct Facts(string? Target, List<string>? Ranges, bool GrantsToEveryone);

    /// <summary>
    /// The record's pass over <c>requestParameters</c> (the reader on its value): where the last value of each target key
    /// starts, and <c>instancesSet</c>'s extent, into <paramref name="top"/>; every value is skipped (and checked) as the
    /// pass skips any other. Returns the value's extent. Reading the top level here, not in a walk of its own after the
    /// pass, saves a second walk of it: about 5% of the parser's time (docs/performance.md, "Speed, twelfth session").
    /// </summary>
    public static JsonValueRef Locate(ref JsonCursor reader, ref RequestTop top)
    {
        top = default;
        if (reader.TokenType != JsonTokenType.StartObject) return JsonValueRef.Extent(ref reader);
        int start = reader.TokenStartIndex;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = RecordScanner.Name(ref reader);
            int key = TargetKeyIndex(name);
            bool isInstancesSet = key < 0 && name.SequenceEqual("instancesSet"u8);
            reader.Read();
            // A later duplicate replaces an earlier one, as in a parsed document.
            if (key >= 0) top.Keys[key] = reader.TokenStartIndex + 1;
            if (isInstancesSet) top.InstancesSet = JsonValueRef.Extent(ref reader);
            else reader.Skip();
        }
        return new JsonValueRef(JsonTokenType.StartObject, start, reader.BytesConsumed - start, false);
    }

    /// <summary>
    /// The request's facts: its target from where the pass found the target keys, and the two deep searches when its
    /// bytes could hold a range or a grant.
    /// </summary>
    /// <param name="json">The record.</param>
    /// <param name="request">The <c>requestParameters</c> object in it, and <paramref name="top"/> what <see cref="Locate"/> found there.</param>
    /// <param name="lookForPolicies">Whether the call is one that may carry a resource policy (only those are searched for a grant).</param>
    public static Facts Read(ReadOnlySpan<byte> json, JsonValueRef request, in RequestTop top, bool lookForPolicies, StringCache cache)
    {
        var target = Target(json, top, cache);
        var bytes = request.Raw(json);
        if (!MayFindRangeOrGrant(bytes, lookForPolicies)) return new Facts(target, Ranges: null, GrantsToEveryone: false);
        // Located, and checked as JSON, in the record's pass already, which read it at most this deep.
        var reader = new JsonCursor(bytes, EventParser.MaxDepth);
        reader.Read();
        var walk = new Walk(bytes, lookForPolicies);
        walk.Value(ref reader, depth: 0, ranges: true, policies: lookForPolicies);
        return new Facts(target, walk.Ranges(cache), walk.Grants);
    }

    /// <summary>
    /// Whether the searches could find anything in these bytes. Every range name holds "idr" (<c>cidrIp</c> …
    /// <c>ipv6CidrBlock</c>) and a grant needs a <c>Principal</c>/<c>principal</c> (in nested JSON or in a policy string);
    /// an escape could spell either without its letters, so a request with a backslash is searched whatever it holds.
    /// Most requests have none of these, and are not walked again.
    /// </summary>
    private static bool MayFindRangeOrGrant(ReadOnlySpan<byte> request, bool lookForPolicies) =>
        request.Contains((byte)'\\') || request.IndexOf("idr"u8) >= 0 || (lookForPolicies && request.IndexOf("rincipal"u8) >= 0);

    /// <summary>
    /// The first target key (in <see cref="TargetKeys"/>' order) whose last value is a string, or an array whose first
    /// item is one; else <c>instancesSet</c>'s first instance. Only those values are read again.
    /// </summary>
    private static string? Target(ReadOnlySpan<byte> json, in RequestTop top, StringCache cache)
    {
        for (int key = 0; key < TargetKeys.Length; key++)
        {
            int at = top.Keys[key] - 1;
            if (at < 0) continue;
            // The value alone, from its first byte: checked in the pass, and read no further than its end.
            var value = json[at..];
            var reader = new JsonCursor(value, EventParser.MaxDepth);
            reader.Read();
            if (reader.TokenType == JsonTokenType.String) return JsonValueRef.At(ref reader).Text(value, cache);
            if (reader.TokenType != JsonTokenType.StartArray) continue;
            JsonValueRef first = default;
            int count = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (count++ == 0) first = JsonValueRef.At(ref reader);
                reader.Skip();
            }
            if (count > 0 && first.Kind == JsonTokenType.String)
                return first.Text(value) + (count > 1 ? $" (+{count - 1})" : "");
        }
        return top.InstancesSet.IsObject ? FirstInstance(top.InstancesSet.Raw(json)) : null;
    }

    /// <summary>ec2 RunInstances-style: <c>{"instancesSet":{"items":[{"instanceId":"i-…"}]}}</c>: the first item's instance (or image).</summary>
    private static string? FirstInstance(ReadOnlySpan<byte> instancesSet)
    {
        var reader = new JsonCursor(instancesSet, EventParser.MaxDepth);
        reader.Read();
        JsonValueRef instanceId = default, imageId = default;
        bool found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isItems = RecordScanner.Name(ref reader).SequenceEqual("items"u8);
            reader.Read();
            if (!isItems || reader.TokenType != JsonTokenType.StartArray)
            {
                if (isItems) found = false;
                reader.Skip();
                continue;
            }
            // The last "items" wins; only its first element counts.
            found = false;
            instanceId = imageId = default;
            if (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                found = true;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var name = RecordScanner.Name(ref reader);
                        reader.Read();
                        if (name.SequenceEqual("instanceId"u8)) instanceId = JsonValueRef.At(ref reader);
                        else if (name.SequenceEqual("imageId"u8)) imageId = JsonValueRef.At(ref reader);
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Skip();
                }
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) reader.Skip();
            }
        }
        return found ? instanceId.Text(instancesSet) ?? imageId.Text(instancesSet) : null;
    }

    private static int TargetKeyIndex(ReadOnlySpan<byte> name)
    {
        // Every property of every request is looked up: only the keys of the name's length are compared.
        if (name.Length >= TargetKeysByLength.Length) return -1;
        foreach (int i in TargetKeysByLength[name.Length])
            if (name.SequenceEqual(TargetKeys[i])) return i;
        return -1;
    }

    /// <summary>The indexes into <see cref="TargetKeys"/> of the keys of each length, in the keys' order.</summary>
    private static readonly int[][] TargetKeysByLength =
        [.. Enumerable.Range(0, TargetKeys.Max(k => k.Length) + 1)
            .Select(length => Enumerable.Range(0, TargetKeys.Length).Where(i => TargetKeys[i].Length == length).ToArray())];


    /// <summary>Whether a search reaches one object, decided when it is entered.</summary>
    private readonly record struct Reach(bool Ranges, bool Policies, int Depth);

    /// <summary>What a property's name means to the searches in its object.</summary>
    private readonly record struct PropertyFlag(bool IsRange, bool IsPrincipal, bool IsAws);

    /// <summary>
    /// The two recursive searches of a request, done in the one walk: ingress ranges (<c>cidrIp</c>, <c>cidrIpv6</c>,
    /// <c>cidrBlock</c> … as string values, down to depth 8, at most 16) and a grant to everyone (<c>"Principal":"*"</c>,
    /// <c>{"AWS":"*"}</c>, in nested JSON or in a policy passed as a JSON string, down to depth 10).
    /// </summary>
    private ref struct Walk(ReadOnlySpan<byte> json, bool lookForPolicies)
    {
        private readonly ReadOnlySpan<byte> _json = json;
        private readonly bool _lookForPolicies = lookForPolicies;
        private List<JsonValueRef>? _ranges;

        public bool Grants { get; private set; }

        public readonly List<string>? Ranges(StringCache cache)
        {
            if (_ranges is null) return null;
            var texts = new List<string>(_ranges.Count);
            foreach (var range in _ranges) texts.Add(range.Text(_json, cache)!);
            return texts;
        }

        /// <summary>The searches that reach an object or array at <paramref name="depth"/> whose parent they reached.</summary>
        public readonly Reach Enter(int depth, bool ranges, bool policies) =>
            new(ranges && depth <= RangeDepth && (_ranges?.Count ?? 0) < MaxRanges, policies && depth <= PolicyDepth, depth);

        public readonly PropertyFlag PropertyFlags(ReadOnlySpan<byte> name, Reach here) => new(
            here.Ranges && IsRangeName(name),
            here.Policies && (name.SequenceEqual("Principal"u8) || name.SequenceEqual("principal"u8)),
            name.SequenceEqual("AWS"u8));

        /// <summary>
        /// Reads one property's value in an object the searches reached as <paramref name="here"/>; true when the value
        /// is everyone (see <see cref="Value"/>).
        /// </summary>
        public bool Property(ref JsonCursor reader, PropertyFlag flags, Reach here, int depth)
        {
            if (flags.IsRange && reader.TokenType == JsonTokenType.String)
            {
                (_ranges ??= []).Add(JsonValueRef.At(ref reader));
                // A range's value is not searched for ranges again, but it is for a policy.
                return Value(ref reader, depth + 1, ranges: false, here.Policies);
            }
            bool everyone = Value(ref reader, depth + 1, here.Ranges, here.Policies);
            if (flags.IsPrincipal && everyone) Grants = true;
            return everyone;
        }

        /// <summary>
        /// Reads the value the reader stands on, at <paramref name="depth"/>, searching it as far as the searches reach.
        /// True when the value is everyone as a principal names it: <c>"*"</c>, <c>{"AWS":"*"}</c>, or an array holding either.
        /// </summary>
        public bool Value(ref JsonCursor reader, int depth, bool ranges, bool policies)
        {
            var self = JsonValueRef.At(ref reader);
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                {
                    var here = Enter(depth, ranges, policies);
                    bool everyone = false;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var flags = PropertyFlags(RecordScanner.Name(ref reader), here);
                        reader.Read();
                        bool seen = Property(ref reader, flags, here, depth);
                        if (flags.IsAws) everyone = seen; // {"AWS": …}: the last one counts
                    }
                    return everyone;
                }
                case JsonTokenType.StartArray:
                {
                    var here = Enter(depth, ranges, policies);
                    bool everyone = false;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        everyone |= Value(ref reader, depth + 1, here.Ranges, here.Policies);
                    return everyone;
                }
                case JsonTokenType.String:
                {
                    // An escaped "*" is at most "\u002A": a longer escaped string (a policy document, say) is not decoded for this.
                    bool star = self.Escaped ? self.Length <= 6 && self.Text(_json) == "*" : reader.ValueSpan.SequenceEqual("*"u8);
                    if (policies && depth <= PolicyDepth && _lookForPolicies && PolicyStringGrants(self.Text(_json)!, depth)) Grants = true;
                    return star;
                }
                default:
                    return false;
            }
        }

        /// <summary>SQS, SNS and KMS pass the policy as a JSON string: it is read as JSON, one level deeper.</summary>
        private static bool PolicyStringGrants(string text, int depth)
        {
            if (text.Length < 10 || !text.Contains("rincipal", StringComparison.Ordinal)) return false;
            // Only an object, an array or a (double-encoded) string can hold a principal.
            if (text.AsSpan().TrimStart() is not ['{' or '[' or '"', ..]) return false;
            try
            {
                // Repaired as the record was (JsonTextRepair): an unpaired surrogate escape in the policy's own JSON
                // becomes U+FFFD at every depth, so a policy nested as a string in a string is still read.
                var bytes = JsonTextRepair.Repair(Encoding.UTF8.GetBytes(text)).Span;
                var reader = new JsonCursor(bytes); // 64 levels, as the framework reader's default
                reader.Read();
                var inner = new Walk(bytes, lookForPolicies: true);
                inner.Value(ref reader, depth + 1, ranges: false, policies: true);
                // A policy string with anything after its value is not JSON: the cursor throws, and nothing in it counts.
                reader.Read();
                return inner.Grants;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        private static bool IsRangeName(ReadOnlySpan<byte> name) =>
            name.SequenceEqual("cidrIp"u8) || name.SequenceEqual("cidrIpv6"u8) || name.SequenceEqual("cidrBlock"u8) ||
            name.SequenceEqual("CidrIp"u8) || name.SequenceEqual("CidrIpv6"u8) || name.SequenceEqual("ipv6CidrBlock"u8);
    }
}
