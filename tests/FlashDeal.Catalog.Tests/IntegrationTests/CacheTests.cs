using FlashDeal.Catalog.BestSellers;
using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.TestInfrastructure;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>Cache-aside reads, invalidation on writes, and reads that keep working while Redis is down.</summary>
[Collection(DataServers.Name)]
public sealed class CacheTests(CacheTests.Fixture catalog) : IClassFixture<CacheTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    private async Task SqlAsync(string sql, string id)
    {
        await using var command = catalog.Database.CreateCommand(sql);
        command.Parameters.AddWithValue("id", Guid.Parse(id));
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task ProductReadsComeFromTheCacheUntilAWriteDeletesIt()
    {
        var product = await catalog.CreateProductAsync(name: "Cached name");
        await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId });
        var ttl = int.Parse(await catalog.RedisAsync("TTL", $"catalog:product:{product.ProductId}"));
        Assert.InRange(ttl, 1, 60);

        // A change behind the catalog's back is invisible while the cached copy lives ...
        await SqlAsync("UPDATE catalog.products SET name = 'Changed behind the cache' WHERE product_id = @id", product.ProductId);
        var cached = (await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId })).Product;
        Assert.Equal("Cached name", cached.Name);

        // ... and a write through the API deletes it, so the next read sees the database.
        await catalog.AdminAsync(CatalogMethods.UpdateProduct, new UpdateProductRequest
        {
            Product = new Product { ProductId = product.ProductId, Description = "updated" },
            UpdateMask = new FieldMask { Paths = { "description" } },
        });
        Assert.Equal("", await catalog.RedisAsync("GET", $"catalog:product:{product.ProductId}"));
        var fresh = (await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId })).Product;
        Assert.Equal(("Changed behind the cache", "updated"), (fresh.Name, fresh.Description));
    }

    [Fact]
    public async Task DealReadsComeFromTheCacheUntilAWriteDeletesIt()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId });

        await SqlAsync("UPDATE catalog.deals SET title = 'Changed behind the cache' WHERE deal_id = @id", deal.DealId);
        var cached = (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal;
        Assert.Equal(deal.Title, cached.Title);

        await catalog.AdminAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, PerUserLimit = 1 },
            UpdateMask = new FieldMask { Paths = { "per_user_limit" } },
        });
        var fresh = (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal;
        Assert.Equal(("Changed behind the cache", 1), (fresh.Title, fresh.PerUserLimit));
    }

    [Fact]
    public async Task EveryReadKeepsWorkingWhileRedisIsDown()
    {
        var product = await catalog.CreateProductAsync(name: "Outage lamp", category: "outage");
        // Opens within the warm-up horizon (10 min), so the warmer restores it after the outage.
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), stock: 10);
        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "3");
        await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId });
        await catalog.Service<BestSellers.BestSellers>().RecordPaidAsync(Guid.Parse(product.ProductId), 4);
        Assert.True(await catalog.Service<BestSellerBackup>().BackUpAsync(CancellationToken.None));

        await catalog.Redis.StopAsync();
        try
        {
            var read = (await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId })).Product;
            Assert.Equal("Outage lamp", read.Name);
            Assert.False(catalog.Service<RedisGuard>().IsAvailable);
            // A Redis outage degrades the catalog but keeps it in rotation (readiness needs no Unhealthy check).
            var health = await catalog.Service<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Degraded, health.Entries["redis"].Status);
            Assert.Equal(HealthStatus.Healthy, health.Entries["postgres"].Status);

            using var getDeal = catalog.GetDealCall(deal.DealId);
            var dealRead = (await getDeal).Deal;
            Assert.Equal((DealState.Upcoming, 7), (dealRead.State, dealRead.RemainingStock)); // the last value seen
            Assert.Equal("fallback", getDeal.GetTrailers().GetValue("flashdeal-stock-source"));

            var products = await catalog.CallAsync(CatalogMethods.ListProducts, new ListProductsRequest { Category = "outage" });
            Assert.Equal([product.ProductId], products.Products.Select(p => p.ProductId));
            var deals = await catalog.CallAsync(CatalogMethods.ListDeals, new ListDealsRequest { ProductId = product.ProductId });
            Assert.Equal([deal.DealId], deals.Deals.Select(d => d.DealId));
            var best = await catalog.CallAsync(CatalogMethods.ListBestSellers,
                new ListBestSellersRequest { Window = BestSellerWindow.AllTime, Category = "outage" });
            Assert.Equal([(product.ProductId, "Outage lamp", 4L)],
                best.BestSellers.Select(b => (b.ProductId, b.ProductName, b.UnitsSold)));

            var rest = await catalog.RestAsync(HttpMethod.Get, $"/v1/deals/{deal.DealId}");
            Assert.Equal(deal.DealId, (await CatalogFixture.ReadAsync<GetDealResponse>(rest)).Deal.DealId);
            using var watch = catalog.Watch(deal.DealId);
            Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(DealState.Upcoming, watch.ResponseStream.Current.Snapshot.State);

            // Writes go to PostgreSQL; their Redis side is caught up later (TTL, warmer).
            var created = await catalog.CreateProductAsync(name: "Made during the outage");
            Assert.Equal("Made during the outage",
                (await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = created.ProductId })).Product.Name);
        }
        finally
        {
            await catalog.Redis.StartAsync();
        }

        // Redis came back empty: the warmer recreates the upcoming deal's keys and reads use Redis again.
        await Eventually.HoldsAsync(() => catalog.Service<DealWarmer>().WarmAsync(CancellationToken.None), written => written > 0);
        await Eventually.HoldsAsync(async () =>
        {
            using var call = catalog.GetDealCall(deal.DealId);
            await call;
            return call.GetTrailers().GetValue("flashdeal-stock-source");
        }, source => source == "redis");
    }
}
