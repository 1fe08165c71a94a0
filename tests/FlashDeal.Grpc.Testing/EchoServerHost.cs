using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Grpc.Testing;

/// <summary>Starts the Echo service on loopback: an h2c gRPC port and an HTTP/1.1 REST port (0 = any free port).</summary>
public sealed class EchoServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoServerHost(WebApplication app, Uri grpcAddress, Uri restAddress)
    {
        _app = app;
        GrpcAddress = grpcAddress;
        RestAddress = restAddress;
    }

    /// <summary>Every service the host maps, sorted: what reflection must list.</summary>
    public static IReadOnlyList<string> MappedServices { get; } =
    [
        "flashdeal.testing.v1.BookstoreService",
        "flashdeal.testing.v1.EchoService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];

    public Uri GrpcAddress { get; }

    public Uri RestAddress { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<EchoServerHost> StartAsync(Action<GrpcServerOptions>? configure = null, int grpcPort = 0,
        int restPort = 0, LogLevel logLevel = LogLevel.Warning, Action<WebApplicationBuilder>? configureBuilder = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(logLevel);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Listen(IPAddress.Loopback, grpcPort, o => o.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, restPort, o => o.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpc(options =>
        {
            options.EnableDetailedErrors = true;
            configure?.Invoke(options);
        }).AddJsonTranscoding();
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        configureBuilder?.Invoke(builder);

        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        app.MapGrpcService<BookstoreService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapHealthEndpoints();
        await app.StartAsync();

        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToArray();
        return new EchoServerHost(app, addresses[0], addresses[1]);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
