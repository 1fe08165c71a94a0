using System.Net;
using FlashDeal.Grpc;
using FlashDeal.Security;
using FlashDeal.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Wiring every FlashDeal service shares, in the spirit of eShop's ServiceDefaults:
/// <c>builder.AddServiceDefaults("catalog")</c> before Build, <c>app.MapDefaultEndpoints()</c> after.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string serviceName)
    {
        var options = builder.Configuration.GetSection(ServiceOptions.Section).Get<ServiceOptions>() ?? new ServiceOptions();
        options.Name ??= serviceName;
        builder.Services.AddSingleton(options);

        builder.ConfigureLogging();
        builder.ConfigureListeners(options);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);

        builder.Services.AddGrpc(grpc =>
        {
            grpc.EnableDetailedErrors = options.DetailedErrors || builder.Environment.IsDevelopment();
            grpc.AddInterceptor<DependencyFailureInterceptor>();
        }).AddJsonTranscoding();
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddGrpcReflection();
        builder.Services.AddFlashDealAuthentication(builder.Configuration);
        builder.Services.AddClientAddressResolver(builder.Configuration);
        builder.Services.AddFlashDealRateLimiting(builder.Configuration, options.Name);
        builder.Services.AddFlashDealTelemetry(builder.Configuration, options.Name);
        return builder;
    }

    /// <summary>Health (gRPC and /healthz, /readyz) and reflection, on every service.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapHealthEndpoints();
        return app;
    }

    private static void ConfigureLogging(this WebApplicationBuilder builder)
    {
        // The console provider the builder already has gets our format; providers a caller added (tests) stay.
        builder.Logging.AddFilter("Npgsql.Command", LogLevel.Warning);
        if (string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.UseUtcTimestamp = true;
            });
        }
    }

    private static void ConfigureListeners(this WebApplicationBuilder builder, ServiceOptions options)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            var address = IPAddress.Parse(options.BindAddress);
            // Without TLS, Http1AndHttp2 would mean HTTP/1.1 only: the gRPC port is HTTP/2 alone.
            kestrel.Listen(address, options.GrpcPort, o => o.Protocols = HttpProtocols.Http2);
            kestrel.Listen(address, options.RestPort, o => o.Protocols = HttpProtocols.Http1);
        });
    }
}
