using System.Runtime.CompilerServices;
using FlashDeal.Grpc.Client;

namespace FlashDeal.Grpc;

/// <summary>Writes request messages of a client-streaming or duplex call; CompleteAsync half-closes the request.</summary>
public interface IClientStreamWriter<in T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);

    Task CompleteAsync();
}

/// <summary>A unary call in progress. Await it (or ResponseAsync) for the response; failures throw RpcException.</summary>
public sealed class AsyncUnaryCall<TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncUnaryCall(Task<TResponse> responseAsync, IClientCall call)
    {
        ResponseAsync = responseAsync;
        _call = call;
    }

    public Task<TResponse> ResponseAsync { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    /// <summary>The final status; throws InvalidOperationException while the call runs.</summary>
    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    /// <summary>Cancels the call if it is still running.</summary>
    public void Dispose() => _call.Dispose();
}

/// <summary>A server-streaming call: read ResponseStream until MoveNext returns false; a failed status throws.</summary>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncServerStreamingCall(IAsyncStreamReader<TResponse> responseStream, IClientCall call)
    {
        ResponseStream = responseStream;
        _call = call;
    }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public void Dispose() => _call.Dispose();
}

/// <summary>A client-streaming call: write messages, CompleteAsync, then await ResponseAsync.</summary>
public sealed class AsyncClientStreamingCall<TRequest, TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncClientStreamingCall(IClientStreamWriter<TRequest> requestStream, Task<TResponse> responseAsync,
        IClientCall call)
    {
        RequestStream = requestStream;
        ResponseAsync = responseAsync;
        _call = call;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public Task<TResponse> ResponseAsync { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    public void Dispose() => _call.Dispose();
}

/// <summary>A bidirectional call: write and read independently; CompleteAsync half-closes the request side.</summary>
public sealed class AsyncDuplexStreamingCall<TRequest, TResponse> : IDisposable
{
    private readonly IClientCall _call;

    internal AsyncDuplexStreamingCall(IClientStreamWriter<TRequest> requestStream,
        IAsyncStreamReader<TResponse> responseStream, IClientCall call)
    {
        RequestStream = requestStream;
        ResponseStream = responseStream;
        _call = call;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public void Dispose() => _call.Dispose();
}
