using System.Globalization;
using FlashDeal.Catalog.BestSellers;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data.Redis;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>Best sellers: fed by the paid-orders stream, ranked per window in Redis, backed up to PostgreSQL.</summary>
[Collection(DataServers.Name)]
public sealed class BestSellerTests(BestSellerTests.Fixture catalog) : IClassFixture<BestSellerTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    private BestSellers.BestSellers Rankings => catalog.Service<BestSellers.BestSellers>();

    private static readonly string Stream = PaidOrdersStream.Key.ToString();

    private static string Now(TimeSpan offset = default) =>
        (DateTimeOffset.UtcNow + offset).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    private Task<string> PaidAsync(string orderId, string productId, int quantity) =>
        catalog.RedisAsync("XADD", Stream, "*", PaidOrdersStream.OrderIdField, orderId, PaidOrdersStream.ProductIdField,
            productId, PaidOrdersStream.QuantityField, quantity.ToString(CultureInfo.InvariantCulture),
            PaidOrdersStream.PaidAtMsField, Now());

    private async Task<List<(string Name, long Units)>> ListAsync(BestSellerWindow window, string category, int limit = 0)
    {
        var response = await catalog.CallAsync(CatalogMethods.ListBestSellers,
            new ListBestSellersRequest { Window = window, Category = category, Limit = limit });
        Assert.Equal(Enumerable.Range(1, response.BestSellers.Count), response.BestSellers.Select(b => b.Rank));
        return [.. response.BestSellers.Select(b => (b.ProductName, b.UnitsSold))];
    }

    [Fact]
    public async Task PaidOrdersOnTheStreamAreRankedOncePerOrder()
    {
        var a = await catalog.CreateProductAsync(name: "Stream A", category: "stream");
        var b = await catalog.CreateProductAsync(name: "Stream B", category: "stream");
        await PaidAsync("order-1", a.ProductId, 3);
        await PaidAsync("order-2", b.ProductId, 5);
        await PaidAsync("order-3", a.ProductId, 1);
        await PaidAsync("order-1", a.ProductId, 3); // delivered twice: counted once
        await catalog.RedisAsync("XADD", Stream, "*", PaidOrdersStream.OrderIdField, "order-4",
            PaidOrdersStream.ProductIdField, "garbage");

        var ranking = await Eventually.HoldsAsync(() => ListAsync(BestSellerWindow.AllTime, "stream"),
            r => r.Count == 2 && r[1].Units == 4);
        Assert.Equal([("Stream B", 5L), ("Stream A", 4L)], ranking);
        var pending = await Eventually.HoldsAsync(
            () => catalog.RedisAsync("XPENDING", Stream, PaidOrdersStream.BestSellersGroup), p => p.StartsWith('0'));
        Assert.StartsWith("0", pending); // every entry acknowledged, the malformed one included
    }

    [Fact]
    public async Task WindowsCountOnlyTheirOwnSales()
    {
        var old = await catalog.CreateProductAsync(name: "Sold two hours ago", category: "windows");
        var recent = await catalog.CreateProductAsync(name: "Sold just now", category: "windows");
        await Rankings.RecordPaidAsync(Guid.Parse(old.ProductId), 10, DateTimeOffset.UtcNow.AddHours(-2), "w-1");
        await Rankings.RecordPaidAsync(Guid.Parse(recent.ProductId), 1, DateTimeOffset.UtcNow, "w-2");

        Assert.Equal([("Sold just now", 1L)], await ListAsync(BestSellerWindow.Hour, "windows"));
        Assert.Equal([("Sold two hours ago", 10L), ("Sold just now", 1L)], await ListAsync(BestSellerWindow.Day, "windows"));
        Assert.Equal([("Sold two hours ago", 10L), ("Sold just now", 1L)], await ListAsync(BestSellerWindow.Week, "windows"));

        var unspecified = await catalog.CallAsync(CatalogMethods.ListBestSellers, new ListBestSellersRequest { Category = "windows" });
        Assert.Equal(BestSellerWindow.Day, unspecified.Window);
        Assert.False(await Rankings.RecordPaidAsync(Guid.Parse(recent.ProductId), 1, DateTimeOffset.UtcNow, "w-2"));
    }

    [Fact]
    public async Task LimitAndCategoryOverRest()
    {
        var first = await catalog.CreateProductAsync(name: "Rest first", category: "rest-ranking");
        var second = await catalog.CreateProductAsync(name: "Rest second", category: "rest-ranking");
        var elsewhere = await catalog.CreateProductAsync(name: "Other category", category: "elsewhere");
        await Rankings.RecordPaidAsync(Guid.Parse(first.ProductId), 7);
        await Rankings.RecordPaidAsync(Guid.Parse(second.ProductId), 2);
        await Rankings.RecordPaidAsync(Guid.Parse(elsewhere.ProductId), 100);

        var response = await catalog.RestAsync(HttpMethod.Get,
            "/v1/products:bestSellers?window=BEST_SELLER_WINDOW_WEEK&limit=1&category=rest-ranking");
        var ranking = await CatalogFixture.ReadAsync<ListBestSellersResponse>(response);

        Assert.Equal(BestSellerWindow.Week, ranking.Window);
        var only = Assert.Single(ranking.BestSellers);
        Assert.Equal((1, first.ProductId, "Rest first", 7L), (only.Rank, only.ProductId, only.ProductName, only.UnitsSold));
        Assert.InRange(ranking.ComputeTime.ToDateTime(), DateTime.UtcNow.AddSeconds(-10), DateTime.UtcNow.AddSeconds(1));

        var invalid = await catalog.RestAsync(HttpMethod.Get,
            "/v1/products:bestSellers?limit=-1&window=BEST_SELLER_WINDOW_WEEK");
        var error = await CatalogFixture.ReadErrorAsync(invalid);
        Assert.Equal(400, error.HttpStatus);
        Assert.Equal(["limit"], error.Fields);
        // A number that names no window is refused by the JSON transcoding binder before the handler (no field names);
        // over gRPC it reaches the handler, which names every bad field.
        var unknownWindow = await CatalogFixture.ReadErrorAsync(
            await catalog.RestAsync(HttpMethod.Get, "/v1/products:bestSellers?window=42"));
        Assert.Equal((400, (int)StatusCode.InvalidArgument), (unknownWindow.HttpStatus, unknownWindow.Code));
        var grpc = await catalog.FailsAsync(CatalogMethods.ListBestSellers,
            new ListBestSellersRequest { Limit = -1, Window = (BestSellerWindow)42 });
        Assert.Equal(StatusCode.InvalidArgument, grpc.StatusCode);
        Assert.Equal(["limit", "window"], grpc.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).Order());
    }

    [Fact]
    public async Task TheBackupServesEveryWindowWhileRedisIsDown()
    {
        var product = await catalog.CreateProductAsync(name: "Backed up", category: "backup");
        await Rankings.RecordPaidAsync(Guid.Parse(product.ProductId), 6);
        var before = DateTime.UtcNow.AddSeconds(-1);
        Assert.True(await catalog.Service<BestSellerBackup>().BackUpAsync(CancellationToken.None));

        await catalog.Redis.StopAsync();
        try
        {
            foreach (var window in new[] { BestSellerWindow.Hour, BestSellerWindow.Day, BestSellerWindow.Week, BestSellerWindow.AllTime })
            {
                var response = await catalog.CallAsync(CatalogMethods.ListBestSellers,
                    new ListBestSellersRequest { Window = window, Category = "backup" });
                Assert.Equal([("Backed up", 6L)], response.BestSellers.Select(b => (b.ProductName, b.UnitsSold)));
                Assert.InRange(response.ComputeTime.ToDateTime(), before, DateTime.UtcNow);
            }
            Assert.False(await catalog.Service<BestSellerBackup>().BackUpAsync(CancellationToken.None));
        }
        finally
        {
            await catalog.Redis.StartAsync();
        }
    }
}
