using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;
using RetryInfo = Google.Rpc.RetryInfo;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// The one interceptor every call of every service passes (one async frame per call, not one per concern):
/// <list type="bullet">
/// <item><b>Errors.</b> A database or cache that cannot be reached is the server's temporary problem, not a bug: the call
/// ends UNAVAILABLE (HTTP 503), which clients retry, instead of UNKNOWN (HTTP 500). So does a call cut off because the
/// server is stopping (not by its client): retry on another replica. A RESOURCE_EXHAUSTED with RetryInfo also sets
/// Retry-After for a REST caller (JSON transcoding writes only the body).</item>
/// <item><b>Response compression by size.</b> The server offers gzip (GrpcServiceOptions.ResponseCompressionAlgorithm)
/// to clients that accept it, and messages under <c>Service:ResponseCompressionMinSize</c> go uncompressed, so the hot
/// path's small replies (PlaceOrder, GetDeal) never pay for deflate while long lists travel compressed. Requests are
/// decompressed whatever their size: the client chooses per call.</item>
/// </list>
/// </summary>
public sealed class ServiceInterceptor(ServiceOptions options, ILogger<ServiceInterceptor> logger,
    IHostApplicationLifetime lifetime) : Interceptor
{
    private static readonly WriteOptions Uncompressed = new(WriteFlags.NoCompress);
    private readonly int _compressFrom = options.ResponseCompressionMinSize;

    /// <remarks>
    /// Not an async method where it need not be: a handler that finished synchronously (the sold-out flood, a cache hit)
    /// passes through without an await, and a refusal it returned as a faulted task passes on without being rethrown
    /// here. Each rethrow of an exception through an async frame costs microseconds of CPU (docs/benchmarks.md).
    /// </remarks>
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request,
        ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Task<TResponse> call;
        try
        {
            call = continuation(request, context);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            throw status;
        }
        if (call.IsCompletedSuccessfully)
        {
            Answered(call.Result, context);
            return call;
        }
        if (call.IsFaulted && call.Exception!.InnerException is { } error)
        {
            if (Translate(error, context) is { } status)
            {
                Ended(status, context);
                return Task.FromException<TResponse>(status);
            }
            Ended(error, context);
            return call;
        }
        return AwaitAsync(call, context);
    }

    private async Task<TResponse> AwaitAsync<TResponse>(Task<TResponse> call, ServerCallContext context)
    {
        TResponse response;
        try
        {
            response = await call.ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            Ended(status, context);
            throw status;
        }
        catch (Exception e)
        {
            Ended(e, context);
            throw;
        }
        Answered(response, context);
        return response;
    }

    /// <summary>
    /// The status a REST call ended with, for <see cref="RpcMetrics"/>: JSON transcoding keeps only the HTTP status,
    /// which several codes share (400 is INVALID_ARGUMENT, FAILED_PRECONDITION and OUT_OF_RANGE).
    /// </summary>
    private static void Ended(Exception error, ServerCallContext context) =>
        RpcMetrics.SetStatus(context.GetHttpContext(), error is RpcException rpc ? rpc.StatusCode : StatusCode.Unknown);

    /// <summary>Small replies go uncompressed. JSON transcoding has no message compression (REST's is HTTP's).</summary>
    private void Answered<TResponse>(TResponse response, ServerCallContext context)
    {
        if (_compressFrom > 0 && response is IMessage message && message.CalculateSize() < _compressFrom
            && ErrorResponses.IsGrpc(context.GetHttpContext().Request))
        {
            context.WriteOptions = Uncompressed;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (_compressFrom > 0 && ErrorResponses.IsGrpc(context.GetHttpContext().Request))
        {
            responseStream = new SizeAwareWriter<TResponse>(responseStream, _compressFrom);
        }
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, context) is { } status)
        {
            throw status;
        }
    }

    /// <summary>Connection-level failures of PostgreSQL or Redis; query errors (bad SQL, constraint) stay bugs.</summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        NpgsqlException { IsTransient: true } => true,
        PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "53300" } => true,
        RedisConnectionException or RedisTimeoutException => true,
        _ => false,
    };

    private RpcException? Translate(Exception e, ServerCallContext context)
    {
        if (e is RpcException { StatusCode: StatusCode.ResourceExhausted } exhausted)
        {
            SetRetryAfter(exhausted, context);
            return null;
        }
        if (e is OperationCanceledException && lifetime.ApplicationStopping.IsCancellationRequested
            && !context.CancellationToken.IsCancellationRequested)
        {
            return new RpcException(new Status(StatusCode.Unavailable, "The server is shutting down; retry on another replica."));
        }
        if (!IsUnavailable(e))
        {
            return null;
        }
        logger.LogWarning("{Method} failed: a dependency is unavailable ({Error})", context.Method, e.GetType().Name);
        return new RpcException(new Status(StatusCode.Unavailable, "A backing service is temporarily unavailable; retry shortly."));
    }

    private static void SetRetryAfter(RpcException exception, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        if (!ErrorResponses.IsGrpc(http.Request) && !http.Response.HasStarted
            && exception.GetDetail<RetryInfo>()?.RetryDelay is { } delay)
        {
            http.Response.Headers.RetryAfter = ErrorResponses.RetryAfterSeconds(delay.ToTimeSpan()).ToString();
        }
    }

    private sealed class SizeAwareWriter<T>(IServerStreamWriter<T> inner, int minSize) : IServerStreamWriter<T>
    {
        public WriteOptions? WriteOptions
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

        public Task WriteAsync(T message, CancellationToken cancellationToken)
        {
            inner.WriteOptions = message is IMessage m && m.CalculateSize() < minSize ? Uncompressed : null;
            return inner.WriteAsync(message, cancellationToken);
        }
    }
}
