using System.Collections.Concurrent;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Contracts.Orders.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.LoadTool.Api;

/// <summary>The generated clients of the three services on one channel (an operation picks its own).</summary>
public sealed class GrpcClients(ChannelBase channel)
{
    public AuthService.AuthServiceClient Auth { get; } = new(channel);

    public CatalogService.CatalogServiceClient Catalog { get; } = new(channel);

    public OrderService.OrderServiceClient Orders { get; } = new(channel);

    public FlashDeal.Contracts.Coupons.V1.CouponService.CouponServiceClient Coupons { get; } = new(channel);
}

/// <summary>
/// gRPC over h2c with Grpc.Net.Client and the generated clients: per target a small pool of channels (each multiplexes
/// many calls over its HTTP/2 connections, opening more when one is full), taken round robin. Several orders replicas
/// are one target that the client balances itself (a static resolver and round_robin), and so is a dns:///host:port
/// target (the DNS resolver, re-resolving every 15 s, and round_robin). Client retries are off: the
/// scenarios decide what to resend, and every attempt is measured.
/// </summary>
public sealed class GrpcTransport : IApiTransport
{
    /// <summary>Bound of the per-token header cache (a run has one token per user, renewed ones add more).</summary>
    private const int MaxCachedTokens = 100_000;

    private readonly Dictionary<ApiService, GrpcClients[]> _pools = [];
    private readonly List<IDisposable> _owned = [];
    private readonly ConcurrentDictionary<string, Metadata> _authorization = new(StringComparer.Ordinal);
    private long _next = -1;

    public GrpcTransport(ServiceEndpoints endpoints, int connections = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        Endpoints = endpoints;
        var byTarget = new Dictionary<string, GrpcClients[]>(StringComparer.Ordinal);
        foreach (var service in Enum.GetValues<ApiService>())
        {
            var addresses = endpoints.AllFor(service);
            var target = string.Join(",", addresses);
            if (!byTarget.TryGetValue(target, out var pool))
            {
                pool = [.. Enumerable.Range(0, connections).Select(_ => new GrpcClients(Channel(addresses)))];
                byTarget[target] = pool;
            }
            _pools[service] = pool;
        }
    }

    public string Name => "grpc";

    public ServiceEndpoints Endpoints { get; }

    public async Task<TResponse> SendAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation, TRequest request,
        string? accessToken, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        try
        {
            return await Call(operation, request, accessToken, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(Outcomes.FromGrpc(e), e.Status.Detail, e);
        }
    }

    public async Task<ApiResult<TResponse>> TrySendAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation,
        TRequest request, string? accessToken, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = Call(operation, request, accessToken, timeout, cancellationToken);
        // Wait for the answer without rethrowing the RpcException of a refusal through every await, and read the call's
        // status and trailers rather than Task.Exception: that builds an AggregateException per refusal, whose message
        // lookup takes a process-wide lock (a profile of a sold-out flood had 12 % of the load tool's CPU there).
        var response = call.ResponseAsync;
        await ((Task)response).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (response.IsCompletedSuccessfully)
        {
            return new ApiResult<TResponse>(response.Result, Outcomes.Ok);
        }
        if (response.IsFaulted && !cancellationToken.IsCancellationRequested)
        {
            return new ApiResult<TResponse>(null, Outcomes.FromGrpc(call.GetStatus().StatusCode, TrailersOf(call)));
        }
        return new ApiResult<TResponse>(await response.ConfigureAwait(false), Outcomes.Ok); // cancelled: throws as before
    }

    /// <summary>A finished call's trailers; none when it failed before the server answered (no connection, client deadline).</summary>
    private static Metadata TrailersOf<TResponse>(AsyncUnaryCall<TResponse> call)
    {
        try
        {
            return call.GetTrailers();
        }
        catch (InvalidOperationException)
        {
            return Metadata.Empty;
        }
    }

    /// <summary>Starts the call on the next channel of the service's pool (round robin).</summary>
    private AsyncUnaryCall<TResponse> Call<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation, TRequest request,
        string? accessToken, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var pool = _pools[operation.Service];
        var clients = pool[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)pool.Length)];
        return operation.CallGrpc(clients, request,
            new CallOptions(Authorization(accessToken), DateTime.UtcNow + timeout, cancellationToken));
    }

    /// <summary>One read-only header set per access token, built on its first call, not on every call.</summary>
    private Metadata? Authorization(string? accessToken)
    {
        if (accessToken is null)
        {
            return null;
        }
        if (_authorization.TryGetValue(accessToken, out var headers))
        {
            return headers;
        }
        if (_authorization.Count >= MaxCachedTokens)
        {
            _authorization.Clear(); // renewed tokens replace old ones; the cache never grows without bound
        }
        return _authorization.GetOrAdd(accessToken, token => new Metadata { { "authorization", "Bearer " + token } });
    }

    /// <summary>A plain channel to one address; several addresses are balanced call by call (round_robin).</summary>
    private GrpcChannel Channel(IReadOnlyList<Uri> addresses)
    {
        var options = new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            // A run stopped by Ctrl-C or its bound cancels calls: that is OperationCanceledException, as over REST.
            ThrowOperationCanceledOnCancellation = true,
        };
        if (addresses.Count == 1 && addresses[0].Scheme == "dns")
        {
            // Every address the name resolves to, re-resolved every 15 s (replicas come and go), balanced round robin.
            var dns = new ServiceCollection();
            dns.AddSingleton<ResolverFactory>(new DnsResolverFactory(TimeSpan.FromSeconds(15)));
            options.ServiceProvider = Own(dns.BuildServiceProvider());
            options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
            options.Credentials = ChannelCredentials.Insecure;
            return Own(GrpcChannel.ForAddress(addresses[0], options));
        }
        if (addresses.Count == 1)
        {
            return Own(GrpcChannel.ForAddress(addresses[0], options));
        }
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(
            _ => addresses.Select(a => new BalancerAddress(a.Host, a.Port))));
        options.ServiceProvider = Own(services.BuildServiceProvider());
        options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
        options.Credentials = addresses[0].Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        return Own(GrpcChannel.ForAddress("static:///orders", options));
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }
    }
}
