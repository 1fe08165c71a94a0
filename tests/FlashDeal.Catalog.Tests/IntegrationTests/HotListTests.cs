using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>
/// The hot deal list and the first product pages in memory. Their refresh and TTL are an hour here, so only what the
/// design promises can make these pass: states computed at read time, this replica's writes, and the other replicas'
/// writes through their pub/sub messages. Opening deals are warmed <see cref="Lead"/> ahead.
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
            ["Catalog:WarmBefore"] = Lead.ToString(),
        };
    }

    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(5);

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

    [Fact]
    public async Task ProductCountsAreHeldWithThePagesUntilAWrite()
    {
        var category = "count-" + Guid.NewGuid().ToString("N")[..8];
        var created = new List<Product>();
        for (var i = 0; i < 3; i++)
        {
            created.Add(await catalog.CreateProductAsync(category: category));
        }
        var request = new ListProductsRequest { Category = category, PageSize = 2 };
        var page1 = await catalog.CallAsync(CatalogMethods.ListProducts, request);
        var page2 = await catalog.CallAsync(CatalogMethods.ListProducts,
            new ListProductsRequest { Category = category, PageSize = 2, PageToken = page1.NextPageToken });
        Assert.Equal((2, 1, 3, 3), (page1.Products.Count, page2.Products.Count, page1.TotalSize, page2.TotalSize));

        // A row added behind the catalog's back is not counted while the count is held: no count(*) per request.
        await using (var insert = catalog.Database.CreateCommand("""
            INSERT INTO catalog.products (product_id, name, category, list_price_cents, currency, create_time, update_time)
            VALUES (gen_random_uuid(), 'Behind the cache', @category, 100, 'EUR', now() - interval '1 day', now())
            """))
        {
            insert.Parameters.AddWithValue("category", category);
            Assert.Equal(1, await insert.ExecuteNonQueryAsync());
        }
        using (var lookups = new CacheLookupRecorder(catalog.Host.Services))
        {
            Assert.Equal(3, (await catalog.CallAsync(CatalogMethods.ListProducts, request)).TotalSize);
            Assert.Equal([("product_count", "hit")], lookups.Lookups.Where(l => l.Cache == "product_count"));
        }

        // A write through the API drops it: counted again, the row added behind its back included.
        await catalog.CreateProductAsync(category: category);
        Assert.Equal(5, (await catalog.CallAsync(CatalogMethods.ListProducts, request)).TotalSize);
        await catalog.AdminAsync(CatalogMethods.ArchiveProduct, new ArchiveProductRequest { ProductId = created[0].ProductId });
        Assert.Equal(4, (await catalog.CallAsync(CatalogMethods.ListProducts, request)).TotalSize);
        Assert.Equal(5, (await catalog.CallAsync(CatalogMethods.ListProducts,
            new ListProductsRequest { Category = category, PageSize = 2, IncludeArchived = true })).TotalSize);
    }

    [Fact]
    public async Task EveryReplicaIsWarmBeforeADealOpensSoItsFirstReadsAreHits()
    {
        var other = await catalog.StartReplicaAsync(); // disposed with the fixture
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromSeconds(12), TimeSpan.FromHours(1));
        var start = deal.StartTime.ToDateTime();
        var key = $"catalog:deal:{deal.DealId}";
        if (DateTime.UtcNow < start - Lead - TimeSpan.FromSeconds(2))
        {
            Assert.Equal("0", await catalog.RedisAsync("EXISTS", key)); // nothing read it, and it is not yet due
        }

        // Both replicas list it (loaded on the write and its message), and its GetDeal entry is written before it opens.
        foreach (var host in new[] { catalog.Host, other })
        {
            var list = host.Services.GetRequiredService<HotDealList>();
            await Eventually.HoldsAsync(() => Task.FromResult(list.TryGet(out var held) && held.Any(d => d.Deal.DealId == deal.DealId)),
                held => held, TimeSpan.FromSeconds(10));
        }
        await Eventually.HoldsAsync(() => catalog.RedisAsync("EXISTS", key), exists => exists == "1", TimeSpan.FromSeconds(15));
        Assert.True(DateTime.UtcNow < start, "warmed only after the opening");
        Assert.True(int.Parse(await catalog.RedisAsync("TTL", key)) > (start - DateTime.UtcNow).TotalSeconds,
            "the entry must outlive the opening");

        // A write within the lead deletes the entry; the next pass writes the new terms.
        await catalog.AdminAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, Title = "Renamed before the opening" },
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "title" } },
        });
        await Eventually.HoldsAsync(() => catalog.RedisAsync("EXISTS", key), exists => exists == "1", TimeSpan.FromSeconds(15));
        Assert.True(DateTime.UtcNow < start, "warmed again only after the opening");

        // The opening second: the deal is LIVE at once, in GetDeal and in the list, and both reads are cache hits.
        using var lookups = new CacheLookupRecorder(catalog.Host.Services);
        var wait = start - DateTime.UtcNow + TimeSpan.FromMilliseconds(100);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
        var read = (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal;
        Assert.Equal((DealState.Live, "Renamed before the opening"), (read.State, read.Title));
        var listed = await catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Live, DealState.Upcoming));
        Assert.Equal([(deal.DealId, DealState.Live)], listed.Deals.Select(d => (d.DealId, d.State)));
        Assert.Equal([("deal", "hit"), ("deal_list", "hit")], lookups.Lookups);
    }

    [Fact]
    public async Task HotListsAnswerWhileRedisIsDownAndFollowOtherReplicasAgainWhenItIsBack()
    {
        var category = "down-" + Guid.NewGuid().ToString("N")[..8];
        var product = await catalog.CreateProductAsync(category: category);
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await LoadedAsync();
        var products = new ListProductsRequest { Category = category };

        await catalog.Redis.StopAsync();
        try
        {
            using var lookups = new CacheLookupRecorder(catalog.Host.Services);
            var listed = await catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Upcoming));
            Assert.Equal([deal.DealId], listed.Deals.Select(d => d.DealId));
            var page = await catalog.CallAsync(CatalogMethods.ListProducts, products);
            Assert.Equal([product.ProductId], page.Products.Select(p => p.ProductId));
            Assert.Equal(1, page.TotalSize);
            Assert.Contains(("deal_list", "hit"), lookups.Lookups);

            // This replica's writes still show at once: PostgreSQL answers until the lists are held again.
            var second = await catalog.CreateDealAsync(product, TimeSpan.FromHours(2), TimeSpan.FromHours(1));
            Assert.Equal([deal.DealId, second.DealId],
                (await catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Upcoming))).Deals.Select(d => d.DealId));
            await catalog.CreateProductAsync(category: category);
            page = await catalog.CallAsync(CatalogMethods.ListProducts, products);
            Assert.Equal((2, 2), (page.Products.Count, page.TotalSize));
        }
        finally
        {
            await catalog.Redis.StartAsync();
        }

        // Redis is back: another replica's writes reach this one again (its message, or the reload on reconnecting).
        var other = await catalog.StartReplicaAsync(); // disposed with the fixture
        var otherClient = new CatalogService.CatalogServiceClient(other.Grpc);
        await otherClient.CreateDealAsync(
            new CreateDealRequest { Deal = CatalogFixture.NewDeal(product, TimeSpan.FromHours(3), TimeSpan.FromHours(1)) },
            CatalogFixture.Options(catalog.AdminToken));
        await otherClient.CreateProductAsync(
            new CreateProductRequest { Product = new Product { Name = "After the outage", Category = category, Currency = "EUR" } },
            CatalogFixture.Options(catalog.AdminToken));
        await Eventually.HoldsAsync(
            () => catalog.CallAsync(CatalogMethods.ListDeals, Current(product, DealState.Upcoming)),
            page => page.Deals.Count == 3, TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => catalog.CallAsync(CatalogMethods.ListProducts, products),
            page => page.Products.Count == 3 && page.TotalSize == 3, TimeSpan.FromSeconds(30));
    }
}
