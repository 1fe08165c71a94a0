using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Tests.Infrastructure;

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
    }

    private static IApiTransport LoadCommand(Cli.ToolOptions options) => Cli.LoadCommand.CreateTransport(options);
}
