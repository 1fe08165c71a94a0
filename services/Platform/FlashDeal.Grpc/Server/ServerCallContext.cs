using Microsoft.AspNetCore.Http;

namespace FlashDeal.Grpc;

/// <summary>What a handler knows about its call, whether it arrived as gRPC or as transcoded JSON.</summary>
public abstract class ServerCallContext
{
    private Dictionary<object, object?>? _userState;

    /// <summary>Full method name, "/package.Service/Method".</summary>
    public abstract string Method { get; }

    public abstract string Host { get; }

    /// <summary>Caller address, "ipv4:1.2.3.4:5678" or "ipv6:[::1]:5678".</summary>
    public abstract string Peer { get; }

    /// <summary>When the call must end; DateTime.MaxValue when the client set no deadline.</summary>
    public abstract DateTime Deadline { get; }

    public abstract Metadata RequestHeaders { get; }

    /// <summary>Cancelled when the client goes away, the deadline passes, or the server shuts down.</summary>
    public abstract CancellationToken CancellationToken { get; }

    public abstract Metadata ResponseTrailers { get; }

    /// <summary>The status the call ends with when the handler returns normally.</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    /// <summary>True when the call came in over REST/JSON rather than gRPC.</summary>
    public abstract bool IsTranscoded { get; }

    public abstract HttpContext GetHttpContext();

    /// <summary>Sends response headers now (at most once, before the first message).</summary>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);

    /// <summary>Per-call state interceptors use to hand data to handlers.</summary>
    public IDictionary<object, object?> UserState => _userState ??= [];
}

/// <summary>Reads a stream of messages; MoveNext returns false when the peer half-closes.</summary>
public interface IAsyncStreamReader<out T>
{
    T Current { get; }

    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>Writes a stream of response messages.</summary>
public interface IServerStreamWriter<in T>
{
    Task WriteAsync(T message);

    Task WriteAsync(T message, CancellationToken cancellationToken) => WriteAsync(message);
}

public static class AsyncStreamReaderExtensions
{
    /// <summary>Enumerates every remaining message.</summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }
}

public delegate Task<TResponse> UnaryServerMethod<in TRequest, TResponse>(TRequest request, ServerCallContext context);

public delegate Task ServerStreamingServerMethod<in TRequest, TResponse>(TRequest request,
    IServerStreamWriter<TResponse> responseStream, ServerCallContext context);

public delegate Task<TResponse> ClientStreamingServerMethod<in TRequest, TResponse>(
    IAsyncStreamReader<TRequest> requestStream, ServerCallContext context);

public delegate Task DuplexStreamingServerMethod<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
    IServerStreamWriter<TResponse> responseStream, ServerCallContext context);

public enum MethodType
{
    Unary,
    ClientStreaming,
    ServerStreaming,
    DuplexStreaming,
}
