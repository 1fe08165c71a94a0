using FlashDeal.Grpc;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// A database or cache that cannot be reached is the server's temporary problem, not a bug: the call ends with
/// UNAVAILABLE (HTTP 503), which clients retry, instead of UNKNOWN (HTTP 500). Runs outermost, so it sees what every
/// other interceptor and handler let through.
/// </summary>
public sealed class DependencyFailureInterceptor(ILogger<DependencyFailureInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request,
        ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e, context);
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

    private RpcException Unavailable(Exception e, ServerCallContext context)
    {
        logger.LogWarning("{Method} failed: a dependency is unavailable ({Error})", context.Method, e.GetType().Name);
        return new RpcException(StatusCode.Unavailable, "A backing service is temporarily unavailable; retry shortly.");
    }
}
