using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.TestInfrastructure;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>
/// The hot deal list and the first product pages in memory. Their refresh and TTL are an hour here, so only what the
/// design promises can make these pass: states computed at read time, this replica's writes, and the other replicas'
/// writes through their pub/sub messages.
/// </summary>
[Collection(DataServers.Name)]
public sealed class HotListTests(HotListTests.Fixture catalog) : IClassFixture<HotListTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings => new Dictionary<string, string?>
        {
            ["Catalog:HotListRefresh"] = "01:00:00",
            ["Catalog:ProductPageTtl"] = "01:00:00",
        };
    }

    private static ListDealsRequest Current(Product product, params DealState[] states)
    {
        var request = new ListDealsRequest { ProductId = product.ProductId };
        request.States.AddRange(states);
        return request;
    }

    private async Task<HotDealList> LoadedAsync()
    {
        var list = catalog.Service<HotDealList>();
        await Eventually.HoldsAsync(() => Task.FromResult(list.TryGet(out _)), loaded => loaded);
        return list;
    }

    [Fact]
    public async Task ADealTurnsLiveAtItsSecondWithoutAnyWrite()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromSeconds(3), TimeSpan.FromHours(1));
        var list = await LoadedAsync();
        Assert.True(list.TryGet(out var held) && held.Any(d => d.Deal.DealId == deal.DealId));

        var upcoming = await catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Upcoming));
        Assert.Equal([deal.DealId], upcoming.Deals.Select(d => d.DealId));

        await Task.Delay(deal.StartTime.ToDateTime() - DateTime.UtcNow + TimeSpan.FromMilliseconds(200));
        var live = await catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Live, DealState.Upcoming));
        Assert.Equal(DealState.Live, live.Deals.Single().State);
        Assert.True(list.TryGet(out _)); // answered from the list: no write dropped it
    }

    [Fact]
    public async Task AnotherReplicasDealWriteShowsAtOnce()
    {
        var product = await catalog.CreateProductAsync();
        await LoadedAsync();
        var before = await catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Upcoming));
        Assert.Empty(before.Deals);

        var other = await catalog.StartReplicaAsync(); // disposed with the fixture
        var otherClient = new CatalogService.CatalogServiceClient(other.Grpc);
        var created = (await otherClient.CreateDealAsync(
            new CreateDealRequest { Deal = CatalogFixture.NewDeal(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1)) },
            CatalogFixture.Options(catalog.AdminToken))).Deal;

        var seen = await Eventually.HoldsAsync(
            () => catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Upcoming)),
            page => page.Deals.Count == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(created.DealId, seen.Deals[0].DealId);

        await otherClient.CancelDealAsync(new CancelDealRequest { DealId = created.DealId }, CatalogFixture.Options(catalog.AdminToken));
        await Eventually.HoldsAsync(
            () => catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Upcoming)),
            page => page.Deals.Count == 0, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ProductPagesFollowWritesOnThisAndOtherReplicas()
    {
        var category = "hot-" + Guid.NewGuid().ToString("N")[..8];
        var request = new ListProductsRequest { Category = category };
        var first = await catalog.CreateProductAsync(category: category);
        Assert.Equal([first.ProductId], (await catalog.CallAsync(CatalogMethods.ListProducts, request)).Products.Select(p => p.ProductId));

        // This replica's write drops the page at once.
        var second = await catalog.CreateProductAsync(category: category);
        Assert.Equal(2, (await catalog.CallAsync(CatalogMethods.ListProducts, request)).Products.Count);

        // A later page (its token's position) is held too, and dropped by a write just the same.
        var pageOne = await catalog.CallAsync(CatalogMethods.ListProducts, new ListProductsRequest { Category = category, PageSize = 1 });
        var pageTwo = new ListProductsRequest { Category = category, PageSize = 1, PageToken = pageOne.NextPageToken };
        Assert.Equal(first.ProductId, (await catalog.CallAsync(CatalogMethods.ListProducts, pageTwo)).Products.Single().ProductId); // newest first
        await catalog.AdminAsync(CatalogMethods.UpdateProduct, new UpdateProductRequest
        {
            Product = new Product { ProductId = first.ProductId, Name = "Renamed while paged" },
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "name" } },
        });
        Assert.Equal("Renamed while paged", (await catalog.CallAsync(CatalogMethods.ListProducts, pageTwo)).Products.Single().Name);

        // Another replica's write: through its message.
        var other = await catalog.StartReplicaAsync(); // disposed with the fixture
        var otherClient = new CatalogService.CatalogServiceClient(other.Grpc);
        await otherClient.ArchiveProductAsync(new ArchiveProductRequest { ProductId = second.ProductId },
            CatalogFixture.Options(catalog.AdminToken));
        var page = await Eventually.HoldsAsync(() => catalog.CallAsync(CatalogMethods.ListProducts, request),
            p => p.Products.Count == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(first.ProductId, page.Products[0].ProductId);
    }
}
