using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>A stopping replica ends its watches (clients reconnect elsewhere) instead of holding up the rollout.</summary>
[Collection(DataServers.Name)]
public sealed class ShutdownTests(ShutdownTests.Fixture catalog) : IClassFixture<ShutdownTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    [Fact]
    public async Task WatchesEndWhenTheServiceStops()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        using var call = catalog.Watch(deal.DealId);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(1, catalog.Service<DealWatchHub>().ActiveFeeds);

        catalog.Service<IHostApplicationLifetime>().StopApplication();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        await Eventually.HoldsAsync(() => Task.FromResult(catalog.Service<DealWatchHub>().ActiveFeeds), feeds => feeds == 0);
    }
}
