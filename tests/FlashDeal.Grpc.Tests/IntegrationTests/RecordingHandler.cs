using System.Collections.Concurrent;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>Sits between the channel and SocketsHttpHandler to record what went over the wire.</summary>
internal sealed class RecordingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public ConcurrentQueue<long?> RequestContentLengths { get; } = new();

    public ConcurrentQueue<string?> ResponseEncodings { get; } = new();

    public ConcurrentQueue<string?> RequestAuthorities { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request,
        CancellationToken cancellationToken)
    {
        RequestContentLengths.Enqueue(request.Content?.Headers.ContentLength);
        RequestAuthorities.Enqueue(request.Headers.Host);
        var response = await base.SendAsync(request, cancellationToken);
        ResponseEncodings.Enqueue(response.Headers.TryGetValues(GrpcProtocol.EncodingHeader, out var values)
            ? string.Join(",", values)
            : null);
        return response;
    }
}
