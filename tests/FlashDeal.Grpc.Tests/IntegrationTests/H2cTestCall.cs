using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Threading.Channels;
using Google.Protobuf;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>
/// A bare gRPC call over HttpClient h2c, for tests of server features. Deliberately independent of the runtime's own
/// client: it frames messages by hand and reads status from headers or trailers.
/// </summary>
internal sealed class H2cTestCall<TResponse> : IAsyncDisposable where TResponse : IMessage<TResponse>
{
    private readonly Channel<IMessage> _requests = Channel.CreateUnbounded<IMessage>();
    private readonly MessageParser<TResponse> _parser;
    private readonly CancellationTokenSource _cts;
    private readonly Task<HttpResponseMessage> _send;
    private HttpResponseMessage? _response;
    private Stream? _body;

    public H2cTestCall(HttpClient client, string path, MessageParser<TResponse> parser, TimeSpan? timeout = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        _parser = parser;
        _cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new FrameContent(_requests.Reader),
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        _send = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _cts.Token);
    }

    public static HttpClient CreateClient(Uri address) =>
        new(new SocketsHttpHandler { EnableMultipleHttp2Connections = true }) { BaseAddress = address };

    public static async Task<(StatusCode Code, string Message, TResponse? Response)> UnaryAsync(HttpClient client,
        string path, IMessage request, MessageParser<TResponse> parser)
    {
        await using var call = new H2cTestCall<TResponse>(client, path, parser);
        await call.SendAsync(request);
        call.CompleteRequest();
        var response = await call.ReadAsync();
        var (code, message) = await call.ReadStatusAsync();
        return (code, message, response);
    }

    public ValueTask SendAsync(IMessage message) => _requests.Writer.WriteAsync(message);

    public void CompleteRequest() => _requests.Writer.TryComplete();

    /// <summary>The next response message, or default at the end of the stream.</summary>
    public async Task<TResponse?> ReadAsync()
    {
        if (_body is null)
        {
            _response = await _send;
            _body = await _response.Content.ReadAsStreamAsync(_cts.Token);
        }
        var header = new byte[GrpcProtocol.HeaderSize];
        var read = await _body.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, _cts.Token);
        if (read == 0)
        {
            return default;
        }
        if (read < header.Length || header[0] != 0)
        {
            throw new InvalidDataException("Truncated or compressed frame.");
        }
        var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
        await _body.ReadExactlyAsync(payload, _cts.Token);
        return _parser.ParseFrom(payload);
    }

    /// <summary>Reads to the end and returns grpc-status and grpc-message (from trailers, or headers when trailers-only).</summary>
    public async Task<(StatusCode Code, string Message)> ReadStatusAsync()
    {
        while (await ReadAsync() is not null)
        {
        }
        var response = _response!;
        var source = response.TrailingHeaders.Contains(GrpcProtocol.StatusHeader)
            ? response.TrailingHeaders
            : (System.Net.Http.Headers.HttpHeaders)response.Headers;
        var code = source.TryGetValues(GrpcProtocol.StatusHeader, out var codes)
            ? (StatusCode)int.Parse(codes.First())
            : throw new InvalidDataException("The response carries no grpc-status.");
        var message = source.TryGetValues(GrpcProtocol.MessageHeader, out var messages)
            ? Status.DecodeMessage(messages.First())
            : "";
        return (code, message);
    }

    public async ValueTask DisposeAsync()
    {
        CompleteRequest();
        await _cts.CancelAsync();
        try
        {
            (await _send).Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
        {
        }
        _cts.Dispose();
    }

    /// <summary>Streams request frames as they are queued; the request ends when the queue completes.</summary>
    private sealed class FrameContent : HttpContent
    {
        private readonly ChannelReader<IMessage> _messages;

        public FrameContent(ChannelReader<IMessage> messages)
        {
            _messages = messages;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(GrpcProtocol.ContentType);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await foreach (var message in _messages.ReadAllAsync())
            {
                var buffer = new ArrayBufferWriter<byte>();
                GrpcProtocol.WriteFrame(buffer, message, int.MaxValue, compression: null);
                await stream.WriteAsync(buffer.WrittenMemory);
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
