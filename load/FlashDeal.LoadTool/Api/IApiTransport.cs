using Google.Protobuf;

namespace FlashDeal.LoadTool.Api;

/// <summary>
/// Where each service is reached. Behind the edge all three share one address; without it the tool may call several
/// orders replicas directly (<see cref="OrdersReplicas"/>), which the gRPC transport balances itself.
/// </summary>
public sealed record ServiceEndpoints(Uri Auth, Uri Catalog, IReadOnlyList<Uri> OrdersReplicas)
{
    public ServiceEndpoints(Uri auth, Uri catalog, Uri orders)
        : this(auth, catalog, [orders])
    {
    }

    public IReadOnlyList<Uri> OrdersReplicas { get; init; } = OrdersReplicas is { Count: > 0 }
        ? OrdersReplicas
        : throw new ArgumentException("At least one orders address is needed.", nameof(OrdersReplicas));

    /// <summary>The first orders replica: the one address of transports that do not balance (REST).</summary>
    public Uri Orders => OrdersReplicas[0];

    public static ServiceEndpoints All(Uri address) => new(address, address, address);

    public Uri For(ApiService service) => service switch
    {
        ApiService.Auth => Auth,
        ApiService.Catalog => Catalog,
        _ => Orders,
    };

    /// <summary>Every address of the service: the orders replicas, or the one address of auth or catalog.</summary>
    public IReadOnlyList<Uri> AllFor(ApiService service) => service is ApiService.Orders or ApiService.Coupons ? OrdersReplicas : [For(service)];

    /// <summary>One address when all three share it, else "auth=…, catalog=…, orders=…[,…]" (for report metadata).</summary>
    public override string ToString() => Auth == Catalog && OrdersReplicas.All(o => o == Auth)
        ? Text(Auth)
        : $"auth={Text(Auth)}, catalog={Text(Catalog)}, orders={string.Join(",", OrdersReplicas.Select(Text))}";

    private static string Text(Uri address) => address.ToString().TrimEnd('/');
}

/// <summary>
/// Sends one FlashDeal call over gRPC or REST. Success returns the response message; any failure throws
/// <see cref="ApiException"/> with the outcome already classified, so scenarios never depend on the transport.
/// </summary>
public interface IApiTransport : IDisposable
{
    /// <summary>"grpc" or "rest".</summary>
    string Name { get; }

    ServiceEndpoints Endpoints { get; }

    Task<TResponse> SendAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation, TRequest request,
        string? accessToken, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();

    /// <summary>
    /// The same call, with a refusal returned as its outcome instead of thrown: what the measured iterations use, since a
    /// spike is mostly refusals and an exception per refusal would make the load tool cost more than the call. Only
    /// cancellation still throws. Transports without a cheaper path classify through <see cref="SendAsync"/>.
    /// </summary>
    async Task<ApiResult<TResponse>> TrySendAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation,
        TRequest request, string? accessToken, TimeSpan timeout, CancellationToken cancellationToken)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        try
        {
            return new ApiResult<TResponse>(await SendAsync(operation, request, accessToken, timeout, cancellationToken)
                .ConfigureAwait(false), Outcomes.Ok);
        }
        catch (ApiException e)
        {
            return new ApiResult<TResponse>(null, e.Outcome);
        }
    }
}
