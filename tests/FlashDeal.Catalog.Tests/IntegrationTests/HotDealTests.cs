using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.TestInfrastructure;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>Catalog:LocalReadTtl: GetDeal answers from the in-process copy while it is young, and this replica's writes
/// drop the copy at once. The TTL is a minute here so that a slow machine cannot age the copy between two calls.</summary>
[Collection(DataServers.Name)]
public sealed class HotDealTests(HotDealTests.Fixture catalog) : IClassFixture<HotDealTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings =>
            new Dictionary<string, string?> { ["Catalog:LocalReadTtl"] = "00:01:00" };
    }

    [Fact]
    public async Task ACopyAnswersWithoutRedisUntilThisReplicaWritesTheDeal()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10);
        var first = (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal;
        Assert.Equal(10, first.RemainingStock);

        // Behind the catalog's back: the copy still answers (no Redis read), and the answer is a fresh clone each time.
        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "4");
        var copy = await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId });
        Assert.Equal(10, copy.Deal.RemainingStock);
        Assert.Equal(DealState.Upcoming, copy.Deal.State);
        Assert.True(copy.ServerTime.ToDateTime() >= first.UpdateTime.ToDateTime());

        // A write through this replica drops the copy: the next read sees the new terms and the live stock.
        await catalog.AdminAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, Title = "Renamed while copied" },
            UpdateMask = new FieldMask { Paths = { "title" } },
        });
        var fresh = (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal;
        Assert.Equal("Renamed while copied", fresh.Title);
        Assert.Equal(6, fresh.RemainingStock);
    }
}
