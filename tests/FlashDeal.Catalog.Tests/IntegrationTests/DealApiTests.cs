using System.Net;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data.Redis;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using StackExchange.Redis;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>Deal RPCs over gRPC and REST, and the Redis config they leave for the order path.</summary>
[Collection(DataServers.Name)]
public sealed class DealApiTests(DealApiTests.Fixture catalog) : IClassFixture<DealApiTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    private async Task<Dictionary<string, string>> ConfigAsync(string dealId)
    {
        var lines = (await catalog.RedisAsync("HGETALL", $"{{deal:{dealId}}}:config")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return Enumerable.Range(0, lines.Length / 2).ToDictionary(i => lines[2 * i], i => lines[2 * i + 1]);
    }

    private Task<string> StockAsync(string dealId) => catalog.RedisAsync("GET", $"{{deal:{dealId}}}:stock");

    [Fact]
    public async Task CreatedDealIsUpcomingAndItsConfigIsInRedisUnderTheDealHashTag()
    {
        var product = await catalog.CreateProductAsync(name: "Hash tag kettle", priceCents: 5_000);
        var input = CatalogFixture.NewDeal(product, TimeSpan.FromHours(1), TimeSpan.FromHours(2), stock: 25, perUserLimit: 3);
        var deal = (await catalog.AdminAsync(CatalogMethods.CreateDeal, new CreateDealRequest { Deal = input })).Deal;

        Assert.Equal(DealState.Upcoming, deal.State);
        Assert.Equal(25, deal.RemainingStock);
        Assert.Equal("Hash tag kettle", deal.ProductName);
        Assert.Equal(5_000, deal.ListPriceCents);
        Assert.Equal("EUR", deal.Currency);

        var config = await ConfigAsync(deal.DealId);
        Assert.Equal(deal.DealId, config["deal_id"]);
        Assert.Equal(product.ProductId, config["product_id"]);
        Assert.Equal("Hash tag kettle", config["product_name"]);
        Assert.Equal(deal.Title, config["title"]);
        Assert.Equal("9999", config["price_cents"]);
        Assert.Equal("EUR", config["currency"]);
        Assert.Equal("25", config["stock"]);
        Assert.Equal("3", config["per_user_limit"]);
        Assert.Equal(deal.StartTime.ToDateTimeOffset().ToUnixTimeMilliseconds().ToString(), config["start_ms"]);
        Assert.Equal(deal.EndTime.ToDateTimeOffset().ToUnixTimeMilliseconds().ToString(), config["end_ms"]);
        Assert.Equal("0", config["cancelled"]);
        Assert.Equal("1", config["version"]);
        Assert.Equal("25", await StockAsync(deal.DealId));
        // Both keys expire a day after the deal ends, so Redis does not fill up with old deals.
        var ttl = long.Parse(await catalog.RedisAsync("PTTL", $"{{deal:{deal.DealId}}}:stock"));
        Assert.InRange(ttl, TimeSpan.FromHours(26).TotalMilliseconds, TimeSpan.FromHours(27.1).TotalMilliseconds);
    }

    [Fact]
    public async Task WritesPublishDealUpdatedMessages()
    {
        using var subscriber = await ConnectionMultiplexer.ConnectAsync(catalog.Redis.ConnectionString);
        var messages = new List<string>();
        await subscriber.GetSubscriber().SubscribeAsync(RedisChannel.Literal(DealKeys.UpdatesChannel), (_, message) =>
        {
            lock (messages)
            {
                messages.Add(message!);
            }
        });
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await catalog.AdminAsync(CatalogMethods.CancelDeal, new CancelDealRequest { DealId = deal.DealId });

        var received = await Eventually.HoldsAsync(() =>
        {
            lock (messages)
            {
                return Task.FromResult(messages.Where(m => m.Contains(deal.DealId, StringComparison.Ordinal)).ToList());
            }
        }, m => m.Count == 2);
        Assert.Contains("\"type\":\"deal-updated\"", received[0], StringComparison.Ordinal);
        Assert.Contains("\"version\":1", received[0], StringComparison.Ordinal);
        Assert.Contains("\"version\":2", received[1], StringComparison.Ordinal);
        Assert.Contains("\"cancelled\":true", received[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidDealNamesEveryBadField()
    {
        var product = await catalog.CreateProductAsync();
        var deal = CatalogFixture.NewDeal(product, TimeSpan.FromHours(-1), TimeSpan.FromHours(1), stock: 0, perUserLimit: 0);
        deal.DealPriceCents = 0;
        deal.Title = "";
        var error = await catalog.FailsAsync(CatalogMethods.CreateDeal, new CreateDealRequest { Deal = deal }, catalog.AdminToken);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["deal.deal_price_cents", "deal.per_user_limit", "deal.start_time", "deal.stock", "deal.title"],
            error.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).Order());

        var limitAboveStock = CatalogFixture.NewDeal(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 2, perUserLimit: 3);
        limitAboveStock.EndTime = limitAboveStock.StartTime;
        var rest = await catalog.RestAsync(HttpMethod.Post, "/v1/deals",
            CatalogFixture.Json(new CreateDealRequest { Deal = limitAboveStock }), catalog.AdminToken);
        var restError = await CatalogFixture.ReadErrorAsync(rest);
        Assert.Equal(400, restError.HttpStatus);
        Assert.Equal(["deal.end_time", "deal.per_user_limit"], restError.Fields.Order());

        var tooMuch = CatalogFixture.NewDeal(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 1_000_001);
        var stockError = await catalog.FailsAsync(CatalogMethods.CreateDeal, new CreateDealRequest { Deal = tooMuch }, catalog.AdminToken);
        Assert.Equal("deal.stock", stockError.GetDetail<BadRequest>()!.FieldViolations.Single().Field);
    }

    [Fact]
    public async Task DealOfAnUnknownProductIsNotFound()
    {
        var ghost = new Product { ProductId = Guid.NewGuid().ToString() };
        var error = await catalog.FailsAsync(CatalogMethods.CreateDeal, new CreateDealRequest
        {
            Deal = CatalogFixture.NewDeal(ghost, TimeSpan.FromHours(1), TimeSpan.FromHours(1)),
        }, catalog.AdminToken);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("PRODUCT_NOT_FOUND", error.GetDetail<ErrorInfo>()?.Reason);
    }

    [Fact]
    public async Task DealWritesNeedAnAdmin()
    {
        var product = await catalog.CreateProductAsync();
        var body = CatalogFixture.Json(new CreateDealRequest
        {
            Deal = CatalogFixture.NewDeal(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1)),
        });
        Assert.Equal(HttpStatusCode.Unauthorized, (await catalog.RestAsync(HttpMethod.Post, "/v1/deals", body)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await catalog.RestAsync(HttpMethod.Post, "/v1/deals", body, catalog.CustomerToken)).StatusCode);
        var cancel = await catalog.FailsAsync(CatalogMethods.CancelDeal,
            new CancelDealRequest { DealId = Guid.NewGuid().ToString() }, catalog.CustomerToken);
        Assert.Equal(StatusCode.PermissionDenied, cancel.StatusCode);

        var created = await catalog.RestAsync(HttpMethod.Post, "/v1/deals", body, catalog.AdminToken);
        var deal = (await CatalogFixture.ReadAsync<CreateDealResponse>(created)).Deal;
        Assert.Equal((DealState.Upcoming, 10, product.ProductId), (deal.State, deal.RemainingStock, deal.ProductId));
    }

    [Fact]
    public async Task GetDealOverGrpcAndRest()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 7);

        using var call = catalog.GetDealCall(deal.DealId);
        var grpc = await call;
        Assert.Equal(deal, grpc.Deal);
        Assert.InRange(grpc.ServerTime.ToDateTime(), DateTime.UtcNow.AddSeconds(-5), DateTime.UtcNow.AddSeconds(5));
        Assert.Equal("redis", call.GetTrailers().GetValue("flashdeal-stock-source"));

        var rest = await catalog.RestAsync(HttpMethod.Get, $"/v1/deals/{deal.DealId}");
        Assert.Equal(deal, (await CatalogFixture.ReadAsync<GetDealResponse>(rest)).Deal);

        var missing = await catalog.RestAsync(HttpMethod.Get, $"/v1/deals/{Guid.NewGuid()}");
        var error = await CatalogFixture.ReadErrorAsync(missing);
        Assert.Equal(404, error.HttpStatus);
        Assert.Equal("DEAL_NOT_FOUND", error.Reason);
    }

    [Fact]
    public async Task UpdateBeforeOpeningRewritesConfigAndResetsUntouchedStock()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10);

        var rest = await catalog.RestAsync(HttpMethod.Patch, $"/v1/deals/{deal.DealId}?updateMask=stock,title",
            """{"stock":20,"title":"Bigger drop"}""", catalog.AdminToken);
        var updated = (await CatalogFixture.ReadAsync<UpdateDealResponse>(rest)).Deal;

        Assert.Equal(20, updated.Stock);
        Assert.Equal(20, updated.RemainingStock);
        Assert.Equal("Bigger drop", updated.Title);
        var config = await ConfigAsync(deal.DealId);
        Assert.Equal("20", config["stock"]);
        Assert.Equal("Bigger drop", config["title"]);
        Assert.Equal("2", config["version"]);
        Assert.Equal("20", await StockAsync(deal.DealId));
    }

    [Fact]
    public async Task ConfigWritesNeverOverwriteStockThatOrdersHaveTaken()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10);
        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "3");

        await catalog.AdminAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, Stock = 15 },
            UpdateMask = new FieldMask { Paths = { "stock" } },
        });

        Assert.Equal("15", (await ConfigAsync(deal.DealId))["stock"]);
        Assert.Equal("7", await StockAsync(deal.DealId));
    }

    [Fact]
    public async Task UpdateValidatesTheMergedDeal()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1), stock: 10, perUserLimit: 5);

        var error = await catalog.FailsAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, Stock = 4, StartTime = deal.EndTime.Clone() },
            UpdateMask = new FieldMask { Paths = { "stock", "start_time" } },
        }, catalog.AdminToken);
        Assert.Equal(["deal.end_time", "deal.per_user_limit"], error.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).Order());

        var immutable = await catalog.FailsAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, ProductId = Guid.NewGuid().ToString() },
            UpdateMask = new FieldMask { Paths = { "product_id" } },
        }, catalog.AdminToken);
        Assert.Equal("update_mask", immutable.GetDetail<BadRequest>()!.FieldViolations.Single().Field);
        Assert.Equal("1", (await ConfigAsync(deal.DealId))["version"]);
    }

    [Fact]
    public async Task UpdateAfterOpeningIsRefusedWithAReason()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
        await catalog.MoveDealWindowAsync(deal.DealId, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddHours(1));
        var request = new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, Title = "Too late" },
            UpdateMask = new FieldMask { Paths = { "title" } },
        };

        var started = await catalog.FailsAsync(CatalogMethods.UpdateDeal, request, catalog.AdminToken);
        Assert.Equal(StatusCode.FailedPrecondition, started.StatusCode);
        Assert.Equal("DEAL_ALREADY_STARTED", started.GetDetail<ErrorInfo>()?.Reason);

        await catalog.MoveDealWindowAsync(deal.DealId, DateTime.UtcNow.AddHours(-2), DateTime.UtcNow.AddHours(-1));
        var ended = await catalog.FailsAsync(CatalogMethods.UpdateDeal, request, catalog.AdminToken);
        Assert.Equal("DEAL_ALREADY_ENDED", ended.GetDetail<ErrorInfo>()?.Reason);
        var cancelEnded = await catalog.RestAsync(HttpMethod.Post, $"/v1/deals/{deal.DealId}:cancel", "{}", catalog.AdminToken);
        Assert.Equal("DEAL_ALREADY_ENDED", (await CatalogFixture.ReadErrorAsync(cancelEnded)).Reason);
    }

    [Fact]
    public async Task CancelIsIdempotentAndTellsTheOrderPath()
    {
        var product = await catalog.CreateProductAsync();
        var deal = await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));

        var rest = await catalog.RestAsync(HttpMethod.Post, $"/v1/deals/{deal.DealId}:cancel",
            """{"reason":"supplier withdrew"}""", catalog.AdminToken);
        var cancelled = (await CatalogFixture.ReadAsync<CancelDealResponse>(rest)).Deal;
        var again = (await catalog.AdminAsync(CatalogMethods.CancelDeal, new CancelDealRequest { DealId = deal.DealId })).Deal;

        Assert.Equal(DealState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.CancelTime);
        Assert.Equal(cancelled.CancelTime, again.CancelTime);
        var config = await ConfigAsync(deal.DealId);
        Assert.Equal("1", config["cancelled"]);
        Assert.Equal("2", config["version"]);
        Assert.Equal(DealState.Cancelled,
            (await catalog.CallAsync(CatalogMethods.GetDeal, new GetDealRequest { DealId = deal.DealId })).Deal.State);

        var update = await catalog.FailsAsync(CatalogMethods.UpdateDeal, new UpdateDealRequest
        {
            Deal = new Deal { DealId = deal.DealId, Title = "revived" },
            UpdateMask = new FieldMask { Paths = { "title" } },
        }, catalog.AdminToken);
        Assert.Equal("DEAL_CANCELLED", update.GetDetail<ErrorInfo>()?.Reason);

        var longReason = await catalog.FailsAsync(CatalogMethods.CancelDeal,
            new CancelDealRequest { DealId = deal.DealId, Reason = new string('r', 501) }, catalog.AdminToken);
        Assert.Equal("reason", longReason.GetDetail<BadRequest>()!.FieldViolations.Single().Field);
    }
}
