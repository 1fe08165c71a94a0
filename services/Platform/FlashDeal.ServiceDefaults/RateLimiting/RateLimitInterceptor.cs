using System.Diagnostics.Metrics;
using FlashDeal.Grpc;
using FlashDeal.Security;
using Microsoft.Extensions.Logging;

namespace FlashDeal.ServiceDefaults.RateLimiting;

/// <summary>
/// Limits calls per user (the subject of the validated token) or, for anonymous calls and address policies, per client
/// address. Runs right after <see cref="AuthInterceptor"/>, which has validated the token by then. A call with a policy
/// takes one permit when it starts (a stream counts once); a refusal ends it with RESOURCE_EXHAUSTED before the handler
/// runs. Allowed calls go on without an extra async frame.
/// </summary>
public sealed class RateLimitInterceptor : Interceptor
{
    private readonly MethodRateLimits _methods;
    private readonly RateLimiter _limiter;
    private readonly ClientAddressResolver _addresses;
    private readonly string _domain;
    private readonly ILogger<RateLimitInterceptor> _logger;
    private readonly Counter<long> _refused;

    public RateLimitInterceptor(MethodRateLimits methods, RateLimiter limiter, ClientAddressResolver addresses,
        RateLimitDomain domain, IMeterFactory meters, ILogger<RateLimitInterceptor> logger)
    {
        _methods = methods;
        _limiter = limiter;
        _addresses = addresses;
        _domain = domain.Value;
        _logger = logger;
        var meter = meters.Create(GrpcTelemetry.Name);
        _refused = meter.CreateCounter<long>("flashdeal.rate_limit.refused", unit: "{call}",
            description: "Calls refused by a per-replica rate limit, by policy and partition (user, address, shared).");
        meter.CreateObservableGauge("flashdeal.rate_limit.tracked_keys", () => limiter.TrackedKeys, unit: "{bucket}",
            description: "Token buckets this replica holds.");
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation) =>
        Check(context) is { } refusal ? Task.FromException<TResponse>(refusal) : continuation(request, context);

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation) =>
        Check(context) is { } refusal ? Task.FromException(refusal) : continuation(request, responseStream, context);

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        Check(context) is { } refusal ? Task.FromException<TResponse>(refusal) : continuation(requestStream, context);

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        Check(context) is { } refusal ? Task.FromException(refusal) : continuation(requestStream, responseStream, context);

    private RpcException? Check(ServerCallContext context)
    {
        if (_methods.Get(context.Method) is not { } policy)
        {
            return null;
        }
        var user = policy.Partition == RateLimitPartition.User ? context.GetUser()?.UserId : null;
        var address = user is null ? ClientAddressResolver.Key(_addresses.Resolve(context.GetHttpContext())) : UInt128.Zero;
        var decision = _limiter.TryAcquire(policy, new RateLimitKey(policy.Index, user, address));
        if (decision.Allowed)
        {
            return null;
        }
        var partition = decision.Shared ? "shared" : user is null ? "address" : "user";
        if (_refused.Enabled)
        {
            _refused.Add(1,
                new KeyValuePair<string, object?>("flashdeal.rate_limit.policy", policy.Name),
                new KeyValuePair<string, object?>("flashdeal.rate_limit.partition", partition),
                new KeyValuePair<string, object?>("rpc.method", context.Method));
        }
        // Neither the token nor the caller's identity: the policy and the method say enough.
        _logger.LogDebug("Rate limited {Method} ({Policy}, per {Partition})", context.Method, policy.Name, partition);
        return RateLimitErrors.RateLimited(_domain, policy, partition, decision.RetryAfter);
    }
}

/// <summary>The ErrorInfo domain of this service's refusals, e.g. "orders.flashdeal.dev".</summary>
public sealed record RateLimitDomain(string Value);
