using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.LoadTool.Tests.IntegrationTests;

/// <summary>The same refusal from the real services reads the same over both transports: the ErrorInfo reason from
/// grpc-status-details-bin (gRPC) and from the JSON error body (REST).</summary>
[Collection(MeshCollection.Name)]
public sealed class TransportTests(MeshFixture mesh)
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("rest")]
    public async Task ARefusalIsClassifiedByItsReasonOnBothTransports(string transport)
    {
        var options = ScenarioDriver.Options(mesh, "browse", transport);
        using var api = LoadCommand(options);
        var client = new FlashDealClient(api, TimeSpan.FromSeconds(10));
        var log = new CallLog();

        var product = await client.CallAsync(Operations.GetProduct, new GetProductRequest { ProductId = Guid.NewGuid().ToString("D") }, log);
        var order = await client.CallAsync(Operations.PlaceOrder,
            new PlaceOrderRequest { DealId = Guid.NewGuid().ToString("D"), IdempotencyKey = "k", Quantity = 1 }, log);

        Assert.False(product.IsOk);
        Assert.Equal("PRODUCT_NOT_FOUND", product.Outcome);
        Assert.False(order.IsOk);
        Assert.Equal("ACCESS_TOKEN_MISSING", order.Outcome);
        Assert.Equal(["get_product", "place_order"], log.Calls.Select(c => c.Operation));
        Assert.All(log.Calls, c => Assert.False(c.Expected));
    }

    [Fact]
    public async Task AnAddressWithNothingListeningIsUnavailableOnBothTransports()
    {
        var nowhere = ServiceEndpoints.All(new Uri("http://127.0.0.1:9"));
        var log = new CallLog();
        foreach (IApiTransport transport in new IApiTransport[] { new GrpcTransport(nowhere), new RestTransport(nowhere) })
        {
            using (transport)
            {
                var result = await new FlashDealClient(transport, TimeSpan.FromSeconds(5))
                    .CallAsync(Operations.ListDeals, new ListDealsRequest(), log);
                Assert.Equal(Outcomes.Unavailable, result.Outcome);
            }
        }
        // Balanced replicas that are all down fail the call at once too, rather than waiting for one to come up.
        using var balanced = new GrpcTransport(
            nowhere with { OrdersReplicas = [new Uri("http://127.0.0.1:9"), new Uri("http://127.0.0.1:11")] });
        var order = await new FlashDealClient(balanced, TimeSpan.FromSeconds(5))
            .CallAsync(Operations.GetOrder, new GetOrderRequest { OrderId = Guid.NewGuid().ToString("D") }, log);
        Assert.Equal(Outcomes.Unavailable, order.Outcome);
    }

    [Fact]
    public async Task OrdersCallsAreBalancedOverEveryReplica()
    {
        var served = new int[2];
        var replicas = new[]
        {
            await mesh.StartOrdersAsync(builder => builder.Services.AddSingleton<IStartupFilter>(new CallCounter(served, 0))),
            await mesh.StartOrdersAsync(builder => builder.Services.AddSingleton<IStartupFilter>(new CallCounter(served, 1))),
        };
        var endpoints = mesh.Grpc with { OrdersReplicas = [.. replicas.Select(r => r.GrpcAddress)] };
        using var transport = new GrpcTransport(endpoints, connections: 1);
        var client = new FlashDealClient(transport, TimeSpan.FromSeconds(30));
        var log = new CallLog();

        for (var i = 0; i < 200 && served.Contains(0); i++)
        {
            var order = await client.CallAsync(Operations.GetOrder, new GetOrderRequest { OrderId = Guid.NewGuid().ToString("D") }, log);
            Assert.Equal("ACCESS_TOKEN_MISSING", order.Outcome);
        }
        var product = await client.CallAsync(Operations.GetProduct, new GetProductRequest { ProductId = Guid.NewGuid().ToString("D") }, log);

        Assert.All(served, n => Assert.True(n > 0, $"calls per replica: {string.Join(", ", served)}"));
        // Auth and catalog keep their own single address.
        Assert.Equal("PRODUCT_NOT_FOUND", product.Outcome);
    }

    [Fact]
    public async Task ADnsTargetIsResolvedAndBalanced()
    {
        var served = new int[1];
        var replica = await mesh.StartOrdersAsync(builder =>
            builder.Services.AddSingleton<IStartupFilter>(new CallCounter(served, 0)));
        // localhost resolves to 127.0.0.1 (the replica) and possibly ::1 (nothing listens): round_robin uses what answers.
        var target = new Uri($"dns:///localhost:{replica.GrpcAddress.Port}");
        using var transport = new GrpcTransport(mesh.Grpc with { OrdersReplicas = [target] }, connections: 1);
        var client = new FlashDealClient(transport, TimeSpan.FromSeconds(30));
        var log = new CallLog();

        for (var i = 0; i < 5; i++)
        {
            var order = await client.CallAsync(Operations.GetOrder, new GetOrderRequest { OrderId = Guid.NewGuid().ToString("D") }, log);
            Assert.Equal("ACCESS_TOKEN_MISSING", order.Outcome);
        }
        Assert.Equal(5, served[0]);
    }

    /// <summary>Counts the gRPC calls one replica receives, before anything can refuse them.</summary>
    private sealed class CallCounter(int[] served, int replica) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                Interlocked.Increment(ref served[replica]);
                return following(context);
            });
            next(app);
        };
    }

    private static IApiTransport LoadCommand(Cli.ToolOptions options) => Cli.LoadCommand.CreateTransport(options);
}
