using System.Collections.Concurrent;
using Grpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.ServiceDefaults.Tests.IntegrationTests;

/// <summary>
/// One service calling another through <see cref="ServiceClients.AddServiceClient{TClient}"/>: the generated client from
/// Grpc.Net.ClientFactory, a dns:/// address resolved and balanced by the client, the caller's token carried along.
/// </summary>
public sealed class ServiceClientTests
{
    [Fact]
    public async Task ACallInsideARequestReachesTheOtherServiceWithTheCallersToken()
    {
        var seen = new ConcurrentQueue<string>();
        await using var callee = await DefaultsHost.StartAsync(configure: builder =>
            builder.Services.AddSingleton<IStartupFilter>(new AuthorizationRecorder(seen)));
        await using var caller = await DefaultsHost.StartAsync(
            new() { ["Clients:probe:Address"] = $"dns:///localhost:{callee.GrpcAddress.Port}" },
            configure: builder => builder.Services.AddServiceClient<Health.HealthClient>(builder.Configuration, "probe"),
            map: app => app.MapGet("/v1/probe", async (Health.HealthClient health) =>
                (await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30))).Status.ToString()));

        var token = DefaultsHost.Token("ada");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/probe");
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + token);
        var response = await caller.Http.SendAsync(request);

        Assert.Equal("Serving", await response.Content.ReadAsStringAsync());
        Assert.Equal(["Bearer " + token], seen);
    }

    [Fact]
    public async Task AMissingAddressFailsAtRegistration()
    {
        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => DefaultsHost.StartAsync(
            configure: builder => builder.Services.AddServiceClient<Health.HealthClient>(builder.Configuration, "nowhere")));
        Assert.Contains("Clients:nowhere:Address", error.Message);
    }

    private sealed class AuthorizationRecorder(ConcurrentQueue<string> seen) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                if (context.Request.Path.StartsWithSegments("/grpc.health.v1.Health"))
                {
                    seen.Enqueue(context.Request.Headers.Authorization.ToString());
                }
                return following(context);
            });
            next(app);
        };
    }
}
