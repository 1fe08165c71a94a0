using System.Net;

namespace FlashDeal.Grpc.Client;

/// <summary>
/// Request body of client-streaming and duplex calls: hands the HTTP/2 request stream to the call's writer and keeps the
/// body open until the writer completes (END_STREAM) or the call ends.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent() => Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);

    public Task<Stream> Stream => _stream.Task;

    /// <summary>True once HttpClient started sending the body: it can no longer be moved to another address.</summary>
    public bool HasStarted => _stream.Task.IsCompleted;

    public bool IsCompleted => _completed.Task.IsCompleted;

    public void Complete() => _completed.TrySetResult();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context,
        CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        return _completed.Task;
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
