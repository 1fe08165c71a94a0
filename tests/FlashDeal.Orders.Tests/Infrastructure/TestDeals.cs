using System.Globalization;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Redis;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests;

/// <summary>A deal as catalog would write it to Redis (the contract in Redis/DealKeys.cs); tests never need catalog.</summary>
public sealed record TestDeal
{
    public Guid DealId { get; init; } = Guid.NewGuid();
    public int Stock { get; init; } = 100;
    public int PerUserLimit { get; init; } = 5;
    public DateTimeOffset Start { get; init; } = DateTimeOffset.UtcNow.AddMinutes(-1);
    public DateTimeOffset End { get; init; } = DateTimeOffset.UtcNow.AddHours(1);
    public bool Cancelled { get; init; }
    public long PriceCents { get; init; } = 1999;
    public string Currency { get; init; } = "USD";
    public string ProductId { get; init; } = Guid.NewGuid().ToString("D");
    public string ProductName { get; init; } = "Noise-cancelling headphones";
    public string Title { get; init; } = "Headphones at half price";

    /// <summary>Writes config and stock like catalog does: the config hash, then the stock with SET NX.</summary>
    public async Task<TestDeal> WriteAsync(IDatabase database)
    {
        await database.HashSetAsync(DealKeys.Config(DealId),
        [
            new(DealConfigFields.DealId, DealId.ToString("D")),
            new(DealConfigFields.ProductId, ProductId),
            new(DealConfigFields.ProductName, ProductName),
            new(DealConfigFields.Title, Title),
            new(DealConfigFields.PriceCents, PriceCents),
            new(DealConfigFields.Currency, Currency),
            new(DealConfigFields.Stock, Stock),
            new(DealConfigFields.PerUserLimit, PerUserLimit),
            new(DealConfigFields.StartMs, Start.ToUnixTimeMilliseconds()),
            new(DealConfigFields.EndMs, End.ToUnixTimeMilliseconds()),
            new(DealConfigFields.Cancelled, Cancelled ? "1" : "0"),
            new(DealConfigFields.Version, 1),
        ]);
        await database.StringSetAsync(DealKeys.Stock(DealId), Stock, when: When.NotExists);
        return this;
    }

    public static async Task<long> RemainingAsync(IDatabase database, Guid dealId) =>
        long.Parse((string?)await database.StringGetAsync(DealKeys.Stock(dealId)) ?? "-1", CultureInfo.InvariantCulture);
}
