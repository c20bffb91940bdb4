using System.Net;
using System.Runtime.InteropServices;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The client reads each invocation's body straight into an array of its own: with a Content-Length, and without one
/// (chunked, as the loopback Runtime API sends it), sized by the largest body so far and grown when short; once an
/// invocation is answered, its array carries the next body that fits.
/// </summary>
public sealed class RuntimeApiClientTests
{
    private static readonly int[] Sizes = [0, 1, 10, 65_535, 65_536, 65_537, 300_000, 10, 300_000, 337_500, 337_501, 1_000_003, 5];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Every_body_arrives_whole_whatever_its_size_and_the_earlier_ones(bool withLength)
    {
        var bodies = Bodies(31);
        using var http = Scripted(bodies, withLength);
        var client = new RuntimeApiClient(http);

        foreach (var expected in bodies)
        {
            var invocation = await client.NextAsync(default);
            Assert.Equal(expected, invocation.Body.ToArray());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_answered_invocations_buffer_carries_the_next_body_that_fits(bool withLength)
    {
        var bodies = Bodies(17);
        using var http = Scripted(bodies, withLength);
        var client = new RuntimeApiClient(http);

        byte[]? spare = null; // the largest buffer answered so far
        int reused = 0;
        foreach (var expected in bodies)
        {
            var invocation = await client.NextAsync(default);
            Assert.Equal(expected, invocation.Body.ToArray());
            Assert.True(MemoryMarshal.TryGetArray<byte>(invocation.Body, out var segment));
            var array = segment.Array!;
            if (ReferenceEquals(array, spare)) reused++;
            // With a Content-Length the rule is exact: the spare buffer when the body fits in it, else a new one.
            if (withLength) Assert.Equal(spare is not null && spare.Length >= expected.Length, ReferenceEquals(array, spare));
            client.Recycle(invocation);
            if (array.Length > (spare?.Length ?? 0)) spare = array;
        }
        Assert.True(reused >= 3, $"only {reused} of {bodies.Count} bodies reused a buffer");
    }

    [Fact]
    public async Task A_recycled_buffer_longer_than_the_body_takes_only_its_Content_Length()
    {
        // The second body says 10 bytes and its stream has 20: the recycled 100-byte buffer must not take the rest.
        var first = Enumerable.Repeat((byte)1, 100).ToArray();
        var second = Enumerable.Range(0, 20).Select(b => (byte)b).ToArray();
        using var http = Scripted([first, second], withLength: true, claimedLengths: [100, 10]);
        var client = new RuntimeApiClient(http);

        client.Recycle(await client.NextAsync(default));
        var invocation = await client.NextAsync(default);

        Assert.Equal(second[..10], invocation.Body.ToArray());
    }

    [Fact]
    public async Task A_body_shorter_than_its_Content_Length_is_an_error()
    {
        using var http = Scripted([new byte[100]], withLength: true, claimedLength: 150);

        await Assert.ThrowsAsync<IOException>(() => new RuntimeApiClient(http).NextAsync(default));
    }

    /// <summary>A body of each of <see cref="Sizes"/>, each with bytes of its own.</summary>
    private static List<byte[]> Bodies(int step) =>
        [.. Sizes.Select((size, i) => Enumerable.Range(0, size).Select(b => (byte)(b * step + i)).ToArray())];

    private static HttpClient Scripted(IReadOnlyList<byte[]> bodies, bool withLength, long? claimedLength = null, long[]? claimedLengths = null) =>
        new(new ScriptedRuntimeApi(bodies, withLength, claimedLength, claimedLengths)) { BaseAddress = new Uri("http://127.0.0.1:9/2018-06-01/") };

    /// <summary>Answers each <c>next</c> with the following body, handed out in small, uneven reads.</summary>
    private sealed class ScriptedRuntimeApi(IReadOnlyList<byte[]> bodies, bool withLength, long? claimedLength = null, long[]? claimedLengths = null) : HttpMessageHandler
    {
        private int _next;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = bodies[_next];
            var content = new StreamContent(new TrickleStream(body));
            if (withLength) content.Headers.ContentLength = claimedLengths?[_next] ?? claimedLength ?? body.Length;
            _next++;
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
            response.Headers.Add("Lambda-Runtime-Aws-Request-Id", $"req-{_next}");
            return Task.FromResult(response);
        }
    }

    /// <summary>A stream of unknown length that gives at most 7,777 bytes a read, as a socket does.</summary>
    private sealed class TrickleStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(Math.Min(buffer.Length, 7_777), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
