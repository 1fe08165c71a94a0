using System.Net;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.ServiceDefaults.RateLimiting;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ErrorDetailsReflection = Google.Rpc.ErrorDetailsReflection;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Wiring every FlashDeal service shares, in the spirit of eShop's ServiceDefaults:
/// <c>builder.AddServiceDefaults("catalog")</c> before Build, <c>app.MapDefaultEndpoints()</c> after, then
/// <c>app.MapGrpcService&lt;CatalogApi&gt;()</c>: gRPC on the h2c port and REST (JSON transcoding of the
/// google.api.http rules) on the HTTP/1.1 port from the same handler.
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
            grpc.MaxReceiveMessageSize = options.MaxReceiveMessageSize;
            // 0 turns response compression off (no gzip offered at all).
            grpc.ResponseCompressionAlgorithm = options.ResponseCompressionMinSize > 0 ? "gzip" : null;
            grpc.Interceptors.Add<ServiceInterceptor>();
        }).AddJsonTranscoding(transcoding =>
        {
            transcoding.JsonSettings.WriteInt64sAsStrings = true;
            transcoding.JsonSettings.IgnoreDefaultValues = false;
        });
        builder.Services.UseValidatingServiceBinding();
        builder.Services.AddOptions<Microsoft.AspNetCore.Grpc.JsonTranscoding.GrpcJsonTranscodingOptions>()
            .Configure<IEnumerable<ErrorDetailFiles>>((transcoding, files) =>
                transcoding.TypeRegistry = TypeRegistry.FromFiles(
                    [ErrorDetailsReflection.Descriptor, AuthErrorsReflection.Descriptor, .. files.Select(f => f.File)]));
        builder.Services.AddGrpcReflection();
        builder.Services.AddRestCompression(options);
        builder.Services.AddFlashDealHealth(options.HealthCheckPeriod);
        builder.Services.AddFlashDealAuthentication(builder.Configuration);
        builder.Services.AddFlashDealRateLimiting(builder.Configuration, options.Name);
        builder.Services.AddFlashDealTelemetry(builder.Configuration, options.Name);
        return builder;
    }

    /// <summary>Proto files whose messages may appear as error details in REST answers (a service's own reasons enum file).</summary>
    public static IServiceCollection AddErrorDetailTypes(this IServiceCollection services, FileDescriptor file)
    {
        services.AddSingleton(new ErrorDetailFiles(file));
        return services;
    }

    /// <summary>
    /// The middleware every service runs, in order (RPC metrics, forwarded headers, request id, REST conventions, routing,
    /// REST response compression, authentication, authorization, rate limits), then health (gRPC and /healthz, /readyz), /metrics and reflection
    /// (v1 and v1alpha).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<ServiceOptions>();
        app.UseRpcMetrics();
        app.UseForwardedHeaders();
        app.UseRequestId();
        app.UseRestConventions(options.MaxRequestBodySize);
        app.UseRouting();
        app.UseRestCompression(options);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseFlashDealRateLimiting();
        app.MapHealthEndpoints();
        app.MapMetricsEndpoint();
        app.MapGrpcReflectionService();
        return app;
    }

    private static void ConfigureLogging(this WebApplicationBuilder builder)
    {
        // The console provider the builder already has gets our format; providers a caller added (tests) stay.
        builder.Logging.AddFilter("Npgsql.Command", LogLevel.Warning);
        // AddAuthentication registers ASP.NET Core data protection (for cookie handlers) and its key ring is created at
        // start; FlashDeal protects nothing with it (bearer tokens only), so its warnings about where keys are kept are
        // noise in a container without a home folder.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        // Grpc.AspNetCore logs every call that ends with a non-OK status at Information ("Error status code … raised"):
        // in a flash sale that is a line per SOLD_OUT answer, thousands a second, for what the caller already got as
        // its answer. Handler failures stay logged (at Error); the category's level can still be set in configuration.
        // JSON transcoding's handler logs the same line for REST callers under its own category.
        foreach (var callHandler in (string[])["Grpc.AspNetCore.Server.ServerCallHandler",
                     "Grpc.AspNetCore.Grpc.JsonTranscoding.ServerCallHandler"])
        {
            if (builder.Configuration[$"Logging:LogLevel:{callHandler}"] is null)
            {
                builder.Logging.AddFilter(callHandler, LogLevel.Warning);
            }
        }
        // Every line of a request names its trace and span (the scope the logger factory adds from Activity.Current).
        builder.Logging.Configure(o => o.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        if (string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.IncludeScopes = true;
            });
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
            kestrel.Limits.MaxRequestHeadersTotalSize = options.MaxRequestHeadersTotalSize;
            kestrel.Limits.Http2.MaxRequestHeaderFieldSize = options.MaxRequestHeadersTotalSize;
            kestrel.Limits.Http2.HeaderTableSize = 4096;
            // REST bodies are bounded by RestConventions (413 with a JSON body); gRPC messages by MaxReceiveMessageSize.
            kestrel.Limits.MaxRequestBodySize = null;
            var address = IPAddress.Parse(options.BindAddress);
            // Without TLS, Http1AndHttp2 would mean HTTP/1.1 only: the gRPC port is HTTP/2 alone.
            kestrel.Listen(address, options.GrpcPort, o => o.Protocols = HttpProtocols.Http2);
            kestrel.Listen(address, options.RestPort, o => o.Protocols = HttpProtocols.Http1);
        });
    }
}

/// <summary>A proto file registered with <see cref="ServiceDefaultsExtensions.AddErrorDetailTypes"/>.</summary>
public sealed record ErrorDetailFiles(FileDescriptor File);
