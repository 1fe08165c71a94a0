using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// How one FlashDeal service calls another (Grpc.Net.ClientFactory): the generated client injected where it is needed,
/// its address from <c>Clients:&lt;name&gt;:Address</c> — <c>http://host:port</c>, or <c>dns:///host:port</c> for a
/// Kubernetes headless Service, whose addresses are re-resolved every <c>Clients:&lt;name&gt;:ResolveInterval</c> (30 s)
/// and balanced per call with round_robin. Inside a gRPC or REST call the deadline and cancellation of the incoming
/// call carry over, and so does the caller's bearer token, so the callee authorizes the same user.
/// </summary>
public static class ServiceClients
{
    public const string Section = "Clients";

    public static IHttpClientBuilder AddServiceClient<TClient>(this IServiceCollection services, IConfiguration configuration,
        string name)
        where TClient : ClientBase
    {
        var section = configuration.GetSection(Section).GetSection(name);
        var address = section["Address"] is { Length: > 0 } value
            ? new Uri(value)
            : throw new InvalidOperationException($"{Section}:{name}:Address is not set (http://host:port or dns:///host:port).");
        var resolveInterval = section.GetValue("ResolveInterval", TimeSpan.FromSeconds(30));
        services.AddHttpContextAccessor();
        services.TryAddSingleton<ResolverFactory>(new DnsResolverFactory(resolveInterval));
        return services.AddGrpcClient<TClient>(name, client =>
            {
                client.Address = address;
                client.ChannelOptionsActions.Add(channel =>
                {
                    channel.Credentials = ChannelCredentials.Insecure;
                    // h2c inside the cluster: the forwarded bearer token still goes along.
                    channel.UnsafeUseInsecureChannelCallCredentials = true;
                    channel.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } };
                });
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            })
            .EnableCallContextPropagation(o => o.SuppressContextNotFoundErrors = true)
            .AddCallCredentials((context, metadata, services) =>
            {
                // The caller's own token, as it arrived (validated by this service's JwtBearer already).
                var authorization = services.GetRequiredService<IHttpContextAccessor>().HttpContext?.Request.Headers.Authorization;
                if (authorization is { Count: > 0 } value && value.ToString() is { Length: > 0 } header)
                {
                    metadata.Add("authorization", header);
                }
                return Task.CompletedTask;
            });
    }
}
