using Grpc.Health.V1;
using Microsoft.Extensions.Hosting;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace FlashDeal.Grpc;

/// <summary>grpc.health.v1.Health over <see cref="GrpcHealthStatus"/>.</summary>
[GrpcService("grpc.health.v1.Health")]
internal sealed class GrpcHealthService(GrpcHealthStatus health, IHostApplicationLifetime lifetime)
{
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        var status = health.Get(request.Service)
            ?? throw new RpcException(StatusCode.NotFound, $"Unknown service '{request.Service}'.");
        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream,
        ServerCallContext context)
    {
        ServingStatus? sent = null;
        try
        {
            await foreach (var status in health.WatchAsync(request.Service, context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(new HealthCheckResponse { Status = status }).ConfigureAwait(false);
                sent = status;
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested
            && !context.GetHttpContext().RequestAborted.IsCancellationRequested)
        {
            // Shutdown ends long streams, possibly before the NOT_SERVING change reached this one: say it last.
            if (sent != ServingStatus.NotServing)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await responseStream.WriteAsync(new HealthCheckResponse { Status = ServingStatus.NotServing }, timeout.Token)
                    .ConfigureAwait(false);
            }
        }
    }
}
