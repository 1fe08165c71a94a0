using Google.Protobuf;

namespace FlashDeal.LoadTool.Api;

/// <summary>Where each service is reached. Behind the edge all three share one address.</summary>
public sealed record ServiceEndpoints(Uri Auth, Uri Catalog, Uri Orders)
{
    public static ServiceEndpoints All(Uri address) => new(address, address, address);

    public Uri For(ApiService service) => service switch
    {
        ApiService.Auth => Auth,
        ApiService.Catalog => Catalog,
        _ => Orders,
    };

    /// <summary>One address when all three share it, else "auth=…, catalog=…, orders=…" (for report metadata).</summary>
    public override string ToString() => Auth == Catalog && Catalog == Orders
        ? Auth.ToString().TrimEnd('/')
        : $"auth={Auth.ToString().TrimEnd('/')}, catalog={Catalog.ToString().TrimEnd('/')}, orders={Orders.ToString().TrimEnd('/')}";
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
}
