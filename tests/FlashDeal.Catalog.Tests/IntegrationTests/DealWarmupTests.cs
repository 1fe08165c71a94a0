using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.TestInfrastructure;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>The warmer puts the order path's deal config back into Redis before a deal opens, and never more than that.</summary>
[Collection(DataServers.Name)]
public sealed class DealWarmupTests(DealWarmupTests.Fixture catalog) : IClassFixture<DealWarmupTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings => new Dictionary<string, string?>
        {
            ["Catalog:WarmInterval"] = "00:00:00.200",
        };
    }

    private Task<string> ConfigFieldAsync(string dealId, string field) =>
        catalog.RedisAsync("HGET", $"{{deal:{dealId}}}:config", field);

    private Task<string> StockAsync(string dealId) => catalog.RedisAsync("GET", $"{{deal:{dealId}}}:stock");

    [Fact]
    public async Task ADeletedConfigComesBackBeforeTheDealOpens()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromMinutes(3), TimeSpan.FromHours(1), stock: 12);
        await catalog.RedisAsync("DEL", $"{{deal:{deal.DealId}}}:config", $"{{deal:{deal.DealId}}}:stock");

        await Eventually.HoldsAsync(() => ConfigFieldAsync(deal.DealId, "version"), version => version == "1");
        Assert.Equal("12", await ConfigFieldAsync(deal.DealId, "stock"));
        Assert.Equal("12", await StockAsync(deal.DealId));
    }

    [Fact]
    public async Task DealsOpeningLaterThanTheHorizonAreLeftAlone()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(2), TimeSpan.FromHours(1));
        await catalog.RedisAsync("DEL", $"{{deal:{deal.DealId}}}:config");

        await catalog.Service<DealWarmer>().WarmAsync(CancellationToken.None);

        Assert.Equal("", await ConfigFieldAsync(deal.DealId, "version"));
    }

    [Fact]
    public async Task TheStockOfAnOpenDealIsNeverRecreated()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await catalog.MoveDealWindowAsync(deal.DealId, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddHours(1));
        await catalog.RedisAsync("DEL", $"{{deal:{deal.DealId}}}:config", $"{{deal:{deal.DealId}}}:stock");

        await catalog.Service<DealWarmer>().WarmAsync(CancellationToken.None);
        await catalog.Service<DealWarmer>().WarmAsync(CancellationToken.None);

        Assert.Equal("1", await ConfigFieldAsync(deal.DealId, "version"));
        Assert.Equal("", await StockAsync(deal.DealId));
    }

    [Fact]
    public async Task AnOlderVersionNeverOverwritesANewerConfig()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromMinutes(3), TimeSpan.FromHours(1));
        await catalog.RedisAsync("HSET", $"{{deal:{deal.DealId}}}:config", "version", "99", "title", "written by a newer replica");

        await catalog.Service<DealWarmer>().WarmAsync(CancellationToken.None);

        Assert.Equal("99", await ConfigFieldAsync(deal.DealId, "version"));
        Assert.Equal("written by a newer replica", await ConfigFieldAsync(deal.DealId, "title"));
    }
}
