using FlashDeal.Grpc.Testing;
using FlashDeal.Grpc.Testing.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>An Echo server whose "/http.status/{code}" path answers a plain HTTP response, as a proxy in front might.</summary>
public sealed class PlainHttpServerFixture : IAsyncLifetime
{
    public EchoServerHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await EchoServerHost.StartAsync(
        configureBuilder: b => b.Services.AddSingleton<IStartupFilter, PlainHttpStatusFilter>());

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private sealed class PlainHttpStatusFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                var path = context.Request.Path.Value ?? "";
                if (!path.StartsWith("/http.status/", StringComparison.Ordinal))
                {
                    await nextMiddleware(context);
                    return;
                }
                context.Response.StatusCode = int.Parse(path["/http.status/".Length..]);
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("not gRPC");
            });
            next(app);
        };
    }
}

public class HttpStatusTests(PlainHttpServerFixture fixture) : IClassFixture<PlainHttpServerFixture>
{
    [Theory]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    [InlineData(200, StatusCode.Internal)]
    public async Task PlainHttpResponseBecomesTheGrpcStatusOfTheSpec(int httpStatus, StatusCode expected)
    {
        using var channel = GrpcChannel.ForAddress(fixture.Host.GrpcAddress);
        var method = new Method<EchoRequest, EchoResponse>(MethodType.Unary, "http.status", httpStatus.ToString());

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(method, new EchoRequest()));

        Assert.Equal(expected, e.StatusCode);
    }
}
