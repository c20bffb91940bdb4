using System.Net;
using Pipeline.Lambda.Runtime;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The client reads each invocation's body straight into an array of its own: with a Content-Length, and without one
/// (chunked, as the loopback Runtime API sends it), sized by the largest body so far and grown when short.
/// </summary>
public sealed class RuntimeApiClientTests
{
    private static readonly int[] Sizes = [0, 1, 10, 65_535, 65_536, 65_537, 300_000, 10, 300_000, 337_500, 337_501, 1_000_003, 5];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Every_body_arrives_whole_whatever_its_size_and_the_earlier_ones(bool withLength)
    {
        var bodies = Sizes.Select((size, i) => Enumerable.Range(0, size).Select(b => (byte)(b * 31 + i)).ToArray()).ToList();
        using var http = new HttpClient(new ScriptedRuntimeApi(bodies, withLength)) { BaseAddress = new Uri("http://127.0.0.1:9/2018-06-01/") };
        var client = new RuntimeApiClient(http);

        foreach (var expected in bodies)
        {
            var invocation = await client.NextAsync(default);
            Assert.Equal(expected, invocation.Body.ToArray());
        }
    }

    [Fact]
    public async Task A_body_shorter_than_its_Content_Length_is_an_error()
    {
        using var http = new HttpClient(new ScriptedRuntimeApi([new byte[100]], withLength: true, claimedLength: 150)) { BaseAddress = new Uri("http://127.0.0.1:9/2018-06-01/") };

        await Assert.ThrowsAsync<IOException>(() => new RuntimeApiClient(http).NextAsync(default));
    }

    /// <summary>Answers each <c>next</c> with the following body, handed out in small, uneven reads.</summary>
    private sealed class ScriptedRuntimeApi(IReadOnlyList<byte[]> bodies, bool withLength, long? claimedLength = null) : HttpMessageHandler
    {
        private int _next;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = bodies[_next++];
            var content = new StreamContent(new TrickleStream(body));
            if (withLength) content.Headers.ContentLength = claimedLength ?? body.Length;
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
