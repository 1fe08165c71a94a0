using System.Net;
using System.Text.Json;
using FlashDeal.Grpc.Testing;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

public sealed class HealthServiceTests : IAsyncLifetime
{
    private const string CheckPath = "/grpc.health.v1.Health/Check";
    private const string WatchPath = "/grpc.health.v1.Health/Watch";
    private const string OrdersService = "flashdeal.orders.v1.OrderService";

    private readonly SwitchableCheck _database = new();
    private EchoServerHost _host = null!;
    private Task? _stopped;
    private HttpClient _grpc = null!;
    private HttpClient _rest = null!;

    public async Task InitializeAsync()
    {
        _host = await EchoServerHost.StartAsync(configureBuilder: builder =>
        {
            builder.Services.AddHealthChecks().AddCheck("database", _database, tags: ["orders"]);
            builder.Services.Configure<GrpcHealthChecksOptions>(o =>
            {
                o.Period = TimeSpan.FromMilliseconds(50);
                o.MapTag(OrdersService, "orders");
            });
        });
        _grpc = H2cTestCall<HealthCheckResponse>.CreateClient(_host.GrpcAddress);
        _rest = new HttpClient { BaseAddress = _host.RestAddress };
    }

    public async Task DisposeAsync()
    {
        _grpc.Dispose();
        _rest.Dispose();
        await StopHostAsync();
    }

    private Task StopHostAsync() => _stopped ??= _host.DisposeAsync().AsTask();

    private GrpcHealthStatus Health => _host.Services.GetRequiredService<GrpcHealthStatus>();

    [Fact]
    public async Task CheckReportsTheOverallStatusRightAfterStartup()
    {
        var (code, _, response) = await CheckAsync("");
        Assert.Equal(StatusCode.OK, code);
        Assert.Equal(ServingStatus.Serving, response!.Status);
    }

    [Fact]
    public async Task CheckOfAnUnknownServiceIsNotFound()
    {
        var (code, message, _) = await CheckAsync("no.such.Service");
        Assert.Equal(StatusCode.NotFound, code);
        Assert.Contains("no.such.Service", message);
    }

    [Fact]
    public async Task StatusSetByCodeIsWhatCheckAnswers()
    {
        Health.Set("flashdeal.testing.v1.EchoService", ServingStatus.NotServing);
        var (_, _, response) = await CheckAsync("flashdeal.testing.v1.EchoService");
        Assert.Equal(ServingStatus.NotServing, response!.Status);
    }

    [Fact]
    public async Task WatchSendsTheCurrentStatusThenEachChangeAndKeepsWatchingUnknownServices()
    {
        await using var watch = await StartWatchAsync("later.Service");
        Assert.Equal(ServingStatus.ServiceUnknown, (await watch.ReadAsync())!.Status);

        Health.Set("later.Service", ServingStatus.Serving);
        Assert.Equal(ServingStatus.Serving, (await watch.ReadAsync())!.Status);
        Health.Set("later.Service", ServingStatus.NotServing);
        Assert.Equal(ServingStatus.NotServing, (await watch.ReadAsync())!.Status);
    }

    [Fact]
    public async Task UnhealthyCheckTurnsItsMappedServiceAndTheOverallStatusNotServing()
    {
        await using var orders = await StartWatchAsync(OrdersService);
        await using var overall = await StartWatchAsync("");
        Assert.Equal(ServingStatus.Serving, (await orders.ReadAsync())!.Status);
        Assert.Equal(ServingStatus.Serving, (await overall.ReadAsync())!.Status);

        _database.Status = HealthStatus.Unhealthy;
        Assert.Equal(ServingStatus.NotServing, (await orders.ReadAsync())!.Status);
        Assert.Equal(ServingStatus.NotServing, (await overall.ReadAsync())!.Status);

        _database.Status = HealthStatus.Degraded;
        Assert.Equal(ServingStatus.Serving, (await orders.ReadAsync())!.Status);
    }

    [Fact]
    public async Task ReadinessFollowsTheOverallStatusWhileLivenessStaysUp()
    {
        using var ready = await _rest.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("SERVING", await StatusOf(ready));

        _database.Status = HealthStatus.Unhealthy;
        await using var watch = await StartWatchAsync("");
        while ((await watch.ReadAsync())!.Status != ServingStatus.NotServing)
        {
        }
        using var notReady = await _rest.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        var body = JsonDocument.Parse(await notReady.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("NOT_SERVING", body.GetProperty("status").GetString());
        Assert.Equal("NOT_SERVING", body.GetProperty("services").GetProperty(OrdersService).GetString());

        using var live = await _rest.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("application/json", live.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ShutdownTurnsWatchersNotServingThenEndsTheirCalls()
    {
        var health = Health;
        await using var watch = await StartWatchAsync("");
        Assert.Equal(ServingStatus.Serving, (await watch.ReadAsync())!.Status);

        var stopping = StopHostAsync();
        Assert.Equal(ServingStatus.NotServing, (await watch.ReadAsync())!.Status);
        var (code, _) = await watch.ReadStatusAsync();
        Assert.Equal(StatusCode.OK, code);
        await stopping;
        Assert.All(health.Snapshot().Values, s => Assert.Equal(ServingStatus.NotServing, s));
    }

    private Task<(StatusCode Code, string Message, HealthCheckResponse? Response)> CheckAsync(string service) =>
        H2cTestCall<HealthCheckResponse>.UnaryAsync(_grpc, CheckPath, new HealthCheckRequest { Service = service },
            HealthCheckResponse.Parser);

    private async Task<H2cTestCall<HealthCheckResponse>> StartWatchAsync(string service)
    {
        var call = new H2cTestCall<HealthCheckResponse>(_grpc, WatchPath, HealthCheckResponse.Parser);
        await call.SendAsync(new HealthCheckRequest { Service = service });
        call.CompleteRequest();
        return call;
    }

    private static async Task<string?> StatusOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString();

    private sealed class SwitchableCheck : IHealthCheck
    {
        public volatile HealthStatus Status = HealthStatus.Healthy;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new HealthCheckResult(Status));
    }
}
