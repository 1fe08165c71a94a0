using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// Runs a real FlashDeal service in the test process: its own Program wiring, real Kestrel listeners on loopback with
/// free ports (gRPC h2c and REST), configuration overridden per test class. Gives a gRPC channel and an HTTP client.
/// </summary>
/// <example>
/// await using var host = await ServiceTestHost.StartAsync(AuthApp.Build, new() { ["ConnectionStrings:Postgres"] = … });
/// var response = await new AuthService.AuthServiceClient(host.Grpc).LogInAsync(request);
/// </example>
public sealed class ServiceTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServiceTestHost(WebApplication app, Uri grpcAddress, Uri restAddress)
    {
        _app = app;
        GrpcAddress = grpcAddress;
        RestAddress = restAddress;
        Grpc = Channel(grpcAddress);
        Http = new HttpClient { BaseAddress = restAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri GrpcAddress { get; }

    public Uri RestAddress { get; }

    public GrpcChannel Grpc { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="build">The service's app factory, e.g. <c>AuthApp.Build</c>: (args, configure) → WebApplication
    /// with every endpoint mapped.</param>
    /// <param name="settings">Configuration overrides (connection strings, options).</param>
    public static async Task<ServiceTestHost> StartAsync(
        Func<string[], Action<WebApplicationBuilder>?, WebApplication> build,
        IReadOnlyDictionary<string, string?> settings,
        Action<WebApplicationBuilder>? configure = null)
    {
        var app = build(["--environment", "Development"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Service:BindAddress"] = "127.0.0.1",
                ["Service:GrpcPort"] = "0",
                ["Service:RestPort"] = "0",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            builder.Configuration.AddInMemoryCollection(settings);
            configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // Hosted services (stream consumers, sweepers) start before the server: a start that fails later must not
            // leave them running against the next test's stores.
            try
            {
                await app.StopAsync();
            }
            catch (Exception)
            {
                // A start refused before any hosted service ran (options validation) has nothing to stop, and the host
                // then fails to stop in its own way: the start's error is the one to report.
            }
            await app.DisposeAsync();
            throw;
        }
        // Listeners come up in the order Service defaults declares them: gRPC first, then REST.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.Select(a => new Uri(a)).ToArray();
        return new ServiceTestHost(app, addresses[0], addresses[1]);
    }

    /// <summary>
    /// A Grpc.Net.Client channel to an h2c address, allowed several HTTP/2 connections (one connection's stream limit
    /// must not cap a test that runs many calls at once).
    /// </summary>
    public static GrpcChannel Channel(Uri address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        MaxReceiveMessageSize = null,
        MaxSendMessageSize = null,
    });

    public async ValueTask DisposeAsync()
    {
        Grpc.Dispose();
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
