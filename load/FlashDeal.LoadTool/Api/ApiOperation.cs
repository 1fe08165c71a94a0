using FlashDeal.Grpc;
using Google.Protobuf;

namespace FlashDeal.LoadTool.Api;

/// <summary>Which FlashDeal service answers an operation (each may live behind its own address).</summary>
public enum ApiService
{
    Auth,
    Catalog,
    Orders,
}

/// <summary>
/// One RPC as both transports call it: the operation name the reports use (docs/load.md), the gRPC method, and the REST
/// route from the proto's google.api.http rule (verb, path with query, whether the request is the JSON body).
/// </summary>
public sealed class ApiOperation<TRequest, TResponse>(
    string name,
    ApiService service,
    string grpcService,
    string grpcMethod,
    HttpMethod verb,
    Func<TRequest, string> restPath,
    bool restBody)
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    public string Name { get; } = name;

    public ApiService Service { get; } = service;

    public Method<TRequest, TResponse> Grpc { get; } = new(MethodType.Unary, grpcService, grpcMethod);

    public HttpMethod Verb { get; } = verb;

    public bool RestBody { get; } = restBody;

    public string RestPath(TRequest request) => restPath(request);
}
