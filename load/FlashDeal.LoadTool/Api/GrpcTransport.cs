using FlashDeal.Grpc;
using Google.Protobuf;

namespace FlashDeal.LoadTool.Api;

/// <summary>
/// gRPC over h2c with FlashDeal's own client: per address a small pool of channels (each multiplexes many streams on its
/// HTTP/2 connections), taken round robin. Client retries are off: the scenarios decide what to resend, and every attempt
/// is measured.
/// </summary>
public sealed class GrpcTransport : IApiTransport
{
    private readonly Dictionary<ApiService, GrpcChannel[]> _pools = [];
    private readonly List<GrpcChannel> _channels = [];
    private long _next = -1;

    public GrpcTransport(ServiceEndpoints endpoints, int connections = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        Endpoints = endpoints;
        var byAddress = new Dictionary<Uri, GrpcChannel[]>();
        foreach (var service in Enum.GetValues<ApiService>())
        {
            var address = endpoints.For(service);
            if (!byAddress.TryGetValue(address, out var pool))
            {
                pool = [.. Enumerable.Range(0, connections).Select(_ => GrpcChannel.ForAddress(address.ToString().TrimEnd('/'),
                    new GrpcChannelOptions { RetryPolicy = null }))];
                byAddress[address] = pool;
                _channels.AddRange(pool);
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
        var pool = _pools[operation.Service];
        var channel = pool[(int)((ulong)Interlocked.Increment(ref _next) % (ulong)pool.Length)];
        var headers = accessToken is null ? null : new Metadata { { "authorization", "Bearer " + accessToken } };
        try
        {
            return await channel.UnaryAsync(operation.Grpc, request,
                new CallOptions(headers, DateTime.UtcNow + timeout, cancellationToken)).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(Outcomes.FromGrpc(e.Status), e.Status.Detail, e);
        }
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
