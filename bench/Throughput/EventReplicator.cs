using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Enricher.Parsing;

namespace Pipeline.Bench.Throughput;

/// <summary>
/// Turns a small corpus into as many events as a benchmark needs, each one a distinct event: a new id
/// (envelope <c>id</c> and CloudTrail <c>eventID</c>), one of <see cref="AccountCount"/> accounts and a time
/// that only moves forward. Accounts come in runs (one account is busy for a few seconds, then another), so
/// the aggregator sees bursts as a real organisation makes them. Deterministic for a given corpus and seed.
/// </summary>
/// <remarks>
/// Each corpus line is turned once into a template with three holes (id, account, time); an event is then
/// the template's pieces with the values in between, so generating costs a copy, not a JSON rewrite, and a
/// generated stream can feed a 10M-event run without being stored. Lines that are not an event (bad JSON,
/// unknown shapes) are kept verbatim: they are rejected on every copy, as they would be in real input.
/// One event in <see cref="RedeliveryEvery"/> is written twice (an at-least-once redelivery).
/// </remarks>
internal sealed class EventReplicator
{
    public const int AccountCount = 200;
    public const int RedeliveryEvery = 1000;
    private static readonly DateTime Start = new(2026, 11, 24, 0, 0, 0, DateTimeKind.Utc);

    private enum Hole : byte { None, Id, Account, Time }

    private sealed record Template(byte[][] Pieces, Hole[] Holes);

    private readonly Template[] _templates;
    private readonly string[] _accounts;
    private readonly Random _random;
    private long _produced;
    private long _timeMs;
    private int _runLeft;
    private string _account = "";
    private byte[]? _previous;

    public EventReplicator(IReadOnlyList<byte[]> corpus, int seed = 42)
    {
        _templates = [.. corpus.Select(ToTemplate)];
        _accounts = [.. AccountIds];
        _random = new Random(seed);
    }

    /// <summary>The accounts the events are spread over (12 digits each).</summary>
    public static IReadOnlyList<string> AccountIds { get; } = [.. Enumerable.Range(0, AccountCount).Select(i => (210_000_000_000L + i * 7_919L).ToString(CultureInfo.InvariantCulture))];

    /// <summary>Lines of the corpus that are kept verbatim (not an event this replicator can vary).</summary>
    public int VerbatimLines => _templates.Count(t => t.Holes.Length == 0);

