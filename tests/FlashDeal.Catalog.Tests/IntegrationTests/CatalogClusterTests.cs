using System.Globalization;
using FlashDeal.Catalog.BestSellers;
using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Grpc;
using FlashDeal.Catalog.Products;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data.Redis;
using FlashDeal.TestInfrastructure;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>
/// The catalog on a Redis Cluster (three primaries, a replica each), connected with every node as in production:
/// best sellers (best_seller_record.lua over the seen marker and three rankings, best_seller_view.lua over a view and up
/// to 169 buckets, all under <c>{bestsellers}</c>), deal config and live stock (deal_config_write.lua and
/// deal_live_state.lua under <c>{deal:&lt;id&gt;}</c>, on every primary), the cache-aside keys and the in-memory lists
/// that other replicas invalidate over pub/sub. A script whose keys spanned two slots would be refused, by
/// StackExchange.Redis ("Multi-key operations must involve a single slot") or by Redis (CROSSSLOT). The catalog falls
/// back to PostgreSQL when Redis refuses a read, so each test reads what the scripts wrote on the primary serving its
/// slot (a key anywhere else answers MOVED) and asks GetDeal where its stock came from. Each test hosts the catalog on
/// its own database; the base fixture's single-server helpers (RedisAsync, MoveDealWindowAsync) are not used here.
/// </summary>
[Collection(DataServers.Name)]
public sealed class CatalogClusterTests(PostgresServer postgres, RedisClusterSet cluster)
    : IClassFixture<RedisClusterSet>, IAsyncLifetime
{
    private readonly List<CatalogFixture> _catalogs = [];

    /// <summary>The catalog with <paramref name="settings"/>, connected to the cluster (the base flushes its first node).</summary>
    private sealed class ClusterCatalog(PostgresServer postgres, RedisClusterSet cluster, IReadOnlyDictionary<string, string?> settings)
        : CatalogFixture(postgres, cluster.Nodes[0])
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings =>
            new Dictionary<string, string?>(settings) { ["ConnectionStrings:Redis"] = cluster.ConnectionString };
    }

    public async Task InitializeAsync() => Assert.Equal(3, (await cluster.PrimaryPortsAsync()).Count);

    public async Task DisposeAsync()
    {
        foreach (var catalog in _catalogs)
        {
            await catalog.DisposeAsync();
        }
    }

    private async Task<CatalogFixture> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var catalog = new ClusterCatalog(postgres, cluster, settings ?? new Dictionary<string, string?>());
        _catalogs.Add(catalog);
        await catalog.InitializeAsync();
        return catalog;
    }

    /// <summary>One command on the primary serving the slot of its key (command[1]).</summary>
    private async Task<string> OnSlotAsync(params string[] command) =>
        await cluster.NodeOn(await cluster.PrimaryPortForKeyAsync(command[1])).ExecuteAsync(command);

    private async Task<Dictionary<string, string>> ConfigAsync(Guid dealId)
    {
        var lines = (await OnSlotAsync("HGETALL", DealKeys.Config(dealId).ToString())).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return Enumerable.Range(0, lines.Length / 2).ToDictionary(i => lines[2 * i], i => lines[2 * i + 1]);
    }

    private static async Task<(Deal Deal, string? Source)> GetDealAsync(CatalogFixture catalog, string dealId)
    {
        using var call = catalog.GetDealCall(dealId);
        var deal = (await call).Deal;
        return (deal, call.GetTrailers().GetValue(CatalogApi.StockSourceHeader));
    }

    private static async Task SqlAsync(CatalogFixture catalog, string sql, string id)
    {
        await using var command = catalog.Database.CreateCommand(sql);
        command.Parameters.AddWithValue("id", Guid.Parse(id));
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private static async Task<List<(string Name, long Units)>> RankingAsync(CatalogFixture catalog, BestSellerWindow window,
        string category)
    {
        var response = await catalog.CallAsync(CatalogMethods.ListBestSellers,
            new ListBestSellersRequest { Window = window, Category = category });
        return [.. response.BestSellers.Select(b => (b.ProductName, b.UnitsSold))];
    }

    [Fact]
    public async Task PaidOrdersAreRankedOnceInEveryWindow()
    {
        var catalog = await StartAsync();
        var category = "cluster-" + Guid.NewGuid().ToString("N")[..8];
        var a = await catalog.CreateProductAsync(name: "Cluster A", category: category);
        var b = await catalog.CreateProductAsync(name: "Cluster B", category: category);
        var (first, second, third) = ($"order-{Guid.NewGuid():N}", $"order-{Guid.NewGuid():N}", $"order-{Guid.NewGuid():N}");
        var stream = PaidOrdersStream.Key.ToString();
        var paidAt = DateTimeOffset.UtcNow;
        foreach (var (orderId, productId, quantity) in new[]
                 {
                     (first, a.ProductId, 3), (second, b.ProductId, 5), (third, a.ProductId, 1),
                     (first, a.ProductId, 3), // delivered twice: counted once
                 })
        {
            await OnSlotAsync("XADD", stream, "*", PaidOrdersStream.OrderIdField, orderId, PaidOrdersStream.ProductIdField,
                productId, PaidOrdersStream.QuantityField, quantity.ToString(CultureInfo.InvariantCulture),
                PaidOrdersStream.PaidAtMsField, paidAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        }

        var allTime = await Eventually.HoldsAsync(() => RankingAsync(catalog, BestSellerWindow.AllTime, category),
            r => r.Count == 2 && r[1].Units == 4);

        Assert.Equal([("Cluster B", 5L), ("Cluster A", 4L)], allTime);
        // Every other window sums its buckets with the view script; with Redis refusing it the ranking would be empty.
        foreach (var window in new[] { BestSellerWindow.Hour, BestSellerWindow.Day, BestSellerWindow.Week })
        {
            Assert.Equal(allTime, await RankingAsync(catalog, window, category));
        }
        Assert.Equal("4", await OnSlotAsync("ZSCORE", BestSellerKeys.AllTime.ToString(), a.ProductId));
        Assert.Equal("4", await OnSlotAsync("ZSCORE", BestSellerKeys.HourBucket(paidAt).ToString(), a.ProductId));
        Assert.Equal("1", await OnSlotAsync("EXISTS", BestSellerKeys.Seen(first).ToString()));
        Assert.Equal("0", await OnSlotAsync("EXISTS", BestSellerKeys.View(BestSellerWindow.Week).ToString()));
        Assert.False(await catalog.Service<BestSellers.BestSellers>().RecordPaidAsync(Guid.Parse(a.ProductId), 3, paidAt, first));
        await Eventually.HoldsAsync(() => OnSlotAsync("XPENDING", stream, PaidOrdersStream.BestSellersGroup), p => p.StartsWith('0'));
    }

    [Fact]
    public async Task DealsOnEveryPrimaryKeepTheirConfigAndStockOnTheirSlotAndGetDealReadsTheLiveStock()
    {
        var catalog = await StartAsync();
        var product = await catalog.CreateProductAsync(name: "Sharded kettle");
        // Deals until one lands on each primary (ids are random: about six are needed; sixty miss one ~1e-10 of the time).
        var primaries = await cluster.PrimaryPortsAsync();
        var deals = new Dictionary<int, Deal>();
        for (var created = 0; deals.Count < primaries.Count; created++)
        {
            Assert.True(created < 60, $"60 deals landed on only {deals.Count} of {primaries.Count} primaries");
            var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10);
            deals.TryAdd(await cluster.PrimaryPortForKeyAsync(DealKeys.HashTag(Guid.Parse(deal.DealId))), deal);
        }

        foreach (var (port, deal) in deals)
        {
            var dealId = Guid.Parse(deal.DealId);
            var slot = await cluster.SlotOfAsync(DealKeys.HashTag(dealId));
            Assert.Equal(slot, await cluster.SlotOfAsync(DealKeys.Config(dealId).ToString()));
            Assert.Equal(slot, await cluster.SlotOfAsync(DealKeys.Stock(dealId).ToString()));
            var node = cluster.NodeOn(port);
            var config = await ConfigAsync(dealId);
            Assert.Equal((deal.DealId, "10", "1", "0"), (config["deal_id"], config["stock"], config["version"], config["cancelled"]));
            Assert.Equal("10", await node.ExecuteAsync("GET", DealKeys.Stock(dealId).ToString()));

            // Untouched stock follows an update before the opening; stock that orders have taken never does.
            await catalog.AdminAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
            {
                Deal = new Deal { DealId = deal.DealId, Stock = 20 },
                UpdateMask = new FieldMask { Paths = { "stock" } },
            });
            Assert.Equal("20", await node.ExecuteAsync("GET", DealKeys.Stock(dealId).ToString()));
            await node.ExecuteAsync("DECRBY", DealKeys.Stock(dealId).ToString(), "3");
            var (read, source) = await GetDealAsync(catalog, deal.DealId);
            Assert.Equal((17, "redis"), (read.RemainingStock, source));
            await catalog.AdminAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
            {
                Deal = new Deal { DealId = deal.DealId, Stock = 25 },
                UpdateMask = new FieldMask { Paths = { "stock" } },
            });
            config = await ConfigAsync(dealId);
            Assert.Equal(("25", "3"), (config["stock"], config["version"]));
            Assert.Equal("17", await node.ExecuteAsync("GET", DealKeys.Stock(dealId).ToString()));

            await catalog.AdminAsync(CatalogMethods.CancelDeal, new CancelDealRequest { DealId = deal.DealId });
            config = await ConfigAsync(dealId);
            Assert.Equal(("1", "4"), (config["cancelled"], config["version"]));
            (read, source) = await GetDealAsync(catalog, deal.DealId);
            Assert.Equal((DealState.Cancelled, 17, "redis"), (read.State, read.RemainingStock, source));
        }
    }

    [Fact]
    public async Task CachedProductsAndDealsAreServedUntilAWriteDeletesThem()
    {
        var catalog = await StartAsync();
        var product = await catalog.CreateProductAsync(name: "Cached name");
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId });
        await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId });
        Assert.InRange(int.Parse(await OnSlotAsync("TTL", $"catalog:product:{product.ProductId}"), CultureInfo.InvariantCulture), 1, 60);
        Assert.InRange(int.Parse(await OnSlotAsync("TTL", $"catalog:deal:{deal.DealId}"), CultureInfo.InvariantCulture), 1, 60);

        // Changes behind the catalog's back are invisible while the cached copies live ...
        await SqlAsync(catalog, "UPDATE catalog.products SET name = 'Changed behind the cache' WHERE product_id = @id", product.ProductId);
        await SqlAsync(catalog, "UPDATE catalog.deals SET title = 'Changed behind the cache' WHERE deal_id = @id", deal.DealId);
        Assert.Equal("Cached name", (await catalog.CallAsync(CatalogMethods.GetProduct,
            new GetProductRequest { ProductId = product.ProductId })).Product.Name);
        Assert.Equal(deal.Title, (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal.Title);

        // ... and writes through the API delete them, so the next reads see the database.
        await catalog.AdminAsync(CatalogMethods.UpdateProduct, new UpdateProductRequest
        {
            Product = new Product { ProductId = product.ProductId, Description = "updated" },
            UpdateMask = new FieldMask { Paths = { "description" } },
        });
        await catalog.AdminAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, PerUserLimit = 1 },
            UpdateMask = new FieldMask { Paths = { "per_user_limit" } },
        });
        Assert.Equal("0", await OnSlotAsync("EXISTS", $"catalog:product:{product.ProductId}"));
        Assert.Equal("0", await OnSlotAsync("EXISTS", $"catalog:deal:{deal.DealId}"));
        var fresh = (await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = product.ProductId })).Product;
        Assert.Equal(("Changed behind the cache", "updated"), (fresh.Name, fresh.Description));
        var freshDeal = (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal;
        Assert.Equal(("Changed behind the cache", 1), (freshDeal.Title, freshDeal.PerUserLimit));
    }

    [Fact]
    public async Task ListsInMemoryFollowAnotherReplicasWritesThroughClusterPubSub()
    {
        // Refresh and TTL of an hour: only a write's pub/sub message can change what this replica lists.
        var catalog = await StartAsync(new Dictionary<string, string?>
        {
            ["Catalog:HotListRefresh"] = "01:00:00",
            ["Catalog:ProductPageTtl"] = "01:00:00",
        });
        var other = new CatalogService.CatalogServiceClient((await catalog.StartReplicaAsync()).Grpc);
        var admin = CatalogFixture.Options(catalog.AdminToken);
        var category = "pubsub-" + Guid.NewGuid().ToString("N")[..8];
        var products = new ListProductsRequest { Category = category };
        async Task<Product> CreateElsewhereAsync(string name)
        {
            using var call = other.CreateProductAsync(new CreateProductRequest
            {
                Product = new Product { Name = name, Category = category, ListPriceCents = 1_000, Currency = "EUR" },
            }, admin);
            return (await call).Product;
        }

        // Product pages: served from memory once the write's message has arrived (this replica writes no product, so
        // nothing can drop the page later), dropped by the next message.
        var pages = catalog.Service<HotProductPages>();
        var version = pages.Version;
        var product = await CreateElsewhereAsync("Listed name");
        await Eventually.HoldsAsync(() => Task.FromResult(pages.Version), v => v > version);
        Assert.Equal(["Listed name"], (await catalog.CallAsync(CatalogMethods.ListProducts, products)).Products.Select(p => p.Name));
        await SqlAsync(catalog, "UPDATE catalog.products SET name = 'Renamed behind the page' WHERE product_id = @id", product.ProductId);
        Assert.Equal(["Listed name"], (await catalog.CallAsync(CatalogMethods.ListProducts, products)).Products.Select(p => p.Name));
        var added = await CreateElsewhereAsync("Added elsewhere");
        var page = await Eventually.HoldsAsync(() => catalog.CallAsync(CatalogMethods.ListProducts, products), p => p.Products.Count == 2);
        Assert.Equal(["Added elsewhere", "Renamed behind the page"], page.Products.Select(p => p.Name));

        // The hot deal list, loaded before the deal exists: the other replica's deal-updated messages add the deal (the
        // one reload that can hold it), then take it away.
        var list = catalog.Service<HotDealList>();
        await Eventually.HoldsAsync(() => Task.FromResult(list.TryGet(out _)), loaded => loaded);
        var upcoming = new ListDealsRequest { ProductId = added.ProductId, States = { DealState.Upcoming } };
        var deal = (await other.CreateDealAsync(new CreateDealRequest
        {
            Deal = CatalogFixture.NewDeal(added, TimeSpan.FromHours(1), TimeSpan.FromHours(1)),
        }, admin)).Deal;
        await Eventually.HoldsAsync(() => Task.FromResult(list.TryGet(out var held) && held.Any(d => d.Deal.DealId == deal.DealId)),
            held => held);
        await SqlAsync(catalog, "UPDATE catalog.deals SET title = 'Renamed behind the list' WHERE deal_id = @id", deal.DealId);
        Assert.Equal([deal.Title], (await catalog.CallAsync(CatalogMethods.ListDeals, upcoming)).Deals.Select(d => d.Title));
        Assert.True(list.TryGet(out _));
        await other.CancelDealAsync(new CancelDealRequest { DealId = deal.DealId }, admin);
        await Eventually.HoldsAsync(() => catalog.CallAsync(CatalogMethods.ListDeals, upcoming), p => p.Deals.Count == 0);
    }
}
