using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.TestInfrastructure;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>Catalog:CacheEnabled=false (the uncached side of the catalog-read benchmark): every read sees PostgreSQL and
/// nothing is written to the read cache; live deal stock still comes from Redis.</summary>
[Collection(DataServers.Name)]
public sealed class CacheDisabledTests(CacheDisabledTests.Fixture catalog) : IClassFixture<CacheDisabledTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings =>
            new Dictionary<string, string?> { ["Catalog:CacheEnabled"] = "false" };
    }

    [Fact]
    public async Task ReadsGoToPostgresAndLeaveNoCacheEntry()
    {
        var product = await catalog.CreateProductAsync(name: "Uncached name");
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10);
        await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId });
        await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId });
        Assert.Equal("0", await catalog.RedisAsync("EXISTS", $"catalog:product:{product.ProductId}"));
        Assert.Equal("0", await catalog.RedisAsync("EXISTS", $"catalog:deal:{deal.DealId}"));

        await using (var command = catalog.Database.CreateCommand("UPDATE catalog.products SET name = 'Changed directly' WHERE product_id = @id"))
        {
            command.Parameters.AddWithValue("id", Guid.Parse(product.ProductId));
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }
        var read = (await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId })).Product;
        Assert.Equal("Changed directly", read.Name);

        // Stock is not part of the read cache: it still comes from the deal's Redis keys.
        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "4");
        var dealRead = (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal;
        Assert.Equal(6, dealRead.RemainingStock);
    }
}
