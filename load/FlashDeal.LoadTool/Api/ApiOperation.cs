using Google.Protobuf;
using Grpc.Core;

namespace FlashDeal.LoadTool.Api;

/// <summary>Which FlashDeal service answers an operation (each may live behind its own address).</summary>
public enum ApiService
{
    Auth,
    Catalog,
    Orders,

    /// <summary>CouponService (hosted with orders: the coupons live in the orders database, orders.coupons).</summary>
    Coupons,
}

/// <summary>
/// One RPC as both transports call it: the operation name the reports use (docs/load.md), the call on the generated
/// gRPC client, and the REST route from the proto's google.api.http rule (verb, path with query, whether the request is
/// the JSON body).
/// </summary>
public sealed class ApiOperation<TRequest, TResponse>(
    string name,
    ApiService service,
    Func<GrpcClients, TRequest, CallOptions, AsyncUnaryCall<TResponse>> grpc,
    HttpMethod verb,
    Func<TRequest, string> restPath,
    bool restBody,
    Func<TRequest, IMessage>? restBodyOf = null)
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    public string Name { get; } = name;

    public ApiService Service { get; } = service;

    public HttpMethod Verb { get; } = verb;

    public bool RestBody { get; } = restBody;

    public AsyncUnaryCall<TResponse> CallGrpc(GrpcClients clients, TRequest request, CallOptions options) =>
        grpc(clients, request, options);

    public string RestPath(TRequest request) => restPath(request);

    /// <summary>What the JSON body carries: the whole request (body "*"), or one field of it (body "campaign").</summary>
    public IMessage RestBodyOf(TRequest request) => restBodyOf is null ? request : restBodyOf(request);
}