    /// <summary>Appends the next line (with its '\n') to <paramref name="output"/>.</summary>
    public void AppendNext(ArrayBufferWriter<byte> output)
    {
        if (_previous is not null)
        {
            output.Write(_previous);
            _previous = null;
            _produced++;
            return;
        }

        if (_runLeft-- <= 0)
        {
            _account = _accounts[_random.Next(_accounts.Length)];
            _runLeft = _random.Next(1, 60);
        }
        _timeMs += _random.Next(0, 100); // ~20 events/s across the organisation
        var template = _templates[_random.Next(_templates.Length)];

        int start = output.WrittenCount;
        Span<byte> id = stackalloc byte[36];
        FormatId(_produced, id);
        Span<byte> time = stackalloc byte[20];
        Start.AddMilliseconds(_timeMs).TryFormat(time, out _, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        for (int i = 0; i < template.Pieces.Length; i++)
        {
            output.Write(template.Pieces[i]);
            if (i < template.Holes.Length)
            {
                switch (template.Holes[i])
                {
                    case Hole.Id: output.Write(id); break;
                    case Hole.Account: Encoding.ASCII.GetBytes(_account, output.GetSpan(12)); output.Advance(12); break;
                    case Hole.Time: output.Write(time); break;
                }
            }
        }
        output.Write("\n"u8);
        _produced++;
        if (_produced % RedeliveryEvery == 0) _previous = output.WrittenSpan[start..].ToArray();
    }

    /// <summary>Writes <paramref name="events"/> lines to <paramref name="stream"/>; returns the bytes written.</summary>
    public long WriteTo(Stream stream, long events)
    {
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        long bytes = 0;
        for (long n = 0; n < events; n++)
        {
            AppendNext(buffer);
            if (buffer.WrittenCount >= 1 << 20 || n == events - 1)
            {
                stream.Write(buffer.WrittenSpan);
                bytes += buffer.WrittenCount;
                buffer.ResetWrittenCount();
            }
        }
        return bytes;
    }

    /// <summary>A read-only stream of <paramref name="events"/> generated lines, produced as it is read (nothing is stored).</summary>
    public Stream OpenStream(long events) => new GeneratedStream(this, events);

    /// <summary>A UUID-shaped id, unique per event number.</summary>
    private static void FormatId(long n, Span<byte> id)
    {
        ulong mixed = (ulong)n * 0x9E3779B97F4A7C15UL;
        Span<char> chars = stackalloc char[36];
        ((uint)n).TryFormat(chars, out _, "x8", CultureInfo.InvariantCulture);
        chars[8] = '-';
        ((ushort)(mixed >> 48)).TryFormat(chars[9..], out _, "x4", CultureInfo.InvariantCulture);
        chars[13] = '-';
        ((ushort)(mixed >> 32)).TryFormat(chars[14..], out _, "x4", CultureInfo.InvariantCulture);
        chars[18] = '-';
        ((ushort)(mixed >> 16)).TryFormat(chars[19..], out _, "x4", CultureInfo.InvariantCulture);
        chars[23] = '-';
        ((ushort)mixed).TryFormat(chars[24..], out _, "x4", CultureInfo.InvariantCulture);
        ((uint)(n >> 32) ^ (uint)(mixed >> 20)).TryFormat(chars[28..], out _, "x8", CultureInfo.InvariantCulture);
        Encoding.ASCII.GetBytes(chars, id);
    }

    private const string IdHole = "@@bench-id@@";
    private const string AccountHole = "@@bench-account@@";
    private const string TimeHole = "@@bench-time@@";

    private static Template ToTemplate(byte[] line)
    {
        var verbatim = new Template([line], []);
        JsonNode? node;
        EnvelopeBuilder.Shape shape;
        try
        {
            node = JsonNode.Parse(line);
            using var doc = JsonDocument.Parse(line);
            shape = EnvelopeBuilder.Detect(doc.RootElement);
        }
        catch (JsonException)
        {
            return verbatim;
        }
        if (node is not JsonObject root) return verbatim;

        switch (shape)
        {
            case EnvelopeBuilder.Shape.Envelope:
                root["id"] = IdHole;
                root["account"] = AccountHole;
                root["time"] = TimeHole;
                if (root["detail"] is JsonObject detail && (root["detail-type"]?.GetValueKind() == JsonValueKind.String) &&
                    root["detail-type"]!.GetValue<string>().EndsWith(" via CloudTrail", StringComparison.Ordinal))
                {
                    detail["eventID"] = IdHole;
                    if (detail.ContainsKey("recipientAccountId")) detail["recipientAccountId"] = AccountHole;
                    if (detail.ContainsKey("eventTime")) detail["eventTime"] = TimeHole;
                }
                break;
            case EnvelopeBuilder.Shape.CloudTrailRecord:
                root["eventID"] = IdHole;
                root["recipientAccountId"] = AccountHole;
                root["eventTime"] = TimeHole;
                break;
            case EnvelopeBuilder.Shape.GuardDutyFinding:
                root["id"] = IdHole;
                root["accountId"] = AccountHole;
                root["updatedAt"] = TimeHole;
                break;
            case EnvelopeBuilder.Shape.SecurityHubFinding:
                root["Id"] = IdHole;
                root["AwsAccountId"] = AccountHole;
                root["UpdatedAt"] = TimeHole;
                break;
            default:
                return verbatim;
        }

        var buffer = new ArrayBufferWriter<byte>(line.Length + 128);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            root.WriteTo(writer);
        return Split(buffer.WrittenSpan);
    }

    /// <summary>Cuts the rewritten line at every hole: pieces[i], hole i, pieces[i+1], …</summary>
    private static Template Split(ReadOnlySpan<byte> json)
    {
        var pieces = new List<byte[]>();
        var holes = new List<Hole>();
        while (true)
        {
            int at = -1;
            var hole = Hole.None;
            int length = 0;
            foreach (var (text, kind) in new[] { (IdHole, Hole.Id), (AccountHole, Hole.Account), (TimeHole, Hole.Time) })
            {
                int i = json.IndexOf(Encoding.ASCII.GetBytes(text));
                if (i >= 0 && (at < 0 || i < at)) { at = i; hole = kind; length = text.Length; }
            }
            if (at < 0) break;
            pieces.Add(json[..at].ToArray());
            holes.Add(hole);
            json = json[(at + length)..];
        }
        pieces.Add(json.ToArray());
        return new Template([.. pieces], [.. holes]);
    }

    /// <summary>Generates lines on demand, so a 10M-event run needs no 15 GB file.</summary>
    private sealed class GeneratedStream(EventReplicator replicator, long events) : Stream
    {
        private readonly ArrayBufferWriter<byte> _chunk = new(256 * 1024);
        private long _left = events;
        private int _offset;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_offset == _chunk.WrittenCount)
            {
                _chunk.ResetWrittenCount();
                _offset = 0;
                while (_left > 0 && _chunk.WrittenCount < 128 * 1024)
                {
                    replicator.AppendNext(_chunk);
                    _left--;
                }
                if (_chunk.WrittenCount == 0) return 0;
            }
            int n = Math.Min(buffer.Length, _chunk.WrittenCount - _offset);
            _chunk.WrittenSpan.Slice(_offset, n).CopyTo(buffer);
            _offset += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
